//! The FTP client driver.
