//! The FTP server driver.
