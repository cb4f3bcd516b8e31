//! Argon2 password hashes in PHC string form: making, checking, verifying.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Hashes `password` with argon2id, the crate's default parameters and a
/// fresh salt from the operating system's random source.
pub(crate) fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `phc` can be used to verify passwords; if not, why.
///
/// Accepted: an argon2 PHC string (`argon2id`, `argon2i` or `argon2d`) with a
/// known version, parameters argon2 accepts, a salt and a hash output.
pub(crate) fn check(phc: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    Algorithm::try_from(hash.algorithm).map_err(|_| {
        format!(
            "not an argon2 hash (algorithm {:?})",
            hash.algorithm.as_str()
        )
    })?;
    if let Some(version) = hash.version {
        Version::try_from(version).map_err(|_| format!("unknown argon2 version {version}"))?;
    }
    Params::try_from(&hash).map_err(|e| format!("bad argon2 parameters: {e}"))?;
    if hash.salt.is_none() {
        return Err("no salt".into());
    }
    if hash.hash.is_none() {
        return Err("no hash output".into());
    }
    Ok(())
}

/// Whether `password` matches `phc`. Anything that is not a usable argon2
/// hash never matches.
pub(crate) fn matches(phc: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    // The algorithm, version and parameters come from `hash`; an algorithm
    // other than argon2's three variants is an error, hence no match.
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// A hash no password is known to match, made with the same parameters as
/// [`hash`], so that checking against it costs what checking a real user does.
///
/// Computed once per process, on first use.
pub(crate) fn dummy() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // The password is irrelevant: the salt is random and never stored.
        hash("ferry: no such user").expect("argon2 with default parameters hashes any password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One hash of "secret", shared: hashing takes real time.
    fn secret() -> &'static str {
        static PHC: OnceLock<String> = OnceLock::new();
        PHC.get_or_init(|| hash("secret").unwrap())
    }

    #[test]
    fn made_hashes_check_and_match() {
        let phc = secret();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert_eq!(check(phc), Ok(()));
        assert!(matches(phc, "secret"));
        assert!(!matches(phc, "Secret"));
    }

    #[test]
    fn other_algorithms_fail_closed() {
        // Well-formed PHC strings, but not argon2: never a match.
        for phc in [
            "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            assert!(PasswordHash::new(phc).is_ok(), "{phc}");
            assert!(
                check(phc).unwrap_err().contains("not an argon2 hash"),
                "{phc}"
            );
            assert!(!matches(phc, "anything"));
        }
        assert!(!matches("", ""));
        assert!(!matches("plaintext", "plaintext"));
    }

    #[test]
    fn incomplete_argon2_strings_are_refused() {
        let (without_output, _) = secret().rsplit_once('$').unwrap();
        assert_eq!(check(without_output), Err("no hash output".into()));
        assert!(!matches(without_output, "secret"));
        assert!(
            check("$argon2id$v=20$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                .unwrap_err()
                .contains("version")
        );
        assert!(
            check("$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
                .unwrap_err()
                .contains("parameters")
        );
    }

    #[test]
    fn dummy_is_a_default_argon2id_hash() {
        let dummy = dummy();
        assert_eq!(check(dummy), Ok(()));
        let params = |phc: &str| phc.split('$').nth(3).unwrap().to_owned();
        assert_eq!(params(dummy), params(secret()));
        assert!(!matches(dummy, "secret"));
        assert!(std::ptr::eq(dummy, super::dummy()));
    }
}
