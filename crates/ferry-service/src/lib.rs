//! What a ferry server does, whichever driver moves its bytes: the
//! configuration of each server, carrying out the protocol machines'
//! requests against the served root and the users file, and logging.
//!
//! The blocking driver (`ferry-blocking`, a thread per session) and the
//! event-loop driver (`ferry-mio`, one thread for all) both build on it, so
//! a server behaves the same under either.

#![warn(missing_docs)]

pub mod clock;
mod error;
pub use error::ServerError;

pub mod ftp;
mod inherited;
pub mod metrics;
pub mod pace;
pub mod relay;
mod reloadable;
pub use inherited::Inherited;
pub use reloadable::Reloadable;
mod store;
pub mod tftp;
pub use store::{Body, NewStoreUpload, Store, StoreUpload};
