//! The users-file parser on arbitrary text: it must never panic, and it
//! never finds more users than the text has lines.
#![no_main]

use ferry_users::Users;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(users) = Users::parse(text) {
        assert!(users.len() <= text.lines().count());
        assert_eq!(users.is_empty(), users.len() == 0);
    }
});
