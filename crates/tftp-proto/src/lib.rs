//! Sans-IO TFTP.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod error_code;
pub mod netascii;
pub mod options;
pub mod packet;
/// Time as a plain value (the `ferry-time` crate, shared with `ftp-proto`).
pub mod time {
    pub use ferry_time::Instant;
}
pub mod transfer;

pub use error_code::ErrorCode;
pub use options::Options;
pub use packet::{BlockNumber, EncodeError, Mode, Packet, ParseError, Request};
pub use time::Instant;
