//! `ferry get/put/ls ftp://` against vsftpd.
