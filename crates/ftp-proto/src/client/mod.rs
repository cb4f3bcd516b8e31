//! The client session machine: one per control connection.
