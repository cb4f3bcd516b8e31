//! Values carried in reply texts: quoted paths, passive ports, sizes.

use alloc::string::String;

/// The path in a 257 reply: the first `"`-quoted string, with doubled
/// quotes inside undone (RFC 959 Appendix II). `None` without one.
pub(super) fn quoted_path(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let mut path = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                path.push('"');
            } else {
                return Some(path);
            }
        } else {
            path.push(c);
        }
    }
    None
}

/// The port of a 229 reply: `(|||port|)` with any printable delimiter
/// in place of `|` (RFC 2428 §3). Looked for anywhere in the text.
pub(super) fn epsv_port(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    (0..b.len()).find_map(|i| {
        let d = b[i];
        if !(33..=126).contains(&d) || d.is_ascii_digit() {
            return None;
        }
        if b.get(i + 1) != Some(&d) || b.get(i + 2) != Some(&d) {
            return None;
        }
        let digits = digits_at(b, i + 3);
        if digits == 0 || b.get(i + 3 + digits) != Some(&d) {
            return None;
        }
        parse_port(&text[i + 3..i + 3 + digits])
    })
}

/// The port of a 227 reply: the last two of six comma-separated numbers
/// (`h1,h2,h3,h4,p1,p2`) found anywhere in the text (RFC 959 §4.1.2, the
/// text around them varies). The address is not used: data goes to the
/// control connection's peer, which a server cannot redirect.
pub(super) fn pasv_port(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            if let Some(port) = six_numbers(b, i) {
                return Some(port);
            }
        }
        i += 1;
    }
    None
}

fn six_numbers(b: &[u8], mut at: usize) -> Option<u16> {
    let mut n = [0u16; 6];
    for (k, slot) in n.iter_mut().enumerate() {
        if k > 0 {
            if b.get(at) != Some(&b',') {
                return None;
            }
            at += 1;
        }
        let len = digits_at(b, at);
        if len == 0 || len > 3 {
            return None;
        }
        let v: u16 = core::str::from_utf8(&b[at..at + len]).ok()?.parse().ok()?;
        if v > 255 {
            return None;
        }
        *slot = v;
        at += len;
    }
    match n[4] * 256 + n[5] {
        0 => None,
        port => Some(port),
    }
}

/// The size a 150 reply announces as `(N bytes)` (a common form, as
/// in RFC 959's examples; not required by any RFC).
pub(super) fn size_hint(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    b.iter().enumerate().find_map(|(i, &c)| {
        if c != b'(' {
            return None;
        }
        let len = digits_at(b, i + 1);
        let rest = &text[i + 1 + len..];
        let unit = rest.strip_prefix(' ')?;
        if len == 0 || !unit.get(..5)?.eq_ignore_ascii_case("bytes") {
            return None;
        }
        text[i + 1..i + 1 + len].parse().ok()
    })
}

/// The name a server chose for STOU, from `FILE: name` in its 1yz or 2yz
/// text (RFC 1123 §4.1.2.9: "150 FILE: pppp" / "250 FILE: pppp").
pub(super) fn unique_name(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let at = line
        .as_bytes()
        .windows(5)
        .position(|w| w.eq_ignore_ascii_case(b"FILE:"))?;
    let name = line[at + 5..].trim();
    (!name.is_empty()).then(|| String::from(name))
}

/// A 213 reply's value: the text, trimmed.
pub(super) fn status_value(text: &str) -> &str {
    text.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n')
}

/// Decimal digits only (no sign), as a u64.
pub(super) fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn digits_at(b: &[u8], at: usize) -> usize {
    b.get(at..)
        .map_or(0, |s| s.iter().take_while(|c| c.is_ascii_digit()).count())
}

fn parse_port(digits: &str) -> Option<u16> {
    match digits.parse::<u16>() {
        Ok(0) | Err(_) => None,
        Ok(port) => Some(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_paths() {
        assert_eq!(
            quoted_path(r#""/usr/dm" is current directory."#).as_deref(),
            Some("/usr/dm")
        );
        assert_eq!(
            quoted_path(r#""/a ""b"" c" created"#).as_deref(),
            Some(r#"/a "b" c"#)
        );
        assert_eq!(quoted_path(r#"MKD ok "/x""#).as_deref(), Some("/x"));
        assert_eq!(quoted_path("no quotes"), None);
        assert_eq!(quoted_path(r#""unterminated"#), None);
    }

    #[test]
    fn passive_ports() {
        assert_eq!(
            epsv_port("Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(epsv_port("ok (!!!1025!)"), Some(1025));
        assert_eq!(epsv_port("(|||0|)"), None);
        assert_eq!(epsv_port("(|||70000|)"), None);
        assert_eq!(epsv_port("(||1|)"), None);
        assert_eq!(
            pasv_port("Entering Passive Mode (192,168,1,2,19,137)."),
            Some(19 * 256 + 137)
        );
        assert_eq!(pasv_port("=10,0,0,1,4,1"), Some(1025));
        assert_eq!(pasv_port("(1,2,3,4,256,1)"), None);
        assert_eq!(pasv_port("1,2,3,4,5"), None);
    }

    #[test]
    fn size_hints() {
        assert_eq!(
            size_hint("Opening BINARY mode data connection for f (1234 bytes)."),
            Some(1234)
        );
        assert_eq!(size_hint("Here comes the directory listing."), None);
        assert_eq!(size_hint("(x) (12 BYTES)"), Some(12));
        assert_eq!(size_hint("( bytes)"), None);
        assert_eq!(decimal("0042"), Some(42));
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
        assert_eq!(decimal("18446744073709551616"), None);
    }
}
