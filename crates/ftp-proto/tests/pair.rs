//! A client session and a server session coupled in memory.

mod support;
