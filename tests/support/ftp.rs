//! Launching ferry's FTP server for interop tests.
