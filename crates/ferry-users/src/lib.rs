//! ferry's FTP users file.
