//! The server session machine: one per control connection.
