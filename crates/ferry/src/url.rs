//! The URLs `ferry get`/`put`/`ls` accept:
//! `tftp://host[:port]/path`, `ftp://[user[:password]@]host[:port]/path`
//! and `ftps://...` (the same, over implicit TLS).
//!
//! Only what these schemes need: a host (name, IPv4, or bracketed IPv6),
//! an optional port, percent-decoded credentials and path. Anything else is a
//! [`UrlError`] the binary reports with exit code 2.

use std::fmt;

/// Port a `tftp://` URL means when it names none (RFC 1350).
pub const TFTP_DEFAULT_PORT: u16 = 69;
/// Port an `ftp://` URL means when it names none (RFC 959).
pub const FTP_DEFAULT_PORT: u16 = 21;
/// Port an `ftps://` URL means when it names none: implicit FTPS's
/// registered port (RFC 4217 §1 leaves implicit TLS out, but 990 is where
/// every implicit-TLS server and client meet).
pub const FTPS_DEFAULT_PORT: u16 = 990;

/// A parsed URL, by scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Url {
    /// `tftp://host[:port]/path`
    Tftp(TftpUrl),
    /// `ftp://[user[:password]@]host[:port]/path`, or `ftps://...`
    /// ([`FtpUrl::implicit_tls`]).
    Ftp(FtpUrl),
}

/// Where a TFTP transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpUrl {
    /// Host name or address; IPv6 without brackets.
    pub host: String,
    /// UDP port of the server's request socket.
    pub port: u16,
    /// The file name to ask for, decoded, without the leading `/`.
    pub path: String,
}

/// Where an FTP session goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpUrl {
    /// User name, decoded; `None` means anonymous.
    pub user: Option<String>,
    /// Password, decoded.
    pub password: Option<String>,
    /// Host name or address; IPv6 without brackets.
    pub host: String,
    /// TCP port of the control connection.
    pub port: u16,
    /// The path after the host, decoded, without the leading `/`; empty
    /// means the login directory.
    pub path: String,
    /// `ftps://`: the control connection is TLS from its first byte.
    pub implicit_tls: bool,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://` in front.
    MissingScheme,
    /// A scheme other than `tftp`, `ftp` or `ftps`.
    UnsupportedScheme(String),
    /// Nothing between `//` and the path.
    MissingHost,
    /// A `[` without its `]`, or something other than `:port` after `]`.
    BadHost(String),
    /// A port that is not a number in 1..=65535.
    BadPort(String),
    /// A TFTP URL without a file name.
    MissingPath,
    /// `user@` in a TFTP URL: TFTP has no login.
    UnexpectedCredentials,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    BadPercentEncoding,
    /// A decoded NUL byte, which no file name or login can carry.
    NulByte,
    /// A decoded CR or LF, which would end an FTP command line early.
    LineBreak,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::MissingScheme => {
                f.write_str("missing scheme (expected tftp://, ftp:// or ftps://host/path)")
            }
            UrlError::UnsupportedScheme(s) => write!(f, "unsupported scheme {s:?}"),
            UrlError::MissingHost => f.write_str("missing host"),
            UrlError::BadHost(h) => write!(f, "bad host {h:?}"),
            UrlError::BadPort(p) => write!(f, "bad port {p:?}"),
            UrlError::MissingPath => f.write_str("missing file path"),
            UrlError::UnexpectedCredentials => f.write_str("tftp:// URLs take no user or password"),
            UrlError::BadPercentEncoding => f.write_str("bad percent-encoding"),
            UrlError::NulByte => f.write_str("NUL byte in URL"),
            UrlError::LineBreak => f.write_str("CR or LF in URL"),
        }
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parse a `tftp://`, `ftp://` or `ftps://` URL.
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let (scheme, rest) = text.split_once("://").ok_or(UrlError::MissingScheme)?;
        let (tftp, implicit_tls, default_port) = if scheme.eq_ignore_ascii_case("tftp") {
            (true, false, TFTP_DEFAULT_PORT)
        } else if scheme.eq_ignore_ascii_case("ftp") {
            (false, false, FTP_DEFAULT_PORT)
        } else if scheme.eq_ignore_ascii_case("ftps") {
            (false, true, FTPS_DEFAULT_PORT)
        } else {
            return Err(UrlError::UnsupportedScheme(scheme.to_owned()));
        };

        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash + 1..]),
            None => (rest, ""),
        };
        // The last '@' ends the user information: a password may hold '@'
        // only percent-encoded, but be lenient about it.
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport, default_port)?;
        let path = percent_decode(path)?;

        if tftp {
            if userinfo.is_some() {
                return Err(UrlError::UnexpectedCredentials);
            }
            if path.is_empty() {
                return Err(UrlError::MissingPath);
            }
            return Ok(Url::Tftp(TftpUrl { host, port, path }));
        }

        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)?), Some(percent_decode(p)?)),
                None => (Some(percent_decode(info)?), None),
            },
        };
        Ok(Url::Ftp(FtpUrl {
            user,
            password,
            host,
            port,
            path,
            implicit_tls,
        }))
    }
}

fn split_host_port(hostport: &str, default_port: u16) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UrlError::BadHost(hostport.to_owned()))?;
        if host.is_empty() || host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::BadHost(hostport.to_owned()));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| UrlError::BadHost(hostport.to_owned()))?,
            ),
        };
        (host, port)
    } else {
        // An IPv6 address must be bracketed, or its colons read as a port.
        if hostport.matches(':').count() > 1 {
            return Err(UrlError::BadHost(hostport.to_owned()));
        }
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let bracketed = hostport.starts_with('[');
    if !bracketed && host.contains(['[', ']', ' ']) {
        return Err(UrlError::BadHost(host.to_owned()));
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(UrlError::BadPort(p.to_owned())),
        },
    };
    Ok((host.to_owned(), port))
}

/// Decode `%XX` escapes; the result must be UTF-8 without NUL.
fn percent_decode(text: &str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or(UrlError::BadPercentEncoding)?;
            let hi = hex_value(hex[0]).ok_or(UrlError::BadPercentEncoding)?;
            let lo = hex_value(hex[1]).ok_or(UrlError::BadPercentEncoding)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(UrlError::NulByte);
    }
    if out.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(UrlError::LineBreak);
    }
    String::from_utf8(out).map_err(|_| UrlError::BadPercentEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tftp(text: &str) -> TftpUrl {
        match Url::parse(text) {
            Ok(Url::Tftp(u)) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn ftp(text: &str) -> FtpUrl {
        match Url::parse(text) {
            Ok(Url::Ftp(u)) => u,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn tftp_with_port() {
        let u = tftp("tftp://127.0.0.1:6969/boot/pxelinux.0");
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 6969);
        assert_eq!(u.path, "boot/pxelinux.0");
    }

    #[test]
    fn tftp_default_port_and_case_insensitive_scheme() {
        let u = tftp("TFTP://server.example/file.bin");
        assert_eq!(u.host, "server.example");
        assert_eq!(u.port, 69);
        assert_eq!(u.path, "file.bin");
    }

    #[test]
    fn ipv6_in_brackets() {
        let u = tftp("tftp://[::1]:69/x");
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("::1", 69, "x"));
        let u = tftp("tftp://[fe80::1]/x");
        assert_eq!((u.host.as_str(), u.port), ("fe80::1", 69));
    }

    #[test]
    fn percent_decoding_of_path() {
        assert_eq!(tftp("tftp://h/a%20b%2Fc").path, "a b/c");
        assert_eq!(tftp("tftp://h/%C3%A9t%c3%a9").path, "été");
    }

    #[test]
    fn bad_percent_encoding() {
        assert_eq!(
            Url::parse("tftp://h/a%2"),
            Err(UrlError::BadPercentEncoding)
        );
        assert_eq!(
            Url::parse("tftp://h/a%zz"),
            Err(UrlError::BadPercentEncoding)
        );
        assert_eq!(
            Url::parse("tftp://h/%ff"),
            Err(UrlError::BadPercentEncoding)
        );
        assert_eq!(Url::parse("tftp://h/a%00b"), Err(UrlError::NulByte));
        assert_eq!(
            Url::parse("ftp://h/a%0D%0ADELE%20b"),
            Err(UrlError::LineBreak)
        );
        assert_eq!(Url::parse("ftp://u%0A:p@h/a"), Err(UrlError::LineBreak));
    }

    #[test]
    fn missing_parts() {
        assert_eq!(Url::parse("127.0.0.1/x"), Err(UrlError::MissingScheme));
        assert_eq!(Url::parse("tftp:///x"), Err(UrlError::MissingHost));
        assert_eq!(Url::parse("tftp://:69/x"), Err(UrlError::MissingHost));
        assert_eq!(Url::parse("tftp://host"), Err(UrlError::MissingPath));
        assert_eq!(Url::parse("tftp://host/"), Err(UrlError::MissingPath));
    }

    #[test]
    fn bad_ports_and_hosts() {
        assert_eq!(
            Url::parse("tftp://h:0/x"),
            Err(UrlError::BadPort("0".into()))
        );
        assert_eq!(
            Url::parse("tftp://h:70000/x"),
            Err(UrlError::BadPort("70000".into()))
        );
        assert_eq!(
            Url::parse("tftp://h:+69/x"),
            Err(UrlError::BadPort("+69".into()))
        );
        assert_eq!(
            Url::parse("tftp://h:ab/x"),
            Err(UrlError::BadPort("ab".into()))
        );
        assert!(matches!(
            Url::parse("tftp://[::1/x"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("tftp://[zz]/x"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("tftp://[::1]x/x"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            Url::parse("tftp://::1/x"),
            Err(UrlError::BadHost(_))
        ));
    }

    #[test]
    fn other_schemes_are_refused() {
        assert_eq!(
            Url::parse("http://h/x"),
            Err(UrlError::UnsupportedScheme("http".into()))
        );
    }

    #[test]
    fn tftp_takes_no_credentials() {
        assert_eq!(
            Url::parse("tftp://u:p@h/x"),
            Err(UrlError::UnexpectedCredentials)
        );
    }

    #[test]
    fn ftp_anonymous() {
        let u = ftp("ftp://127.0.0.1:2121/pub/file.txt");
        assert_eq!(u.user, None);
        assert_eq!(u.password, None);
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 2121));
        assert_eq!(u.path, "pub/file.txt");
    }

    #[test]
    fn ftp_credentials_and_default_port() {
        let u = ftp("ftp://alice:s%40cr%3At@files.example/dir/");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("s@cr:t"));
        assert_eq!((u.host.as_str(), u.port), ("files.example", 21));
        assert_eq!(u.path, "dir/");
    }

    #[test]
    fn ftp_user_without_password_and_empty_path() {
        let u = ftp("ftp://bob@[::1]:2121");
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!(u.password, None);
        assert_eq!((u.host.as_str(), u.port), ("::1", 2121));
        assert_eq!(u.path, "");
        assert_eq!(ftp("ftp://h/").path, "");
    }

    #[test]
    fn ftps_is_implicit_tls_on_port_990() {
        let u = ftp("FTPS://alice:pw@files.example/pub/f");
        assert!(u.implicit_tls);
        assert_eq!((u.host.as_str(), u.port), ("files.example", 990));
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.path, "pub/f");
        let u = ftp("ftps://127.0.0.1:9990/f");
        assert_eq!((u.port, u.implicit_tls), (9990, true));
        assert!(!ftp("ftp://h/f").implicit_tls);
        assert_eq!(
            Url::parse("ftpes://h/f"),
            Err(UrlError::UnsupportedScheme("ftpes".into()))
        );
    }

    #[test]
    fn ftp_missing_host() {
        assert_eq!(Url::parse("ftp://user@/x"), Err(UrlError::MissingHost));
    }
}
