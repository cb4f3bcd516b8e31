//! The in-memory harness shared by the session tests: a file store that
//! performs the server's requests, and a pair of coupled machines.
// Each test binary uses a different part of the harness.
#![allow(dead_code)]

pub mod memfs;
pub mod pair;
