//! TFTP over `std::net`: a threaded [`Server`] and the [`get`]/[`put`]
//! client calls.
//!
//! The protocol lives in [`tftp_proto::transfer`]; this module only runs
//! its machines: datagrams in and out, file bytes to and from storage,
//! sleeping until the machine's next deadline.

mod client;
mod drive;
mod server;

pub use client::{get, put, ClientError, ClientOptions, Input, Output, Progress};
pub use server::{Server, ServerConfig, ServerError, ShutdownHandle, DEFAULT_MAX_TRANSFERS};
pub use tftp_proto::transfer::{ServerPolicy, Summary, TransferConfig};
pub use tftp_proto::Mode;
