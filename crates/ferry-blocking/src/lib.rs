//! Blocking drivers for ferry's sans-IO protocol machines, over `std::net`
//! and threads.
//!
//! Serving a directory over TFTP on an ephemeral port:
//!
//! ```no_run
//! use ferry_blocking::tftp::{Server, ServerConfig};
//!
//! let config = ServerConfig::new("/srv/tftp", "127.0.0.1:0".parse().unwrap());
//! let server = Server::bind(config)?;
//! eprintln!("tftp listening on {}", server.local_addr());
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Fetching a file from it:
//!
//! ```no_run
//! use ferry_blocking::tftp::{get, ClientOptions, Output};
//!
//! let options = ClientOptions { blksize: Some(1468), ..ClientOptions::default() };
//! let summary = get("127.0.0.1", 6969, "boot.img", Output::Path("boot.img".as_ref()),
//!                   &options, &mut |_progress| {})?;
//! println!("{} bytes", summary.bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod local;
use ferry_service::clock;
pub use ferry_service::ServerError;

pub mod ftp;
pub mod tftp;
