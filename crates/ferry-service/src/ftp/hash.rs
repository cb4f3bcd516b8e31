//! HASH (draft-bryan-ftpext-hash): a file's digest, read through once.

use std::io::Read;

use ftp_proto::server::{Completion, Failure, HashAlgorithm};
use ftp_proto::RootPath;
use sha2::Digest;

use super::{failure, View};

/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// The digest of the whole regular file `path` (a link inside the view is
/// followed, as RETR follows it). Reads the file to its end: a driver
/// serving many sessions on one thread runs this elsewhere.
pub fn hash(view: &View, path: &RootPath, algorithm: HashAlgorithm) -> Completion {
    let result = match algorithm {
        HashAlgorithm::Sha1 => digest_of::<sha1::Sha1>(view, path),
        HashAlgorithm::Md5 => digest_of::<md5::Md5>(view, path),
        _ => digest_of::<sha2::Sha256>(view, path),
    };
    match result {
        Ok((len, digest)) => Completion::Hashed { len, digest },
        Err(failure) => Completion::Failed(failure),
    }
}

fn digest_of<D: Digest>(view: &View, path: &RootPath) -> Result<(u64, Vec<u8>), Failure> {
    let (mut body, _) = view.root.open_read(view.name(path)).map_err(failure)?;
    let mut hasher = D::new();
    let mut buf = vec![0; CHUNK];
    let mut len = 0u64;
    loop {
        match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Failure::Io),
        }
    }
    Ok((len, hasher.finalize().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_storage::Root;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_three_digests_of_a_file_and_the_failures() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("abc"), b"abc").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let view = View::whole(&crate::Store::Local(Root::new(dir.path()).unwrap()));
        let path = RootPath::ROOT.resolve("abc").unwrap();
        for (algorithm, want) in [
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (HashAlgorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
        ] {
            match hash(&view, &path, algorithm) {
                Completion::Hashed { len, digest } => {
                    assert_eq!((len, hex(&digest)), (3, want.to_string()));
                }
                other => panic!("{other:?}"),
            }
        }
        let sub = RootPath::ROOT.resolve("sub").unwrap();
        assert_eq!(
            hash(&view, &sub, HashAlgorithm::Sha256),
            Completion::Failed(Failure::IsADirectory)
        );
        let gone = RootPath::ROOT.resolve("gone").unwrap();
        assert_eq!(
            hash(&view, &gone, HashAlgorithm::Md5),
            Completion::Failed(Failure::NotFound)
        );
    }
}
