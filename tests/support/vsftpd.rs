//! vsftpd, configured and started by a test on 127.0.0.1.
