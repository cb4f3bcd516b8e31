//! Wildcards in the last component of a LIST or NLST argument, as the
//! ftp(1)-style clients send them for `mget f*.bin` (RFC 959 leaves
//! NLST's argument to the server; vsftpd and wu-ftpd expand these).
//!
//! `*` matches any run of characters, `?` one character, `[abc]`, `[a-z]`
//! one of a set (`[!...]` or `[^...]` one not in it; a `]` right after the
//! opening bracket or its `!` is a member). A `[` with no closing `]`
//! stands for itself. As in the shell, a leading `.` is matched only by a
//! leading `.` in the pattern, so `*` does not list hidden files. There is
//! no escape character: a name with a literal `*` in it is still matched
//! by itself, since `*` matches `*`.
//!
//! ```
//! use ftp_proto::glob;
//! assert!(glob::is_pattern("f*.bin"));
//! assert!(glob::matches("f*.bin", "f1.bin"));
//! assert!(glob::matches("[a-c]?.txt", "b7.txt"));
//! assert!(!glob::matches("*", ".hidden"));
//! ```

/// Whether `component` holds a wildcard (`*`, `?` or `[`).
pub fn is_pattern(component: &str) -> bool {
    component.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Whether `name` (one file name, no `/`) matches `pattern`.
///
/// Runs in O(pattern × name) at worst: a failed match after a `*` moves
/// that `*` one character on and never revisits an earlier one.
pub fn matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: alloc::vec::Vec<char> = pattern.chars().collect();
    let name: alloc::vec::Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: its pattern index and the name
    // index it has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&pattern[p..], name[n]) {
                Some((true, len)) => Some(len),
                Some((false, _)) => None,
                // Unclosed: a literal `[`.
                None => (name[n] == '[').then_some(1),
            },
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression at the start of `pattern`:
/// whether it is in the set, and the expression's length; `None` when the
/// bracket is never closed.
fn class(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let &start = pattern.get(i)?;
        if start == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        match (pattern.get(i + 1), pattern.get(i + 2)) {
            (Some('-'), Some(&end)) if end != ']' => {
                found |= start <= c && c <= end;
                i += 3;
            }
            _ => {
                found |= start == c;
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_questions_and_classes() {
        for (pattern, name, want) in [
            ("*", "a", true),
            ("*", "", true),
            ("f*.bin", "f.bin", true),
            ("f*.bin", "f1.bin.bin", true),
            ("f*.bin", "f1.bint", false),
            ("f*.bin", "g1.bin", false),
            ("*a*b*c", "xxaxxbxxc", true),
            ("*a*b*c", "xxaxxcxxb", false),
            ("?", "é", true),
            ("??", "a", false),
            ("[abc]x", "bx", true),
            ("[abc]x", "dx", false),
            ("[a-c]", "b", true),
            ("[!a-c]", "b", false),
            ("[^a-c]", "d", true),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("[", "[", true),
            ("a[b", "a[b", true),
            ("*", ".hidden", false),
            (".*", ".hidden", true),
            ("?hidden", ".hidden", false),
            ("a*b", "a*b", true),
        ] {
            assert_eq!(matches(pattern, name), want, "{pattern:?} vs {name:?}");
        }
    }

    #[test]
    fn many_stars_stay_cheap() {
        let pattern = "*a".repeat(50) + "b";
        let name = "a".repeat(2000);
        assert!(!matches(&pattern, &name));
    }
}
