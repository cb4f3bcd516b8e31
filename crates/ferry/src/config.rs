//! `ferry serve --config FILE`: every serve flag in a TOML file, in
//! tables by subject; a flag given on the command line wins over the
//! file. `--print-config` writes the configuration in force in the same
//! form. docs/configuration.md lists the keys (a test checks it does).

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use ferry_service::pace::{RateLimit, RateParseError};

use crate::cli::{parse_port_range, Driver, ServeArgs};
use crate::Failure;

/// The file's top level.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<Driver>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_sessions: Option<NonZeroU32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_per_ip: Option<NonZeroU32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit: Option<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anon_rate_limit: Option<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<SocketAddr>,
    #[serde(default)]
    storage: Storage,
    #[serde(default)]
    ftp: Ftp,
    #[serde(default)]
    tftp: Tftp,
    #[serde(default)]
    tls: Tls,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Storage {
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Ftp {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anonymous: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passive_ports: Option<PortRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_timeout: Option<NonZeroU64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Tftp {
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    single_port: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_range: Option<PortRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    map: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Tls {
    #[serde(skip_serializing_if = "Option::is_none")]
    cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ftps_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    require: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    require_reuse: Option<bool>,
}

/// `LO-HI`, as the flags write it.
#[derive(Debug, Clone)]
struct PortRange(RangeInclusive<u16>);

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_port_range(&text)
            .map(PortRange)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{}-{}", self.0.start(), self.0.end()))
    }
}

/// Bytes a second: an integer, or a string as the flags take it (`"512K"`).
#[derive(Debug, Clone, Copy)]
struct Rate(RateLimit);

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Bytes(u64),
            Text(String),
        }
        let parsed = match Either::deserialize(deserializer)? {
            Either::Bytes(bytes) => RateLimit::new(bytes)
                .ok_or_else(|| "a rate limit must be above 0 bytes a second".to_owned()),
            Either::Text(text) => text.parse().map_err(|err: RateParseError| err.to_string()),
        };
        parsed.map(Rate).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl ConfigFile {
    /// Reads and checks `path`; an error names the file and the line.
    fn load(path: &Path) -> Result<ConfigFile, Failure> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Failure::Usage(format!("cannot read --config {}: {err}", path.display()))
        })?;
        toml::from_str(&text).map_err(|err| {
            let line = err
                .span()
                .map_or(1, |span| text[..span.start].matches('\n').count() + 1);
            let reason = err.message().trim_end();
            Failure::Usage(format!("{}:{line}: {reason}", path.display()))
        })
    }

    /// The configuration `args` describe, every key given.
    fn from_args(args: &ServeArgs) -> ConfigFile {
        ConfigFile {
            driver: Some(args.driver),
            user: args.user.clone(),
            max_sessions: args.max_sessions.and_then(NonZeroU32::new),
            max_per_ip: args.max_per_ip.and_then(NonZeroU32::new),
            rate_limit: args.rate_limit.map(Rate),
            anon_rate_limit: args.anon_rate_limit.map(Rate),
            metrics: args.metrics,
            storage: Storage {
                root: Some(args.root.clone()),
                s3_endpoint: args.s3_endpoint.clone(),
                write: Some(args.write),
            },
            ftp: Ftp {
                enabled: Some(!args.no_ftp),
                listen: Some(args.ftp),
                anonymous: Some(args.anonymous),
                users: args.users.clone(),
                passive_ports: args.passive_ports.clone().map(PortRange),
                idle_timeout: args.idle_timeout.and_then(NonZeroU64::new),
            },
            tftp: Tftp {
                enabled: Some(!args.no_tftp),
                listen: Some(args.tftp),
                single_port: Some(args.tftp_single_port),
                port_range: args.tftp_port_range.clone().map(PortRange),
                map: args.tftp_map.clone(),
            },
            tls: Tls {
                cert: args.tls_cert.clone(),
                key: args.tls_key.clone(),
                ftps_listen: args.ftps,
                require: Some(args.require_tls),
                require_reuse: Some(args.tls_require_reuse),
            },
        }
    }
}

/// What [`apply`] left to do.
pub enum Next {
    /// Serve with the arguments as they now are.
    Serve,
    /// The configuration was printed (`--print-config`): stop there.
    Printed,
}

/// Fills in `args` from `--config` wherever the command line did not
/// set a flag, checks what the file may have combined, and prints the
/// result for `--print-config`.
pub fn apply(args: &mut ServeArgs, matches: &ArgMatches) -> Result<Next, Failure> {
    if let Some(path) = args.config.clone() {
        let file = ConfigFile::load(&path)?;
        merge(args, file, matches);
        check(args).map_err(|reason| Failure::Usage(format!("{}: {reason}", path.display())))?;
    }
    if args.print_config {
        let text = toml::to_string(&ConfigFile::from_args(args))
            .map_err(|err| Failure::Failed(format!("cannot print the configuration: {err}")))?;
        print!("{text}");
        return Ok(Next::Printed);
    }
    Ok(Next::Serve)
}

fn merge(args: &mut ServeArgs, file: ConfigFile, matches: &ArgMatches) {
    // The file's value, unless the flag (clap's id: the field's name) was
    // on the command line.
    let unset = |id: &str| matches.value_source(id) != Some(ValueSource::CommandLine);
    macro_rules! fill {
        ($field:ident, $value:expr) => {
            if unset(stringify!($field)) {
                if let Some(value) = $value {
                    args.$field = value;
                }
            }
        };
        ($field:ident, optional $value:expr) => {
            if unset(stringify!($field)) {
                if let Some(value) = $value {
                    args.$field = Some(value);
                }
            }
        };
    }
    fill!(driver, file.driver);
    fill!(user, optional file.user);
    fill!(max_sessions, optional file.max_sessions.map(NonZeroU32::get));
    fill!(max_per_ip, optional file.max_per_ip.map(NonZeroU32::get));
    fill!(rate_limit, optional file.rate_limit.map(|r| r.0));
    fill!(anon_rate_limit, optional file.anon_rate_limit.map(|r| r.0));
    fill!(metrics, optional file.metrics);
    fill!(root, file.storage.root);
    fill!(s3_endpoint, optional file.storage.s3_endpoint);
    fill!(write, file.storage.write);
    fill!(no_ftp, file.ftp.enabled.map(|on| !on));
    fill!(ftp, file.ftp.listen);
    fill!(anonymous, file.ftp.anonymous);
    fill!(users, optional file.ftp.users);
    fill!(passive_ports, optional file.ftp.passive_ports.map(|r| r.0));
    fill!(idle_timeout, optional file.ftp.idle_timeout.map(NonZeroU64::get));
    fill!(no_tftp, file.tftp.enabled.map(|on| !on));
    fill!(tftp, file.tftp.listen);
    fill!(tftp_single_port, file.tftp.single_port);
    fill!(tftp_port_range, optional file.tftp.port_range.map(|r| r.0));
    fill!(tftp_map, optional file.tftp.map);
    fill!(tls_cert, optional file.tls.cert);
    fill!(tls_key, optional file.tls.key);
    fill!(ftps, optional file.tls.ftps_listen);
    fill!(require_tls, file.tls.require);
    fill!(tls_require_reuse, file.tls.require_reuse);
}

/// What clap checks between flags, for values that came from the file.
fn check(args: &ServeArgs) -> Result<(), String> {
    let tls = args.tls_cert.is_some();
    if tls != args.tls_key.is_some() {
        return Err("[tls] cert and key go together".to_owned());
    }
    if !tls && (args.ftps.is_some() || args.require_tls || args.tls_require_reuse) {
        return Err("[tls] ftps_listen, require and require_reuse need cert and key".to_owned());
    }
    if tls && args.no_ftp {
        return Err("[tls] needs FTP: [ftp] enabled is false".to_owned());
    }
    if args.tftp_single_port && args.tftp_port_range.is_some() {
        return Err("[tftp] single_port and port_range exclude each other".to_owned());
    }
    Ok(())
}
