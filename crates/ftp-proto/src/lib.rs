//! Sans-IO FTP: RFC 959 and the extensions clients expect (RFC 2389,
//! 2428, 3659, 2640; RFC 4217's commands recognised).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod ascii;
pub mod client;
pub mod command;
pub mod line;
pub mod listing;
pub mod path;
pub mod reply;
pub mod server;

pub use command::Command;
pub use ferry_time::Instant;
pub use path::RootPath;
pub use reply::{Reply, ReplyCode};
