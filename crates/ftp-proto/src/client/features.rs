//! The server's feature list, from a FEAT reply (RFC 2389 §3).

use alloc::string::String;
use alloc::vec::Vec;

/// The features a server announced. Names are compared without regard
/// to case (RFC 2389 §3.1); parameters are kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    entries: Vec<Feature>,
}

/// One feature line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Feature {
    /// Upper-cased.
    name: String,
    params: String,
}

/// One fact of an MLST feature line (RFC 3659 §7.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlstFact<'a> {
    /// The fact's name as sent (`type`, `size`, `modify`, ...).
    pub name: &'a str,
    /// Marked `*`: the server includes it in listings now.
    pub enabled: bool,
}

impl Features {
    /// Reads the text of a 211 FEAT reply: the lines between the first
    /// and the last, each a feature name and its parameters (RFC 2389
    /// §3.2). A single-line reply announces nothing.
    pub fn parse(text: &str) -> Features {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut entries = Vec::new();
        if lines.len() > 2 {
            for line in &lines[1..lines.len() - 1] {
                let line = line.trim_matches(|c: char| c == ' ' || c == '\r' || c == '\t');
                if line.is_empty() {
                    continue;
                }
                let (name, params) = match line.find(' ') {
                    Some(i) => (&line[..i], line[i + 1..].trim()),
                    None => (line, ""),
                };
                entries.push(Feature {
                    name: name.to_ascii_uppercase(),
                    params: String::from(params),
                });
            }
        }
        Features { entries }
    }

    /// True when the server announced `name` (any case).
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The parameters of feature `name` (`"STREAM"` for `REST STREAM`,
    /// the fact list for `MLST`), `None` when not announced.
    pub fn params(&self, name: &str) -> Option<&str> {
        self.find(name).map(|f| f.params.as_str())
    }

    /// Announced feature names, upper-cased, in the server's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|f| f.name.as_str())
    }

    /// True when nothing was announced.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SIZE (RFC 3659 §4).
    pub fn size(&self) -> bool {
        self.has("SIZE")
    }

    /// MDTM (RFC 3659 §3).
    pub fn mdtm(&self) -> bool {
        self.has("MDTM")
    }

    /// MFMT: set a file's modification time (draft-somers-ftp-mfxx).
    pub fn mfmt(&self) -> bool {
        self.has("MFMT")
    }

    /// MLST and MLSD (RFC 3659 §7.8) are there.
    pub fn mlst(&self) -> bool {
        self.has("MLST")
    }

    /// EPSV and EPRT (RFC 2428; announced as `EPSV`).
    pub fn epsv(&self) -> bool {
        self.has("EPSV")
    }

    /// UTF-8 paths (RFC 2640 §3.3).
    pub fn utf8(&self) -> bool {
        self.has("UTF8")
    }

    /// REST STREAM: resume by byte offset (RFC 3659 §5.4).
    pub fn rest_stream(&self) -> bool {
        self.params("REST")
            .is_some_and(|p| p.split(' ').any(|w| w.eq_ignore_ascii_case("STREAM")))
    }

    /// MLST and MLSD (RFC 3659 §7.8): the facts the server knows, `None`
    /// when not announced.
    pub fn mlst_facts(&self) -> Option<impl Iterator<Item = MlstFact<'_>>> {
        let params = self.params("MLST")?;
        Some(
            params
                .split(';')
                .filter(|f| !f.is_empty())
                .map(|f| match f.strip_suffix('*') {
                    Some(name) => MlstFact {
                        name,
                        enabled: true,
                    },
                    None => MlstFact {
                        name: f,
                        enabled: false,
                    },
                }),
        )
    }

    fn find(&self, name: &str) -> Option<&Feature> {
        self.entries
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}
