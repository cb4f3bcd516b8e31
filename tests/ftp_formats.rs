//! RFC 959's data formats on the wire, as a strict RFC 959 client sees
//! them: Python's ftplib sets TYPE, STRU and MODE with `sendcmd` and
//! moves the data over a raw data socket (`transfercmd`), against `ferry
//! serve` on both drivers. The bytes on the data connection are compared
//! with encodings worked out by hand from RFC 959 §3.4 (and CP037 for
//! TYPE E), and so are the files an upload stores and the 110 reply
//! each restart marker of an upload gets. And FEAT: it lists
//! exactly the extensions the server answers.

use std::process::Command;

use ferry_interop::ftp::{marked_file, put_with_markers, FtpServer};
use ferry_interop::{require_peer, run, temp_dir, Driver, PEER_TIMEOUT};

/// The files the script downloads.
const REC: &[u8] = b"ab\n\xff\nc";
const RUNS: &[u8] = b"aaaa    b\n";
const ZEROS: &[u8] = b"\x00\x00\x00\x00\x00xy";

/// Longer than one restart-marker interval (1 MiB) by 5 bytes.
fn marked() -> Vec<u8> {
    (0..(1u32 << 20) + 5).map(|i| (i % 253) as u8).collect()
}

const SCRIPT: &str = r#"
import ftplib, socket, sys

port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=30)
ftp.login()

def code(cmd):
    try:
        return ftp.sendcmd(cmd)[:3]
    except ftplib.error_perm as e:
        return str(e)[:3]

def retr(name):
    conn = ftp.transfercmd("RETR " + name)
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    ftp.voidresp()
    return data

def expect(what, got, want):
    assert got == want, "%s: got %r, want %r" % (what, got[:200], want[:200])

# Reply codes.
expect("TYPE E", code("TYPE E"), "200")
expect("TYPE E N", code("TYPE E N"), "200")
expect("TYPE E T", code("TYPE E T"), "504")
expect("STRU R", code("STRU R"), "200")
expect("STRU P", code("STRU P"), "504")
expect("STRU F", code("STRU F"), "200")
expect("MODE B", code("MODE B"), "200")
expect("MODE C", code("MODE C"), "200")
expect("MODE S", code("MODE S"), "200")
expect("MODE X", code("MODE X"), "501")

# Downloads.
code("TYPE I"); code("MODE B")
# One block carrying the end of file: descriptor 0x40, count 6.
expect("I F B", retr("rec.txt"), b"\x40\x00\x06ab\n\xff\nc")
code("STRU R")
# A record per line; the last without EOR rides on the EOF block.
expect("I R B", retr("rec.txt"),
       b"\x80\x00\x02ab" + b"\x80\x00\x01\xff" + b"\x40\x00\x01c")
code("MODE S")
# §3.4.1 escapes: 0xFF 0x01 EOR, 0xFF 0xFF a data 0xFF, 0xFF 0x02 EOF.
expect("I R S", retr("rec.txt"), b"ab\xff\x01\xff\xff\xff\x01c\xff\x02")
code("STRU F"); code("TYPE E")
# CP037: a b c = 0x81 0x82 0x83, y-diaeresis = 0xDF, LF sent as NL 0x15.
expect("E F S", retr("rec.txt"), b"\x81\x82\x15\xdf\x15\x83")
code("TYPE A"); code("MODE C")
# TYPE A first (LF -> CR LF), then MODE C: 4 x 'a' replicated (0x84),
# 4 spaces as filler (0xC4), 3 data bytes, the EOF escape.
expect("A F C", retr("runs.txt"), b"\x84a\xc4\x03b\r\n\x00\x40")
code("TYPE I")
# In TYPE I the filler is zero.
expect("I F C", retr("zeros.bin"), b"\xc5\x02xy\x00\x40")
code("MODE B")
# Restart markers: after each 1 MiB of file, a marker block (0x10) whose
# bytes are the file offset in decimal; the data before it flushed first.
big = bytes(i % 253 for i in range((1 << 20) + 5))
want = b""
for i in range(16):
    want += b"\x00\xff\xff" + big[i * 65535:(i + 1) * 65535]
want += b"\x00\x00\x10" + big[16 * 65535:1 << 20]
want += b"\x10\x00\x07" + b"1048576"
want += b"\x40\x00\x05" + big[1 << 20:]
expect("I F B markers", retr("marked.bin"), want)
# REST takes the marker back: the transfer restarts at that offset.
expect("REST marker", code("REST 1048576"), "350")
expect("I F B restarted", retr("marked.bin"), b"\x40\x00\x05" + big[1 << 20:])

# Uploads.
def stor(name, wire, close=True):
    conn = ftp.transfercmd("STOR " + name)
    conn.sendall(wire)
    if close:
        conn.close()
        return ftp.voidresp()[:3], None
    # Block mode's EOF ends the file with the connection still open.
    reply = ftp.voidresp()[:3]
    return reply, conn

def stor_code(name, wire):
    conn = ftp.transfercmd("STOR " + name)
    conn.sendall(wire)
    conn.close()
    try:
        return ftp.voidresp()[:3]
    except ftplib.error_temp as e:
        return str(e)[:3]

def marked_stor(name, wire, marks):
    # RFC 959 §3.5 and §4.2: a 110 for each restart marker, in order,
    # with the text exactly "MARK yyyy = mmmm", then the 226.
    conn = ftp.transfercmd("STOR " + name)
    conn.sendall(wire)
    conn.close()
    got = [ftp.getline() for _ in marks]
    expect("110s of " + name, got, ["110 MARK %s = %d" % m for m in marks])
    expect("reply of " + name, ftp.getline()[:4], "226 ")

code("TYPE I"); code("MODE B")
# Block mode's EOF ends the file with the connection still open: the
# marker's 110, then the 226, come before the client closes it.
conn = ftp.transfercmd("STOR b.bin")
conn.sendall(b"\x00\x00\x03abc" + b"\x10\x00\x013" + b"\x40\x00\x02de")
expect("STOR B open", [ftp.getline(), ftp.getline()[:4]], ["110 MARK 3 = 3", "226 "])
conn.close()
# Two marker blocks between 40000-byte data blocks; the markers are the
# client's own words, the offsets the server's.
up = bytes(i % 251 for i in range(80005))
wire = (b"\x00\x9c\x40" + up[:40000] + b"\x10\x00\x04ck-1"
        + b"\x00\x9c\x40" + up[40000:80000] + b"\x10\x00\x0580000"
        + b"\x40\x00\x05" + up[80000:])
marked_stor("mb.bin", wire, [("ck-1", 40000), ("80000", 80000)])
# REST 4 keeps four bytes of the old file: the offsets count them.
expect("REST B", code("REST 4"), "350")
marked_stor("base.bin", b"\x00\x00\x02ab\x10\x00\x02k1\x40\x00\x01c", [("k1", 6)])
code("MODE C")
def strings(data):
    return b"".join(bytes([len(data[i:i + 127])]) + data[i:i + 127]
                    for i in range(0, len(data), 127))
wire = (strings(up[:40000]) + b"\x00\x10\x04ck-1" + strings(up[40000:80000])
        + b"\x00\x10\x0580000" + strings(up[80000:]) + b"\x00\x40")
marked_stor("mc.bin", wire, [("ck-1", 40000), ("80000", 80000)])
code("MODE B")
expect("STOR B bad descriptor", stor_code("bad.bin", b"\x0f\x00\x00"), "451")
expect("STOR B cut", stor_code("cut.bin", b"\x00\x00\x03abc"), "451")
code("TYPE A"); code("STRU R"); code("MODE S")
expect("STOR A R S", stor("r.txt", b"one\xff\x01tw\xff\xffo\xff\x03")[0], "226")
code("STRU F"); code("TYPE E"); code("MODE C")
# "abc", 2 fillers (EBCDIC space 0x40), 'd' twice, EOF.
expect("STOR E F C", stor("c.txt", b"\x03\x81\x82\x83\xc2\x82\x84\x00\x40")[0], "226")
code("TYPE I"); code("MODE S")
expect("RANG", code("RANG 1 2"), "350")
expect("RANG then STOR", code("STOR ranged.bin"), "504")
ftp.quit()
print("ok")
"#;

fn ftplib_formats_on_the_wire(driver: Driver) {
    let python = require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    std::fs::write(root.path().join("rec.txt"), REC).unwrap();
    std::fs::write(root.path().join("runs.txt"), RUNS).unwrap();
    std::fs::write(root.path().join("zeros.bin"), ZEROS).unwrap();
    std::fs::write(root.path().join("marked.bin"), marked()).unwrap();
    std::fs::write(root.path().join("base.bin"), b"0123456789").unwrap();
    let script = work.path().join("formats.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let server = FtpServer::writable(driver, root.path());
    let done = run(
        Command::new(python)
            .arg(&script)
            .arg(server.port().to_string()),
        PEER_TIMEOUT,
    );
    done.assert_success("python3 ftplib data formats");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
    let stored = |name: &str| std::fs::read(root.path().join(name)).ok();
    // The marker block is skipped; the EOF block's data is the file's end.
    assert_eq!(stored("b.bin").as_deref(), Some(&b"abcde"[..]));
    // The uploads with two markers each, byte for byte.
    let up: Vec<u8> = (0..80005u32).map(|i| (i % 251) as u8).collect();
    assert!(stored("mb.bin").as_deref() == Some(&up[..]), "mb.bin");
    assert!(stored("mc.bin").as_deref() == Some(&up[..]), "mc.bin");
    assert_eq!(stored("base.bin").as_deref(), Some(&b"0123abc"[..]));
    // Records become lines; the doubled 0xFF one data byte.
    assert_eq!(stored("r.txt").as_deref(), Some(&b"one\ntw\xffo\n"[..]));
    assert_eq!(stored("c.txt").as_deref(), Some(&b"abc  dd"[..]));
    // Malformed or cut uploads are never published, nor is a refused one.
    for name in ["bad.bin", "cut.bin", "ranged.bin"] {
        assert_eq!(stored(name), None, "{name}");
    }
}

/// Extensions a client may find in FEAT (RFC 2389 and those it
/// registers), each with a command that shows whether the server has it:
/// understood (2yz, 3yz, or 550 for the missing file it names), or not
/// (500, 502, 501/504 for an argument it does not implement).
const EXTENSIONS: &[(&str, &str)] = &[
    ("AUTH", "AUTH TLS"),
    ("CLNT", "CLNT probe"),
    ("EPRT", "EPRT |1|127.0.0.1|40000|"),
    ("EPSV", "EPSV"),
    ("HASH", "HASH missing"),
    ("LANG", "LANG en"),
    ("MDTM", "MDTM missing"),
    ("MFCT", "MFCT 20200101000000 missing"),
    ("MFF", "MFF Modify=20200101000000; missing"),
    ("MFMT", "MFMT 20200101000000 missing"),
    ("MLST", "MLST missing"),
    ("MODE Z", "MODE Z"),
    ("PASV", "PASV"),
    ("RANG", "RANG 1 0"),
    ("REST", "REST 0"),
    ("SIZE", "SIZE missing"),
    ("UTF8", "OPTS UTF8 ON"),
    ("XCRC", "XCRC missing"),
    ("XMD5", "XMD5 missing"),
];

/// FEAT lists exactly the extensions the server answers, and nothing it
/// does not (TVFS has no command: its paths are what every command takes).
fn feat_lists_exactly_what_exists(driver: Driver) {
    let root = temp_dir("root");
    let server = FtpServer::read_only(driver, root.path());
    let mut control = server.login();
    let feat = control.expect("FEAT", 211);
    let mut listed: Vec<String> = feat.lines[1..feat.lines.len() - 1]
        .iter()
        .map(|line| {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default().to_owned();
            match (first.as_str(), words.next()) {
                ("MODE", Some(m)) => format!("MODE {m}"),
                _ => first,
            }
        })
        .collect();
    listed.sort();
    let mut answered: Vec<String> = vec!["TVFS".to_owned()];
    for (name, probe) in EXTENSIONS {
        let reply = control.cmd(probe);
        let understood = matches!(reply.code, 200..=399 | 550);
        if understood {
            answered.push((*name).to_owned());
        }
    }
    answered.sort();
    assert_eq!(listed, answered, "FEAT: {feat:?}");
}

/// lftp with `ftp:use-mode-z` (and a level) gets and puts a file in
/// MODE Z, byte for byte; its debug output shows it asked for MODE Z.
fn lftp_mode_z_get_and_put(driver: Driver) {
    let lftp = require_peer!("lftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    // A varied part, and a long run of zeros that inflates to far more
    // than each read's input (the inflater then holds output between reads).
    let mut file: Vec<u8> = (0..3_000_000u32)
        .map(|i| if i % 7 == 0 { (i % 251) as u8 } else { b'a' })
        .collect();
    file.resize(file.len() + (8 << 20), 0);
    std::fs::write(root.path().join("down.bin"), &file).unwrap();
    std::fs::write(work.path().join("up.bin"), &file).unwrap();
    let server = FtpServer::writable(driver, root.path());
    let done = run(
        Command::new(lftp)
            .current_dir(work.path())
            .arg("-d")
            .arg("-c")
            .arg(format!(
                "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 20; \
             set xfer:clobber yes; set ftp:use-mode-z true; set ftp:mode-z-level 9; \
             open -u anonymous,lftp@example.org ftp://127.0.0.1:{}; \
             get down.bin -o got.bin; put up.bin -o stored.bin",
                server.port()
            )),
        PEER_TIMEOUT,
    );
    done.assert_success("lftp MODE Z get and put");
    let debug = format!("{}{}", done.stderr, String::from_utf8_lossy(&done.stdout));
    let lines: Vec<&str> = debug.lines().map(str::trim_end).collect();
    let asked = lines.iter().position(|l| l.ends_with("---> MODE Z"));
    let asked = asked.unwrap_or_else(|| panic!("no MODE Z sent: {debug}"));
    assert!(
        lines[asked + 1..].iter().find(|l| l.contains("<--- ")) == Some(&"<--- 200 Mode set to Z."),
        "{debug}"
    );
    assert!(std::fs::read(work.path().join("got.bin")).unwrap() == file);
    assert!(std::fs::read(root.path().join("stored.bin")).unwrap() == file);
}

/// ferry's own client puts a file of more than two marker intervals in
/// MODE B and in MODE C: it sends a restart marker every 1 MiB, the
/// server answers each with its 110 (which the client reports at `-v`)
/// before the 226, and the file is stored byte for byte.
fn ferry_put_in_block_and_compressed_mode_gets_110s(driver: Driver) {
    let root = temp_dir("root");
    let work = temp_dir("work");
    let file = marked_file();
    std::fs::write(work.path().join("up.bin"), &file).unwrap();
    let server = FtpServer::writable(driver, root.path());
    for mode in ["block", "compressed"] {
        let name = format!("{mode}.bin");
        put_with_markers(work.path(), "up.bin", &server.url(&name), mode);
        let stored = std::fs::read(root.path().join(&name)).unwrap();
        assert!(stored == file, "{mode}: stored file differs");
    }
}

ferry_interop::driver_tests!(
    ferry_put_in_block_and_compressed_mode_gets_110s,
    ftplib_formats_on_the_wire,
    feat_lists_exactly_what_exists,
    lftp_mode_z_get_and_put
);
