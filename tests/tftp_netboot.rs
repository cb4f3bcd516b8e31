//! The names netboot clients send, on both drivers: UEFI firmware's
//! `\EFI\BOOT\bootx64.efi`, PXELINUX's `pxelinux.cfg\default`, and a
//! leading `/` (`/pxelinux.0`), served from the files they mean, plainly
//! and through a `--tftp-map` file, fetched by tftp-hpa and curl; and no
//! spelling of `..` getting out of the root.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use ferry_interop::tftp::tftp_hpa;
use ferry_interop::{
    assert_file_eq, ferry, make_file, require_peer, run, temp_dir, Driver, FerryServer,
    PEER_TIMEOUT,
};

ferry_interop::driver_tests!(
    backslashes_and_leading_slashes_name_files_under_the_root,
    no_spelling_of_dot_dot_leaves_the_root,
    a_map_file_rewrites_firmware_names,
);

/// `tftp-hpa get NAME` into `local`; success means no error on stderr.
fn tftp_hpa_get(server: &FerryServer, name: &str, local: &Path) {
    let done = run(
        &mut tftp_hpa(server.port(), &["get", name, local.to_str().unwrap()]),
        PEER_TIMEOUT,
    );
    done.assert_success("tftp-hpa get");
    assert!(
        done.stderr.is_empty(),
        "tftp-hpa get {name:?}: {}",
        done.stderr
    );
}

/// curl's TFTP path is URL-decoded, so `%5C` sends a backslash.
fn curl_get(server: &FerryServer, url_path: &str, local: &Path) {
    run(
        std::process::Command::new("curl")
            .args(["-sS", "--fail", "-o"])
            .arg(local)
            .arg(server.url(url_path)),
        PEER_TIMEOUT,
    )
    .assert_success("curl get");
}

/// One RRQ (no options) from a fresh port; the first answer and where it
/// came from.
fn first_answer(server: SocketAddr, name: &str) -> (Vec<u8>, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(name.as_bytes());
    rrq.push(0);
    rrq.extend_from_slice(b"octet\0");
    socket.send_to(&rrq, server).unwrap();
    let mut buf = [0u8; 1024];
    let (len, from) = socket.recv_from(&mut buf).expect("an answer to the RRQ");
    (buf[..len].to_vec(), from)
}

fn error_packet(code: u16, message: &str) -> Vec<u8> {
    let mut packet = vec![0, 5];
    packet.extend_from_slice(&code.to_be_bytes());
    packet.extend_from_slice(message.as_bytes());
    packet.push(0);
    packet
}

/// A PXE server's tree: the BIOS loader, its config, a UEFI loader.
struct BootTree {
    pxelinux: Vec<u8>,
    config: Vec<u8>,
    efi: Vec<u8>,
}

fn boot_tree(root: &Path, efi_dir: &str, bios_dir: &str) -> BootTree {
    fs::create_dir_all(root.join(efi_dir)).unwrap();
    fs::create_dir_all(root.join(bios_dir).join("pxelinux.cfg")).unwrap();
    BootTree {
        pxelinux: make_file(&root.join(bios_dir), "pxelinux.0", 46_000, 1),
        config: make_file(&root.join(bios_dir), "pxelinux.cfg/default", 700, 2),
        // An odd size over several blocks, as a loader is.
        efi: make_file(&root.join(efi_dir), "bootx64.efi", 150_001, 3),
    }
}

fn backslashes_and_leading_slashes_name_files_under_the_root(driver: Driver) {
    require_peer!("tftp");
    require_peer!("curl");
    let dir = temp_dir("netboot-plain");
    let root = dir.path().join("root");
    let tree = boot_tree(&root, "EFI/BOOT", "");
    let out = temp_dir("netboot-plain-out");
    let server = FerryServer::read_only(driver, &root);

    let got = out.path().join("efi");
    tftp_hpa_get(&server, r"\EFI\BOOT\bootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);
    let got = out.path().join("cfg");
    tftp_hpa_get(&server, r"pxelinux.cfg\default", &got);
    assert_file_eq(&got, &tree.config);
    let got = out.path().join("pxe");
    tftp_hpa_get(&server, "/pxelinux.0", &got);
    assert_file_eq(&got, &tree.pxelinux);
    let got = out.path().join("mixed");
    tftp_hpa_get(&server, r"/EFI\BOOT/bootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);

    let got = out.path().join("curl-efi");
    curl_get(&server, "%5CEFI%5CBOOT%5Cbootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);
    let got = out.path().join("curl-cfg");
    curl_get(&server, "pxelinux.cfg%5Cdefault", &got);
    assert_file_eq(&got, &tree.config);
    // curl drops the URL's first `/`; the second reaches the server.
    let got = out.path().join("curl-pxe");
    curl_get(&server, "/pxelinux.0", &got);
    assert_file_eq(&got, &tree.pxelinux);
}

fn no_spelling_of_dot_dot_leaves_the_root(driver: Driver) {
    let dir = temp_dir("netboot-escape");
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("boot")).unwrap();
    make_file(dir.path(), "secret", 100, 9);
    make_file(&root, "x", 100, 10);
    let server = FerryServer::read_only(driver, &root);
    let denied = error_packet(2, "Access violation");
    for name in [
        r"..\secret",
        r"\..\secret",
        r"/..\secret",
        r"boot\..\..\secret",
        r"boot/..\..\secret",
        r"..\..\etc\passwd",
        r"\..\x",
        r"..\root\x",
    ] {
        let (answer, from) = first_answer(server.addr(), name);
        assert_eq!(answer, denied, "{name:?}");
        assert_eq!(
            from,
            server.addr(),
            "{name:?}: refused from the request port"
        );
    }
}

fn a_map_file_rewrites_firmware_names(driver: Driver) {
    require_peer!("tftp");
    require_peer!("curl");
    let dir = temp_dir("netboot-map");
    let root = dir.path().join("root");
    let tree = boot_tree(&root, "uefi", "bios");
    make_file(&root, "private.key", 10, 11);
    let map = dir.path().join("netboot.map");
    fs::write(
        &map,
        concat!(
            "# UEFI firmware asks for \\EFI\\BOOT\\..., in any case\n",
            "rgi ^[\\\\/]?efi[\\\\/]boot[\\\\/]   uefi/\n",
            "\n",
            "# BIOS clients: everything PXELINUX asks for is under bios/\n",
            "re  ^/?pxelinux\\.0$           bios/pxelinux.0\n",
            "re  ^pxelinux\\.cfg\\\\(.*)$     bios/pxelinux.cfg/\\1  # back reference\n",
            "a   ^private\\.\n",
        ),
    )
    .unwrap();
    let server = FerryServer::start(driver, &root, &["-v", "--tftp-map", map.to_str().unwrap()]);
    let out = temp_dir("netboot-map-out");

    let got = out.path().join("efi");
    tftp_hpa_get(&server, r"\EFI\BOOT\bootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);
    let got = out.path().join("efi-lower");
    tftp_hpa_get(&server, "/efi/boot/bootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);
    let got = out.path().join("cfg");
    tftp_hpa_get(&server, r"pxelinux.cfg\default", &got);
    assert_file_eq(&got, &tree.config);
    let got = out.path().join("pxe");
    tftp_hpa_get(&server, "/pxelinux.0", &got);
    assert_file_eq(&got, &tree.pxelinux);
    let got = out.path().join("curl-efi");
    curl_get(&server, "%5CEFI%5CBOOT%5Cbootx64.efi", &got);
    assert_file_eq(&got, &tree.efi);
    let got = out.path().join("curl-pxe");
    curl_get(&server, "pxelinux.0", &got);
    assert_file_eq(&got, &tree.pxelinux);

    // The map's `a` rule, and a name no rule maps: the root decides.
    let (answer, _) = first_answer(server.addr(), "private.key");
    assert_eq!(answer, error_packet(2, "Access violation"));
    let (answer, _) = first_answer(server.addr(), r"\EFI\BOOT\missing.efi");
    assert_eq!(answer, error_packet(1, "File not found"));

    let log = server.log();
    assert!(
        log.contains(r"tftp map rewrite line=2 from=\EFI\BOOT\bootx64.efi to=uefi/bootx64.efi"),
        "each rewrite is logged at debug level:\n{log}"
    );
    assert!(log.contains("to=bios/pxelinux.cfg/default"), "{log}");
}

#[test]
fn a_bad_map_file_stops_the_server_with_its_line() {
    let dir = temp_dir("netboot-bad-map");
    let map = dir.path().join("bad.map");
    fs::write(&map, "# fine\nr ^a b\nrx ^c d\n").unwrap();
    let done = run(
        ferry()
            .args(["serve", "--no-ftp", "--tftp", "127.0.0.1:0", "--root"])
            .arg(dir.path())
            .arg("--tftp-map")
            .arg(&map),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    let expected = format!("ferry: {}:3: unknown flag 'x'", map.display());
    assert!(done.stderr.contains(&expected), "{}", done.stderr);
    assert!(!done.stderr.contains("listening"), "{}", done.stderr);
}
