//! Filename remapping rules in the format of tftpd-hpa's `--map-file`:
//! what netboot admins already write to turn the names firmware asks for
//! into the files they keep.
//!
//! One rule a line: `FLAGS REGEX [REPLACEMENT]` (an `r` rule without a
//! replacement deletes its match), `#` starts a comment, a
//! backslash makes the next character part of the field (so `\ ` and `\#`
//! are literal). REGEX is an extended regular expression, `(...)` groups.
//! Flags: `r` replace the first match by REPLACEMENT, `g` repeat the rule
//! until it no longer matches, `i` match case-insensitively, `e` stop
//! after this rule if it matched, `s` start again from the first rule if it
//! matched, `a` refuse the request if it matched, `G`/`P` only for reads
//! (RRQ) / writes (WRQ), `4`/`6` only for IPv4 / IPv6 clients, `~` act when
//! the regex does *not* match (not with `r`). REPLACEMENT knows `\0` (the
//! whole match), `\1`-`\9` (groups), `\i` (the client's address), `\x` (the
//! same in hexadecimal), `\U`/`\L`/`\E` (upper, lower, as-is case from here
//! on), `\\`, `\#` and a backslash before white space.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use ferry_service::tftp::{Direction, RemapRules};
//!
//! let rules = RemapRules::parse("ri ^/?efi/ uefi/   # firmware names\n").unwrap();
//! let peer = Ipv4Addr::LOCALHOST.into();
//! let name = rules.apply("/EFI/boot.efi", peer, Direction::Read).unwrap();
//! assert_eq!(name, "uefi/boot.efi");
//! ```

use std::fmt::Write as _;
use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

/// Rule actions one request may take before it is refused as a loop
/// (`s` rules restarting each other, `g` rules that keep matching).
const MAX_STEPS: usize = 1024;

/// Longest name rewriting may build (a runaway rule is refused, not
/// allowed to fill memory).
const MAX_NAME: usize = 4096;

/// The rules of one map file, in order.
#[derive(Debug, Clone, Default)]
pub struct RemapRules {
    rules: Vec<Rule>,
}

/// Why a map file cannot be used: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {reason}")]
pub struct RemapError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Which way a request moves a file, as rules with `G` or `P` see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// RRQ: the client reads.
    Read,
    /// WRQ: the client writes.
    Write,
}

/// Why rewriting refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RemapRefusal {
    /// An `a` rule matched.
    #[error("refused by the map rule on line {line}")]
    Denied {
        /// The rule's line.
        line: usize,
    },
    /// Rules kept rewriting without end (or made an overlong name).
    #[error("map rules did not settle (last rule applied: line {line})")]
    Runaway {
        /// The last rule applied.
        line: usize,
    },
}

#[derive(Debug, Clone)]
struct Rule {
    line: usize,
    regex: Regex,
    flags: Flags,
    replacement: Vec<Piece>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    replace: bool,
    global: bool,
    end: bool,
    restart: bool,
    deny: bool,
    reads_only: bool,
    writes_only: bool,
    ipv4_only: bool,
    ipv6_only: bool,
    invert: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
    PeerAddr,
    PeerHex,
    Case(Case),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Upper,
    Lower,
    AsIs,
}

impl RemapRules {
    /// Parse a map file's text.
    pub fn parse(text: &str) -> Result<RemapRules, RemapError> {
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let fail = |reason: String| RemapError {
                line: line_no,
                reason,
            };
            let fields = fields(line).map_err(fail)?;
            if fields.is_empty() {
                continue;
            }
            rules.push(Rule::parse(line_no, &fields).map_err(fail)?);
        }
        Ok(RemapRules { rules })
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// There are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name `requested` becomes for a request from `peer`, each rewrite
    /// logged at debug level; or why the request is refused.
    pub fn apply(
        &self,
        requested: &str,
        peer: IpAddr,
        direction: Direction,
    ) -> Result<String, RemapRefusal> {
        let peer = peer.to_canonical();
        let mut name = requested.to_owned();
        let mut steps = 0;
        let mut index = 0;
        while let Some(rule) = self.rules.get(index) {
            index += 1;
            if !rule.applies_to(peer, direction) {
                continue;
            }
            if rule.regex.is_match(&name) == rule.flags.invert {
                continue;
            }
            let runaway = RemapRefusal::Runaway { line: rule.line };
            if rule.flags.replace {
                loop {
                    steps += 1;
                    if steps > MAX_STEPS {
                        return Err(runaway);
                    }
                    let Some(caps) = rule.regex.captures(&name) else {
                        break;
                    };
                    let whole = caps.get(0).expect("group 0 always matches");
                    let mut out = String::with_capacity(name.len());
                    out.push_str(&name[..whole.start()]);
                    rule.expand(&caps, peer, &mut out);
                    out.push_str(&name[whole.end()..]);
                    if out.len() > MAX_NAME {
                        return Err(runaway);
                    }
                    tracing::debug!(line = rule.line, from = %name, to = %out, "tftp map rewrite");
                    name = out;
                    if !rule.flags.global {
                        break;
                    }
                }
            } else {
                steps += 1;
                if steps > MAX_STEPS {
                    return Err(runaway);
                }
            }
            if rule.flags.deny {
                return Err(RemapRefusal::Denied { line: rule.line });
            }
            if rule.flags.end {
                break;
            }
            if rule.flags.restart {
                index = 0;
            }
        }
        Ok(name)
    }
}

impl Rule {
    fn parse(line: usize, fields: &[String]) -> Result<Rule, String> {
        let flags = Flags::parse(&fields[0])?;
        let Some(pattern) = fields.get(1) else {
            return Err("a rule needs a regex after its flags".to_owned());
        };
        // An r rule without a replacement deletes what it matched.
        let replacement = match (fields.get(2), flags.flags.replace) {
            (Some(_), false) => return Err("a replacement without the r flag".to_owned()),
            (text, _) => text,
        };
        if let Some(extra) = fields.get(3) {
            return Err(format!("unexpected {extra:?} after the replacement"));
        }
        let regex = RegexBuilder::new(&regex_source(pattern))
            .case_insensitive(flags.insensitive)
            .build()
            .map_err(|err| format!("bad regex {pattern:?}: {}", one_line(&err)))?;
        let replacement = match replacement {
            Some(text) => parse_replacement(text, regex.captures_len() - 1)?,
            None => Vec::new(),
        };
        Ok(Rule {
            line,
            regex,
            flags: flags.flags,
            replacement,
        })
    }

    fn applies_to(&self, peer: IpAddr, direction: Direction) -> bool {
        let flags = &self.flags;
        let direction_ok = match direction {
            Direction::Read => !flags.writes_only,
            Direction::Write => !flags.reads_only,
        };
        let family_ok = match peer {
            IpAddr::V4(_) => !flags.ipv6_only,
            IpAddr::V6(_) => !flags.ipv4_only,
        };
        direction_ok && family_ok
    }

    fn expand(&self, caps: &regex::Captures<'_>, peer: IpAddr, out: &mut String) {
        let mut case = Case::AsIs;
        let push = |out: &mut String, text: &str, case: Case| match case {
            Case::AsIs => out.push_str(text),
            Case::Upper => out.extend(text.chars().flat_map(char::to_uppercase)),
            Case::Lower => out.extend(text.chars().flat_map(char::to_lowercase)),
        };
        for piece in &self.replacement {
            match piece {
                Piece::Text(text) => push(out, text, case),
                Piece::Group(n) => push(out, caps.get(*n).map_or("", |m| m.as_str()), case),
                Piece::PeerAddr => push(out, &peer.to_string(), case),
                Piece::PeerHex => push(out, &hex_addr(peer), case),
                Piece::Case(next) => case = *next,
            }
        }
    }
}

struct ParsedFlags {
    flags: Flags,
    insensitive: bool,
}

impl Flags {
    fn parse(text: &str) -> Result<ParsedFlags, String> {
        let mut flags = Flags::default();
        let mut insensitive = false;
        for c in text.chars() {
            match c {
                'r' => flags.replace = true,
                'g' => flags.global = true,
                'i' => insensitive = true,
                'e' => flags.end = true,
                's' => flags.restart = true,
                'a' => flags.deny = true,
                'G' => flags.reads_only = true,
                'P' => flags.writes_only = true,
                '4' => flags.ipv4_only = true,
                '6' => flags.ipv6_only = true,
                '~' => flags.invert = true,
                other => return Err(format!("unknown flag {other:?} in {text:?}")),
            }
        }
        if flags.global && !flags.replace {
            return Err("the g flag repeats a replacement: it needs r".to_owned());
        }
        if flags.invert && flags.replace {
            return Err("the ~ flag cannot be used with r".to_owned());
        }
        if flags.reads_only && flags.writes_only {
            return Err("G and P together match no request".to_owned());
        }
        if flags.ipv4_only && flags.ipv6_only {
            return Err("4 and 6 together match no client".to_owned());
        }
        Ok(ParsedFlags { flags, insensitive })
    }
}

/// Split a line into its fields, up to an unescaped `#`. A backslash and
/// the character after it stay in the field as they are (the regex and the
/// replacement give them meaning); only unescaped white space separates.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => break,
            c if c.is_whitespace() => {
                if let Some(field) = current.take() {
                    fields.push(field);
                }
            }
            '\\' => {
                let Some(next) = chars.next() else {
                    return Err("a backslash at the end of the line".to_owned());
                };
                let field = current.get_or_insert_with(String::new);
                field.push('\\');
                field.push(next);
            }
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    fields.extend(current);
    Ok(fields)
}

/// A field's regex as the regex crate reads it: an escaped white space or
/// `#` is that character itself.
fn regex_source(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(next) if next.is_whitespace() || next == '#' => {
                out.push_str(&regex::escape(&next.to_string()))
            }
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn parse_replacement(field: &str, groups: usize) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let special = match chars.next() {
            Some(d @ '0'..='9') => {
                let n = d as usize - '0' as usize;
                if n > groups {
                    return Err(format!(
                        "\\{n} in the replacement, but the regex has {groups} group(s)"
                    ));
                }
                Piece::Group(n)
            }
            Some('i') => Piece::PeerAddr,
            Some('x') => Piece::PeerHex,
            Some('U') => Piece::Case(Case::Upper),
            Some('L') => Piece::Case(Case::Lower),
            Some('E') => Piece::Case(Case::AsIs),
            Some(c) if c == '\\' || c == '#' || c.is_whitespace() => {
                text.push(c);
                continue;
            }
            Some(other) => return Err(format!("unknown escape \\{other} in the replacement")),
            None => return Err("a backslash at the end of the replacement".to_owned()),
        };
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(special);
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The client's address in upper-case hexadecimal, 8 digits for IPv4, 32
/// for IPv6 (as PXELINUX names its per-client config files).
fn hex_addr(peer: IpAddr) -> String {
    let mut out = String::with_capacity(32);
    let octets: Vec<u8> = match peer {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    for octet in octets {
        let _ = write!(out, "{octet:02X}");
    }
    out
}

/// A regex error on one line: the crate's own text spans several (the
/// pattern, a caret under the fault, then `error: ...`).
fn one_line(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        )
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 169));
    const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

    fn rules(text: &str) -> RemapRules {
        RemapRules::parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"))
    }

    fn read(rules: &RemapRules, name: &str) -> String {
        rules.apply(name, V4, Direction::Read).unwrap()
    }

    fn error(text: &str) -> RemapError {
        RemapRules::parse(text).expect_err(text)
    }

    #[test]
    fn comments_and_blank_lines_are_no_rules() {
        let parsed = rules("# a map\n\n   \n\t# indented comment\nr a b # trailing\n");
        assert_eq!(parsed.len(), 1);
        assert_eq!(read(&parsed, "xax"), "xbx");
    }

    #[test]
    fn r_replaces_the_first_match_only() {
        let parsed = rules(r"r \\ /");
        assert_eq!(read(&parsed, r"pxelinux.cfg\a\b"), r"pxelinux.cfg/a\b");
    }

    #[test]
    fn g_repeats_until_no_match() {
        let parsed = rules(r"rg \\ /");
        assert_eq!(
            read(&parsed, r"\EFI\BOOT\bootx64.efi"),
            "/EFI/BOOT/bootx64.efi"
        );
    }

    #[test]
    fn i_matches_case_insensitively() {
        let parsed = rules("ri ^/?efi/boot/ uefi/");
        assert_eq!(read(&parsed, "/EFI/BOOT/bootx64.efi"), "uefi/bootx64.efi");
        assert_eq!(read(&parsed, "efi/Boot/grub.cfg"), "uefi/grub.cfg");
        let strict = rules("r ^/?efi/boot/ uefi/");
        assert_eq!(read(&strict, "/EFI/BOOT/x"), "/EFI/BOOT/x");
    }

    #[test]
    fn rules_run_in_order_and_e_stops() {
        let parsed = rules("re ^a b\nr b c\n");
        assert_eq!(read(&parsed, "a"), "b", "e stops after its match");
        assert_eq!(read(&parsed, "b"), "c", "e without a match goes on");
        let both = rules("r ^a b\nr b c\n");
        assert_eq!(read(&both, "a"), "c");
    }

    #[test]
    fn r_without_a_replacement_deletes() {
        let parsed = rules("r ^/tftpboot/");
        assert_eq!(read(&parsed, "/tftpboot/pxelinux.0"), "pxelinux.0");
    }

    #[test]
    fn back_references() {
        let parsed = rules(r"r ^(pxelinux\.cfg)/([0-9A-F]+)$ \1/by-ip/\2.cfg[\0]");
        assert_eq!(
            read(&parsed, "pxelinux.cfg/C0A80001"),
            "pxelinux.cfg/by-ip/C0A80001.cfg[pxelinux.cfg/C0A80001]"
        );
        // A group that did not take part is empty.
        let optional = rules(r"r ^(x)?y <\1>");
        assert_eq!(read(&optional, "y"), "<>");
    }

    #[test]
    fn peer_address_escapes_and_case() {
        let parsed = rules(r"r ^cfg$ \i/\x/\Uup\Edone\Lone\ space\#");
        assert_eq!(
            read(&parsed, "cfg"),
            "192.0.2.169/C00002A9/UPdoneone space#"
        );
        let v6 = parsed.apply("cfg", V6, Direction::Read).unwrap();
        assert_eq!(v6, "::1/00000000000000000000000000000001/UPdoneone space#");
        // An IPv4 client of a dual-stack socket counts as IPv4.
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 2, 15).to_ipv6_mapped());
        assert!(parsed
            .apply("cfg", mapped, Direction::Read)
            .unwrap()
            .starts_with("10.0.2.15/0A00020F/"));
        let upper = rules(r"r ^(.*)$ \U\1");
        assert_eq!(read(&upper, "efi/boot"), "EFI/BOOT");
    }

    #[test]
    fn escaped_space_and_hash_in_the_regex() {
        let parsed = rules(r"r a\ b\#c x");
        assert_eq!(read(&parsed, "1a b#c2"), "1x2");
        // Escaped punctuation, as egrep patterns write it.
        let punct = rules(r"r \/x\-\.\{ y");
        assert_eq!(read(&punct, "a/x-.{b"), "ayb");
    }

    #[test]
    fn a_refuses_and_tilde_inverts() {
        let parsed = rules("a ^secret/\n");
        assert_eq!(
            parsed.apply("secret/key", V4, Direction::Read),
            Err(RemapRefusal::Denied { line: 1 })
        );
        assert_eq!(read(&parsed, "public/key"), "public/key");
        let only_boot = rules("# only boot/ is served\n~a ^boot/\n");
        assert_eq!(read(&only_boot, "boot/x"), "boot/x");
        assert_eq!(
            only_boot.apply("other", V4, Direction::Read),
            Err(RemapRefusal::Denied { line: 2 })
        );
    }

    #[test]
    fn direction_and_family_flags() {
        let parsed = rules("rG ^ get-\nrP ^ put-\nr4 $ .v4\nr6 $ .v6\n");
        assert_eq!(read(&parsed, "f"), "get-f.v4");
        assert_eq!(parsed.apply("f", V6, Direction::Write).unwrap(), "put-f.v6");
    }

    #[test]
    fn s_restarts_from_the_first_rule() {
        // The second rule sends the name back through the first.
        let parsed = rules("r ^x/ \nrs ^y/ x/\n");
        assert_eq!(read(&parsed, "y/file"), "file");
    }

    #[test]
    fn runaway_rules_are_refused_not_looped() {
        let grows = rules("rg a aa");
        assert_eq!(
            grows.apply("a", V4, Direction::Read),
            Err(RemapRefusal::Runaway { line: 1 })
        );
        let empty_match = rules("rg ^ x");
        assert!(matches!(
            empty_match.apply("a", V4, Direction::Read),
            Err(RemapRefusal::Runaway { .. })
        ));
        let restarts = rules("s .\n");
        assert_eq!(
            restarts.apply("a", V4, Direction::Read),
            Err(RemapRefusal::Runaway { line: 1 })
        );
    }

    proptest::proptest! {
        /// Any rule file parses or fails with a line number, and applying
        /// what parses to any name ends, without a panic.
        #[test]
        fn any_rules_any_name_end(
            text in "([rgies~aGP46]{1,3} [a-c.^$()*+?\\\\/|]{1,6}( [a-c\\\\0-2iUE]{0,6})?\n){0,4}",
            name in "[a-c/\\\\.]{0,12}",
        ) {
            match RemapRules::parse(&text) {
                Ok(parsed) => {
                    for peer in [V4, V6] {
                        for direction in [Direction::Read, Direction::Write] {
                            if let Ok(out) = parsed.apply(&name, peer, direction) {
                                proptest::prop_assert!(out.len() <= MAX_NAME);
                            }
                        }
                    }
                }
                Err(err) => proptest::prop_assert!(err.line >= 1 && err.line <= 4),
            }
        }
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        assert_eq!(error("r a b\nq a b\n").line, 2);
        assert!(error("q a b").reason.contains("unknown flag 'q'"));
        assert!(error("r").reason.contains("needs a regex"));
        assert!(error("e a b").reason.contains("without the r flag"));
        assert!(error("r a b c").reason.contains("after the replacement"));
        assert!(error("g a").reason.contains("needs r"));
        assert!(error("r~ a b").reason.contains("~"));
        assert!(error("GP a").reason.contains("G and P"));
        assert!(error("46 a").reason.contains("4 and 6"));
        assert!(error("r (a b").reason.contains("bad regex"));
        assert!(!error("r (a b").reason.contains('\n'));
        assert!(error(r"r (a) \2").reason.contains("1 group"));
        assert!(error(r"r a \q").reason.contains(r"unknown escape \q"));
        assert!(error("r a b\\").reason.contains("backslash at the end"));
        let err = error("\n\nr [ x\n");
        assert_eq!(err.to_string().split(':').next(), Some("3"));
    }
}
