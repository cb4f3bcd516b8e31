//! ferry's FTP server (`ferry serve`) as a service: users from a users
//! file (`ferry passwd`), the idle timeout, passive port ranges and a
//! graceful shutdown in the middle of an upload.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_interop::ftp::{connect_data, names, read_all, Control, FtpServer};
use ferry_interop::{
    assert_bytes_eq, assert_file_eq, content, curl, ferry, make_file, require_peer, run, temp_dir,
    Driver, PEER_TIMEOUT,
};

/// A users-file line from `ferry passwd`.
fn passwd(user: &str, password: &str, home: &str, write: bool) -> String {
    let mut cmd = ferry();
    cmd.arg("passwd")
        .arg(user)
        .arg("--home")
        .arg(home)
        .env("FERRY_PASSWORD", password);
    if write {
        cmd.arg("--write");
    }
    let done = run(&mut cmd, PEER_TIMEOUT);
    done.assert_success("ferry passwd");
    let line = String::from_utf8(done.stdout).unwrap();
    assert!(
        line.starts_with(&format!("{user}:$argon2")),
        "ferry passwd printed {line:?}"
    );
    line
}

fn users_file(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("users");
    let text = format!(
        "# alice writes in /alice, bob reads everything\n{}{}",
        passwd("alice", "alice secret", "/alice", true),
        passwd("bob", "bob's password", "/", false)
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// curl's exit code for a refused login.
const CURLE_LOGIN_DENIED: i32 = 67;
const CURLE_UPLOAD_FAILED: i32 = 25;

fn users_file_logins_homes_and_rights(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let etc = temp_dir("etc");
    let work = temp_dir("work");
    std::fs::create_dir(root.path().join("alice")).unwrap();
    let top = make_file(root.path(), "top.bin", 10_000, 3000);
    let mine = make_file(&root.path().join("alice"), "mine.bin", 20_000, 3001);
    let users = users_file(etc.path());
    let server = FtpServer::start(
        driver,
        root.path(),
        &["--write", "--users", users.to_str().unwrap()],
    );
    let port = server.port();
    let url = |cred: &str, path: &str| format!("ftp://{cred}@127.0.0.1:{port}/{path}");

    // alice sees her home as /, reads and writes there.
    let done = run(
        curl(60).arg(url("alice:alice%20secret", "mine.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("alice RETR");
    assert_bytes_eq(&done.stdout, &mine, "alice's mine.bin");
    let upload = make_file(work.path(), "up.bin", 30_000, 3002);
    run(
        curl(60)
            .arg("-T")
            .arg(work.path().join("up.bin"))
            .arg(url("alice:alice%20secret", "up.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("alice STOR");
    assert_file_eq(&root.path().join("alice/up.bin"), &upload);

    // bob reads the whole root, but may not write although the server
    // runs with --write.
    let done = run(
        curl(60).arg(url("bob:bob's%20password", "alice/mine.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("bob RETR");
    assert_bytes_eq(&done.stdout, &mine, "alice/mine.bin for bob");
    let done = run(
        curl(60)
            .arg("-T")
            .arg(work.path().join("up.bin"))
            .arg(url("bob:bob's%20password", "bob.bin")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(CURLE_UPLOAD_FAILED), "{}", done.stderr);
    assert!(!root.path().join("bob.bin").exists());

    // Wrong passwords, unknown users and anonymous (off with --users): 530.
    for cred in [
        "alice:wrong",
        "nobody:alice%20secret",
        "anonymous:x%40y",
        "ftp:x",
    ] {
        let done = run(curl(60).arg(url(cred, "top.bin")), PEER_TIMEOUT);
        assert_eq!(
            done.code(),
            Some(CURLE_LOGIN_DENIED),
            "{cred}: {}",
            done.stderr
        );
        assert!(done.stdout.is_empty());
    }

    // alice cannot leave her home: `..` stops at it, the root's files are
    // out of reach.
    let mut control = server.connect();
    control.expect("USER alice", 331);
    control.expect("PASS alice secret", 230);
    let reply = control.expect("PWD", 257);
    assert!(reply.text().starts_with("\"/\""), "{reply:?}");
    control.expect("CWD ..", 250);
    let reply = control.expect("PWD", 257);
    assert!(reply.text().starts_with("\"/\""), "{reply:?}");
    for name in ["../top.bin", "/top.bin", "../../top.bin", "alice/mine.bin"] {
        let reply = control.cmd(&format!("SIZE {name}"));
        assert_eq!(reply.code, 550, "SIZE {name}: {reply:?}");
    }
    control.expect("SIZE /mine.bin", 213);
    control.expect("QUIT", 221);
    assert_file_eq(&root.path().join("top.bin"), &top);
}

/// A failed login is answered after a delay, and the third one closes the
/// connection.
fn failed_logins_are_slow_and_limited(driver: Driver) {
    let root = temp_dir("root");
    std::fs::create_dir(root.path().join("alice")).unwrap();
    let etc = temp_dir("etc");
    let users = users_file(etc.path());
    let server = FtpServer::start(driver, root.path(), &["--users", users.to_str().unwrap()]);
    let mut control = server.connect();
    for attempt in 1..=3 {
        control.expect("USER alice", 331);
        let started = Instant::now();
        let reply = control.cmd("PASS not her password");
        assert_eq!(reply.code, 530, "attempt {attempt}: {reply:?}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500),
            "attempt {attempt}: 530 after only {took:?}"
        );
    }
    assert!(
        control.closed_within(Duration::from_secs(5)),
        "still open after three failed logins"
    );
    // The right password still works on a new connection.
    let mut control = server.connect();
    control.expect("USER alice", 331);
    control.expect("PASS alice secret", 230);
    control.expect("QUIT", 221);
}

fn idle_timeout_closes_with_421(driver: Driver) {
    let root = temp_dir("root");
    let server = FtpServer::start(driver, root.path(), &["--idle-timeout", "1"]);
    let mut control = server.login();
    let started = Instant::now();
    let reply = control.reply();
    let took = started.elapsed();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "421 after {took:?} with --idle-timeout 1"
    );
    assert!(
        control.closed_within(Duration::from_secs(5)),
        "not closed after 421"
    );
    // A busy session is not idle.
    let mut control = server.login();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(400));
        control.expect("NOOP", 200);
    }
    control.expect("QUIT", 221);
}

fn passive_ports_stay_in_range(driver: Driver) {
    let root = temp_dir("root");
    let want = make_file(root.path(), "file.bin", 100_000, 3100);
    // A range outside Linux's ephemeral ports (32768-60999), different for
    // each test process.
    let lo = 20_000 + (std::process::id() % 500) as u16 * 20;
    let hi = lo + 9;
    let range = format!("{lo}-{hi}");
    let server = FtpServer::start(driver, root.path(), &["--passive-ports", &range]);
    let mut control = server.login();
    control.expect("TYPE I", 200);
    for i in 0..12 {
        let data = if i % 2 == 0 {
            control.epsv()
        } else {
            control.pasv()
        };
        assert!(
            (lo..=hi).contains(&data.port()),
            "passive port {} outside {range}",
            data.port()
        );
        let mut stream = connect_data(data);
        control.expect("RETR file.bin", 150);
        assert_bytes_eq(&read_all(&mut stream), &want, "RETR");
        assert_eq!(control.reply().code, 226);
    }
    control.expect("QUIT", 221);
}

/// SIGTERM mid-upload: the upload ends without publishing a partial
/// file, the client is told, no temporary file is left and the server
/// exits by itself.
fn graceful_shutdown_mid_upload(driver: Driver) {
    let root = temp_dir("root");
    let old = make_file(root.path(), "target.bin", 500_000, 3200);
    let mut server = FtpServer::writable(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect("STOR target.bin", 150);
    stream.write_all(&content(3201, 1_000_000)).unwrap();
    // An idle session too.
    let mut idle = server.login();

    server.terminate();
    let reply = control.reply();
    assert_eq!(reply.code, 426, "the cut upload: {reply:?}");
    let reply = control.reply();
    assert_eq!(reply.code, 421, "shutting down: {reply:?}");
    assert!(control.closed_within(Duration::from_secs(10)));
    let reply = idle.reply();
    assert_eq!(reply.code, 421, "idle session: {reply:?}");
    drop(stream);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server did not exit within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert_eq!(names(root.path()), ["target.bin"]);
    assert_file_eq(&root.path().join("target.bin"), &old);
    // Nobody listens any more.
    assert!(Control::connect(server.addr()).is_err());
}

/// Sessions of every shape, ended every way, leave no descriptor or
/// thread behind in the server.
fn sessions_leave_nothing_behind(driver: Driver) {
    let root = temp_dir("root");
    let want = make_file(root.path(), "file.bin", 3_000_000, 3300);
    let server = FtpServer::writable(driver, root.path());
    // Warm up once (lazily created state is not a leak), then measure.
    server.login().expect("QUIT", 221);
    let settled = |server: &FtpServer| {
        std::thread::sleep(Duration::from_millis(100));
        server.fds_and_threads()
    };
    let before = settled(&server);

    for round in 0..10 {
        // A transfer, then QUIT.
        let mut control = server.login();
        control.expect("TYPE I", 200);
        let mut stream = connect_data(control.epsv());
        control.expect("RETR file.bin", 150);
        assert_bytes_eq(&read_all(&mut stream), &want, "RETR");
        assert_eq!(control.reply().code, 226);
        control.expect("QUIT", 221);

        // Passive listeners never used, replaced, and left open at the end.
        let mut control = server.login();
        control.epsv();
        control.pasv();
        control.epsv();
        control.expect(&format!("PORT {}", active_argument(&control)), 200);
        control.epsv();
        drop(control);

        // A transfer whose client vanishes midway.
        let mut control = server.login();
        control.expect("TYPE I", 200);
        let stream = connect_data(control.epsv());
        control.expect("RETR file.bin", 150);
        drop(stream);
        drop(control);

        // An upload cut off, and a client that never says anything.
        let mut control = server.login();
        let mut stream = connect_data(control.epsv());
        control.expect(&format!("STOR cut-{round}.bin"), 150);
        stream.write_all(&want[..100_000]).unwrap();
        ferry_interop::ftp::reset(stream);
        assert_eq!(control.reply().code, 426);
        drop(control);
        drop(Control::connect(server.addr()).unwrap());
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = settled(&server);
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server holds (fds, threads) {now:?}, {before:?} before the sessions"
        );
    }
    assert_eq!(names(root.path()), ["file.bin"]);
}

/// `h1,h2,h3,h4,p1,p2` of a port on the control connection's own address
/// (nobody listens there: PORT alone connects to nothing).
fn active_argument(control: &Control) -> String {
    let std::net::SocketAddr::V4(local) = control.local_addr() else {
        panic!("IPv4 control connection expected")
    };
    ferry_interop::ftp::port_argument(std::net::SocketAddrV4::new(*local.ip(), 40_000))
}

ferry_interop::driver_tests!(
    users_file_logins_homes_and_rights,
    failed_logins_are_slow_and_limited,
    idle_timeout_closes_with_421,
    passive_ports_stay_in_range,
    graceful_shutdown_mid_upload,
    sessions_leave_nothing_behind,
);
