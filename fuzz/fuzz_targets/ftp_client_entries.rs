//! The client's listing readers (MLSD, LIST, NLST prefixes) on arbitrary
//! text: they must never panic, and every entry they give must be a
//! single name a walk can join to its directory.
#![no_main]

use ftp_proto::client::entries;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for mlsd in [true, false] {
        for entry in entries::parse_listing(text, mlsd) {
            assert!(!entry.name.is_empty() && !entry.name.contains('/'));
            assert!(entry.name != "." && entry.name != "..");
        }
    }
    let (sent, line) = text.split_once('\n').unwrap_or(("", text));
    let name = entries::name_list_entry(Some(sent), line);
    assert!(line.contains(name));
});
