//! Real FTP clients (curl, Python ftplib, lftp) against `ferry serve`.
