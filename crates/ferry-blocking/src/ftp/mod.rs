//! FTP over `std::net`: a server with a thread per control connection, and
//! a client.

pub mod client;
pub mod server;
