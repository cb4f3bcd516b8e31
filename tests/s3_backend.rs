//! The S3 backend (`ferry-s3`) against a real S3 server, SeaweedFS.
//! What the backend wrote is checked with curl's own SigV4 signing.

use std::io::{Read, Write};

use ferry_interop::seaweedfs::{
    free_port, get_object, make_bucket, open_uploads, put_object, weed, Weed, KEY, SECRET,
};
use ferry_s3::{Bucket, Location, S3Config, S3Error, PART_SIZE};
use ferry_storage::{FileKind, StorageError};

fn config(weed: &Weed) -> S3Config {
    S3Config {
        endpoint: weed.endpoint.parse().unwrap(),
        region: "us-east-1".into(),
        access_key: KEY.into(),
        secret_key: SECRET.into(),
    }
}

fn serve(weed: &Weed, root: &str) -> Bucket {
    let location = Location::parse(root).unwrap().unwrap();
    Bucket::connect(&config(weed), &location).unwrap()
}

/// Bytes that differ at every offset, so that a shifted range shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn read_from(bucket: &Bucket, name: &str, offset: u64) -> Result<(u64, Vec<u8>), StorageError> {
    let mut read = bucket.open_read(name, offset)?;
    let mut out = Vec::new();
    read.read_to_end(&mut out).unwrap();
    Ok((read.len, out))
}

#[test]
fn start_up_refuses_a_missing_bucket_bad_keys_and_no_endpoint() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "startup");
    let location = |root| Location::parse(root).unwrap().unwrap();
    assert!(Bucket::connect(&config(weed), &location("s3://startup/x")).is_ok());
    let missing = Bucket::connect(&config(weed), &location("s3://no-such-bucket")).unwrap_err();
    assert!(matches!(missing, S3Error::NoSuchBucket(_)), "{missing}");
    let mut bad = config(weed);
    bad.secret_key = "wrong".into();
    let refused = Bucket::connect(&bad, &location("s3://startup")).unwrap_err();
    assert!(matches!(refused, S3Error::Refused(..)), "{refused}");
    let mut gone = config(weed);
    gone.endpoint = format!("http://127.0.0.1:{}", free_port()).parse().unwrap();
    let unreachable = Bucket::connect(&gone, &location("s3://startup")).unwrap_err();
    assert!(
        matches!(unreachable, S3Error::Unreachable { .. }),
        "{unreachable}"
    );
}

#[test]
fn uploads_read_back_byte_exact_from_any_offset() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "bytes");
    let bucket = serve(weed, "s3://bytes/srv");
    for len in [0, 1000, PART_SIZE, 2 * PART_SIZE + 12_345] {
        let name = format!("f{len}.bin");
        let data = pattern(len);
        let mut upload = bucket.create_upload(&name).unwrap();
        for chunk in data.chunks(64 * 1024) {
            upload.write_all(chunk).unwrap();
        }
        // Nothing is visible before the commit.
        assert_eq!(get_object(weed, &format!("bytes/srv/{name}")), None);
        upload.commit().unwrap();
        assert_eq!(
            get_object(weed, &format!("bytes/srv/{name}")).unwrap(),
            data,
            "{len}"
        );
        assert_eq!(
            read_from(&bucket, &name, 0).unwrap(),
            (len as u64, data.clone())
        );
        let info = bucket.stat(&name).unwrap();
        assert_eq!((info.kind, info.len), (FileKind::File, len as u64));
        assert!(info.modified.unwrap() > 1_700_000_000);
        if len > 0 {
            let offset = len as u64 / 3 + 1;
            let (total, tail) = read_from(&bucket, &name, offset).unwrap();
            assert_eq!((total, &tail[..]), (len as u64, &data[offset as usize..]));
        }
        // REST to the end: nothing to send; past it: a bad offset.
        assert_eq!(read_from(&bucket, &name, len as u64).unwrap().1, b"");
        assert!(matches!(
            read_from(&bucket, &name, len as u64 + 1),
            Err(StorageError::InvalidOffset)
        ));
    }
    assert_eq!(open_uploads(weed, "bytes"), 0);
}

#[test]
fn a_cut_upload_leaves_the_old_object_and_no_open_upload() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "cut");
    put_object(weed, "cut/keep.bin", b"old contents");
    let bucket = serve(weed, "s3://cut");
    for len in [100, 2 * PART_SIZE + 1] {
        let mut upload = bucket.create_upload("keep.bin").unwrap();
        upload.write_all(&pattern(len)).unwrap();
        if len > PART_SIZE {
            assert_eq!(open_uploads(weed, "cut"), 1, "parts were sent");
        }
        drop(upload);
        assert_eq!(get_object(weed, "cut/keep.bin").unwrap(), b"old contents");
        assert_eq!(open_uploads(weed, "cut"), 0);
        let mut fresh = bucket.create_upload("new.bin").unwrap();
        fresh.write_all(&pattern(len)).unwrap();
        drop(fresh);
        assert_eq!(get_object(weed, "cut/new.bin"), None);
        assert_eq!(open_uploads(weed, "cut"), 0);
    }
}

#[test]
fn directories_are_prefixes_and_list_every_page() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "dirs");
    let bucket = serve(weed, "s3://dirs/top");
    bucket.make_dir("sub").unwrap();
    assert_eq!(bucket.stat("sub").unwrap().kind, FileKind::Directory);
    assert!(matches!(
        bucket.make_dir("sub"),
        Err(StorageError::AlreadyExists)
    ));
    assert!(matches!(
        bucket.make_dir("nope/deeper"),
        Err(StorageError::NotFound)
    ));
    assert_eq!(bucket.read_dir("sub").unwrap(), vec![]);
    put_object(weed, "dirs/top/sub/a.txt", b"a");
    put_object(weed, "dirs/top/implicit/deep/b.txt", b"bb");
    put_object(weed, "dirs/top/c.txt", b"ccc");
    assert!(matches!(
        bucket.remove_dir("sub"),
        Err(StorageError::DirectoryNotEmpty)
    ));
    let top: Vec<(String, FileKind, u64)> = bucket
        .read_dir("/")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.info.kind, e.info.len))
        .collect();
    assert_eq!(
        top,
        vec![
            ("c.txt".into(), FileKind::File, 3),
            ("implicit".into(), FileKind::Directory, 0),
            ("sub".into(), FileKind::Directory, 0),
        ]
    );
    assert_eq!(
        bucket.stat("implicit/deep").unwrap().kind,
        FileKind::Directory
    );
    assert!(matches!(
        bucket.read_dir("c.txt"),
        Err(StorageError::NotADirectory)
    ));
    assert!(matches!(
        bucket.read_dir("none"),
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        bucket.open_read("sub", 0),
        Err(StorageError::IsADirectory)
    ));
    assert!(matches!(
        bucket.create_upload("sub"),
        Err(StorageError::IsADirectory)
    ));
    assert!(matches!(
        bucket.remove_file("sub"),
        Err(StorageError::IsADirectory)
    ));

    bucket.remove_file("sub/a.txt").unwrap();
    bucket.remove_dir("sub").unwrap();
    assert!(matches!(bucket.stat("sub"), Err(StorageError::NotFound)));

    // Rename is a copy then a delete.
    bucket.rename("c.txt", "implicit/moved.txt").unwrap();
    assert_eq!(
        get_object(weed, "dirs/top/implicit/moved.txt").unwrap(),
        b"ccc"
    );
    assert_eq!(get_object(weed, "dirs/top/c.txt"), None);
    assert!(matches!(
        bucket.rename("implicit", "elsewhere"),
        Err(StorageError::PermissionDenied)
    ));

    // More keys than one page holds (S3 gives at most 1,000 a page).
    let many = bucket.clone();
    many.make_dir("many").unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let bucket = many.clone();
            std::thread::spawn(move || {
                for i in (t..1100).step_by(4) {
                    let mut upload = bucket.create_upload(&format!("many/k{i:05}")).unwrap();
                    upload.write_all(b"x").unwrap();
                    upload.commit().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let listed = bucket.read_dir("many").unwrap();
    assert_eq!(listed.len(), 1100);
    assert_eq!(listed[0].name, "k00000");
    assert_eq!(listed[1099].name, "k01099");
}

#[test]
fn no_name_reaches_a_key_outside_the_prefix() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "jail");
    put_object(weed, "jail/bait.txt", b"bait");
    put_object(weed, "jail/home-other/bait.txt", b"bait");
    put_object(weed, "jail/home/own.txt", b"own");
    let bucket = serve(weed, "s3://jail/home");
    for name in [
        "../bait.txt",
        "/../bait.txt",
        "own.txt/../../bait.txt",
        "../home-other/bait.txt",
        "..",
        "..\\bait.txt",
        "own.txt\\..\\..\\bait.txt",
    ] {
        assert!(
            matches!(bucket.open_read(name, 0), Err(StorageError::InvalidPath)),
            "{name}"
        );
        assert!(
            matches!(bucket.stat(name), Err(StorageError::InvalidPath)),
            "{name}"
        );
        assert!(bucket.create_upload(name).is_err(), "{name}");
        assert!(bucket.remove_file(name).is_err(), "{name}");
    }
    // Encoded forms are names of their own, inside the prefix.
    for name in ["..%2fbait.txt", "%2e%2e/bait.txt", "%2e%2e%5cbait.txt"] {
        let read = bucket.open_read(name, 0).map(|r| r.len);
        assert!(
            matches!(read, Err(StorageError::NotFound)),
            "{name}: {read:?}"
        );
    }
    let names: Vec<String> = bucket
        .read_dir("")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["own.txt"]);
    assert!(matches!(
        bucket.remove_file("/"),
        Err(StorageError::PermissionDenied)
    ));
    assert_eq!(get_object(weed, "jail/bait.txt").unwrap(), b"bait");
    assert_eq!(
        get_object(weed, "jail/home-other/bait.txt").unwrap(),
        b"bait"
    );
}
