//! PXE boot in a real firmware: a QEMU guest (TCG, no KVM) whose NIC runs
//! iPXE from its option ROM gets an address from QEMU's user-mode network
//! (slirp), loads PXELINUX from `ferry serve --tftp 127.0.0.1:69`, and
//! PXELINUX fetches its modules, looks for its config under every name it
//! knows, reads `pxelinux.cfg/default` and loads a 32 MiB kernel file.
//! Once ferry's log shows the whole kernel sent, the guest is killed.
//!
//! Why the boot file is a URL: slirp answers every TFTP packet sent to its
//! own address, 10.0.2.2:69, with its built-in server, and without its
//! `tftp=` option that server refuses everything (ERROR 2, which iPXE
//! shows as "Permission denied"); nothing reaches the host. So DHCP names
//! the boot file `tftp://127.0.0.1/pxelinux.0`: the guest sends to
//! 127.0.0.1:69 through its gateway, slirp relays that to the host's
//! loopback from a socket of its own, and PXELINUX takes its path prefix
//! (server included) from the boot file's name, so every later request
//! goes the same way. No packet leaves the machine.
//!
//! Each boot runs under each driver, with a transfer port per transfer
//! (the default) and with `--tftp-single-port`: slirp relays replies from
//! any port, so both must work. The boots share port 69 and so run one at
//! a time.
//!
//! The UEFI boot (OVMF) cannot go through slirp: the firmware's own PXE
//! client, and SYSLINUX's EFI build after it, ignore URLs and send every
//! request to the DHCP next server, which slirp always names as itself
//! (10.0.2.2) and answers with its own refusing server. So that guest gets
//! a tap device in a network namespace of its own, with dnsmasq as its
//! DHCP server (DHCP only, no DNS and no TFTP) and ferry on the tap's
//! address, port 69. The NIC has no option ROM, so OVMF's own network
//! stack boots: it probes the boot file's size (RRQ with tsize 0, the OACK,
//! then its ERROR 8), fetches `\EFI\BOOT\BOOTX64.EFI` (SYSLINUX's
//! `syslinux.efi`), which takes `\EFI\BOOT\` as its prefix and asks for
//! `\EFI\BOOT\ldlinux.e64`, its config names and the kernel: every name
//! with backslashes, served from `EFI/BOOT/` under the root. The namespace
//! and its tap vanish with the test's thread and its children.

use std::io::{ErrorKind, Read};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::{
    make_file, require_peer, run, skip_or_fail, temp_dir, Driver, Launched, Service,
};

ferry_interop::driver_tests!(bios_boot_separate_ports, bios_boot_single_port, uefi_boot);

/// Where PXE firmware sends its read requests; `ferry serve` listens here.
const TFTP_ADDR: &str = "127.0.0.1:69";

const PXELINUX: &str = "/usr/lib/PXELINUX/pxelinux.0";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
/// iPXE for QEMU's virtio NIC (Debian's `ipxe-qemu`): the option ROM
/// QEMU gives `virtio-net-pci` when none is named.
const IPXE_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// The kernel file: kernel-sized, known bytes.
const KERNEL: &str = "vmlinuz";
const KERNEL_LEN: usize = 32 * 1024 * 1024;

/// Printed by PXELINUX from `pxelinux.cfg/default`: the console's proof
/// that the config was read.
const MARKER: &str = "ferry-pxe: pxelinux.cfg/default read";

/// The guest's SMBIOS UUID, its NIC's MAC and the address slirp's DHCP
/// gives it, and the config names PXELINUX derives from them. The UUID
/// name has the first three fields byte-swapped: SMBIOS stores them
/// little-endian and PXELINUX prints the bytes in order.
const GUEST_UUID: &str = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";
const UUID_CONFIG: &str = "2e0c1f6a-4d3b-5f4e-8a9b-0c1d2e3f4a5b";
const GUEST_MAC: &str = "52:54:00:12:34:56";
const MAC_CONFIG: &str = "01-52-54-00-12-34-56";
/// 10.0.2.15 in hex; PXELINUX then drops one digit at a time.
const IP_CONFIG: &str = "0A00020F";

/// Longest one boot may take from power-on to the kernel fetched (12 to
/// 19 s here, most of it the kernel's 23,832 lock-step blocks through an
/// emulated NIC); four boots stay within 3 minutes.
const BOOT_DEADLINE: Duration = Duration::from_secs(45);

/// Port 69 is shared, and two emulated guests at once would starve each
/// other of the two cores: one boot at a time.
static PORT_69: Mutex<()> = Mutex::new(());

fn bios_boot_separate_ports(driver: Driver) {
    bios_boot(driver, &[]);
}

fn bios_boot_single_port(driver: Driver) {
    bios_boot(driver, &["--tftp-single-port"]);
}

fn bios_boot(driver: Driver, extra: &[&str]) {
    let qemu = require_peer!("qemu-system-x86_64");
    for file in [PXELINUX, LDLINUX, IPXE_ROM] {
        if !Path::new(file).is_file() {
            let _: Option<()> = skip_or_fail(&format!(
                "{file} is missing (Debian's pxelinux, syslinux-common and ipxe-qemu provide it)"
            ));
            return;
        }
    }
    let _port = PORT_69
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if port_69_unavailable() {
        return;
    }

    let root = temp_dir("pxe-root");
    let sizes = BIOS.lay_out(root.path());
    let server = Launched::start_on(Service::Tftp, driver, root.path(), TFTP_ADDR, extra);

    let scratch = temp_dir("pxe-guest");
    let serial = scratch.path().join("serial.log");
    let started = Instant::now();
    let mut guest = Guest::power_on(bios_guest(&qemu, &serial));
    let log = guest.wait_for_kernel(&server, &serial, KERNEL, BOOT_DEADLINE);
    let elapsed = started.elapsed();
    drop(guest);
    let kernel_line = log.lines().find(|l| l.contains("file=\"vmlinuz\""));
    eprintln!(
        "{driver} {extra:?}: power-on to kernel fetched in {elapsed:.1?}\n  {}",
        kernel_line.unwrap_or_default()
    );

    let console = console_text(&serial);
    assert!(
        console.contains("PXELINUX") && console.contains(MARKER),
        "the serial console does not show PXELINUX reading its config:\n{console}"
    );
    assert_boot_sequence(&log, &sizes);
}

/// False when port 69 can be bound; otherwise says why (skip, or fail).
fn port_69_unavailable() -> bool {
    match UdpSocket::bind(TFTP_ADDR) {
        Ok(_) => false,
        Err(e) if e.kind() == ErrorKind::AddrInUse => panic!(
            "{TFTP_ADDR} is taken by another program (`ss -ulpn 'sport = :69'` names it); \
             the PXE boot test serves the firmware there and needs it free"
        ),
        Err(e) => skip_or_fail::<()>(&format!(
            "cannot bind {TFTP_ADDR} ({e}): the PXE boot test needs root"
        ))
        .is_none(),
    }
}

/// What a SYSLINUX-family server holds: a loader and its core module
/// from Debian's packages, `pxelinux.cfg/default` and a kernel-sized file,
/// all in `dir` under the root, asked for by names that start with
/// `prefix`; and the address (in hex) whose config names the loader tries.
struct Syslinux {
    dir: &'static str,
    prefix: &'static str,
    loader: (&'static str, &'static str),
    module: (&'static str, &'static str),
    kernel_len: usize,
    seed: u64,
    ip_config: &'static str,
}

/// PXELINUX through iPXE, at the root.
const BIOS: Syslinux = Syslinux {
    dir: "",
    prefix: "",
    loader: (PXELINUX, "pxelinux.0"),
    module: (LDLINUX, "ldlinux.c32"),
    kernel_len: KERNEL_LEN,
    seed: 12,
    ip_config: IP_CONFIG,
};

impl Syslinux {
    /// The name the guest asks for `file` by.
    fn named(&self, file: &str) -> String {
        format!("{}{file}", self.prefix)
    }

    /// Lays the files out under `root` and returns each one's size under
    /// the name the guest asks for.
    fn lay_out(&self, root: &Path) -> Vec<(String, u64)> {
        let dir = root.join(self.dir);
        std::fs::create_dir_all(dir.join("pxelinux.cfg")).unwrap();
        let config = format!("SAY {MARKER}\nDEFAULT k\nLABEL k\n  LINUX {KERNEL}\n");
        std::fs::write(dir.join("pxelinux.cfg/default"), &config).unwrap();
        for (source, name) in [self.loader, self.module] {
            std::fs::copy(source, dir.join(name)).unwrap();
        }
        make_file(&dir, KERNEL, self.kernel_len, self.seed);
        [self.loader.1, self.module.1, "pxelinux.cfg/default", KERNEL]
            .into_iter()
            .map(|name| {
                let len = std::fs::metadata(dir.join(name)).unwrap().len();
                (self.named(name), len)
            })
            .collect()
    }

    /// The per-machine config names the loader tries before `default`,
    /// in order: UUID, MAC, then the hex address shortened a digit at a
    /// time. Each must be a miss.
    fn misses(&self) -> Vec<String> {
        let ip = self.ip_config;
        let mut names = vec![
            format!("pxelinux.cfg/{UUID_CONFIG}"),
            format!("pxelinux.cfg/{MAC_CONFIG}"),
        ];
        names.extend((0..ip.len()).map(|n| format!("pxelinux.cfg/{}", &ip[..ip.len() - n])));
        names.into_iter().map(|name| self.named(&name)).collect()
    }

    /// What the guest must fetch after `before`, in order: the loader and
    /// its module whole, every miss, then the default config and the
    /// kernel whole.
    fn expected(
        &self,
        sizes: &[(String, u64)],
        before: Vec<(String, Option<u64>)>,
    ) -> Vec<(String, Option<u64>)> {
        let sent = |name: &str| {
            let name = self.named(name);
            let len = sizes.iter().find(|(n, _)| *n == name).unwrap().1;
            (name, Some(len))
        };
        let mut expected = before;
        expected.extend([sent(self.loader.1), sent(self.module.1)]);
        expected.extend(self.misses().into_iter().map(|name| (name, None)));
        expected.extend([sent("pxelinux.cfg/default"), sent(KERNEL)]);
        expected
    }
}

/// Every transfer logged at info, each miss refused with ERROR 1 File
/// not found, every other one ok.
fn assert_outcomes(logged: &[Transfer], misses: &[String]) {
    for t in logged {
        assert_eq!(t.level, "INFO", "{t:?}");
        if misses.contains(&t.file) {
            assert!(
                t.outcome.starts_with("refused with error 1"),
                "{} should be ERROR 1 File not found: {t:?}",
                t.file
            );
        } else {
            assert_eq!(t.outcome, "ok", "{t:?}");
        }
    }
}

/// The BIOS guest: SeaBIOS, iPXE from the NIC's option ROM, slirp.
fn bios_guest(qemu: &Path, serial: &Path) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(["-machine", "accel=tcg,graphics=off", "-m", "256"])
        .args(["-nodefaults", "-display", "none", "-monitor", "none"])
        .args(["-uuid", GUEST_UUID])
        .args([
            "-netdev",
            "user,id=n0,bootfile=tftp://127.0.0.1/pxelinux.0",
            "-device",
        ])
        .arg(format!("virtio-net-pci,netdev=n0,mac={GUEST_MAC}"))
        .args(["-boot", "n", "-serial"])
        .arg(format!("file:{}", serial.display()));
    cmd
}

/// A QEMU guest booting from the network, killed when dropped.
struct Guest(Child);

impl Guest {
    fn power_on(mut qemu: Command) -> Guest {
        let child = qemu
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start qemu-system-x86_64");
        Guest(child)
    }

    /// Waits until ferry logs the kernel transfer's end and returns the
    /// server's log by then; fails if QEMU stops or the deadline passes.
    fn wait_for_kernel(
        &mut self,
        server: &Launched,
        serial: &Path,
        kernel: &str,
        limit: Duration,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let log = server.log();
            if transfers(&log).iter().any(|t| t.file == kernel) {
                return log;
            }
            if let Some(status) = self.0.try_wait().expect("wait for QEMU") {
                let stderr = self.0.stderr.take().map(read_all).unwrap_or_default();
                panic!(
                    "QEMU exited ({status}) before the kernel was sent: {stderr}\nconsole:\n{}\nferry:\n{log}",
                    console_text(serial)
                );
            }
            let console = console_text(serial);
            if Instant::now() >= deadline || console.contains("No bootable device") {
                panic!(
                    "no kernel transfer (deadline {limit:?})\nconsole:\n{console}\nferry:\n{log}"
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_all(mut from: impl Read) -> String {
    let mut text = String::new();
    let _ = from.read_to_string(&mut text);
    text
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The serial console as text, without the terminal escapes SeaBIOS and
/// iPXE send.
fn console_text(serial: &Path) -> String {
    let raw = std::fs::read(serial).unwrap_or_default();
    let mut text = Vec::with_capacity(raw.len());
    let mut bytes = raw.into_iter();
    while let Some(byte) = bytes.next() {
        match byte {
            // ESC [ parameters letter (or ESC and one more byte).
            0x1b => {
                if bytes.next() == Some(b'[') {
                    for b in bytes.by_ref() {
                        if b.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            b'\r' | 0x08 => {}
            b => text.push(b),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// One `tftp transfer` line of ferry's log.
#[derive(Debug)]
struct Transfer {
    /// The name as the client sent it (the log's escapes undone).
    file: String,
    options: String,
    bytes: Option<u64>,
    outcome: String,
    level: String,
}

/// Every `tftp transfer` line in `log`, in order.
fn transfers(log: &str) -> Vec<Transfer> {
    log.lines()
        .filter(|line| line.contains(" tftp transfer "))
        .map(|line| {
            let after = |key: &str| line.split_once(key).map(|(_, rest)| rest);
            let file = after(" file=\"")
                .and_then(|rest| rest.split_once('"'))
                .map_or("", |(file, _)| file)
                .replace("\\\\", "\\");
            let options = after(" options=\"")
                .and_then(|rest| rest.split_once('"'))
                .map_or("", |(options, _)| options)
                .to_owned();
            let bytes = after(" bytes=").and_then(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
            });
            let outcome = after(" outcome=")
                .unwrap_or("")
                .trim_matches('"')
                .to_owned();
            let level = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            Transfer {
                file,
                options,
                bytes,
                outcome,
                level,
            }
        })
        .collect()
}

/// What ferry must have logged, in order: PXELINUX and its module sent
/// whole, every per-machine config name a miss (ERROR 1), then the default
/// config and the kernel, byte counts equal to the files' sizes.
fn assert_boot_sequence(log: &str, sizes: &[(String, u64)]) {
    let logged = transfers(log);
    let seen: Vec<(String, Option<u64>)> =
        logged.iter().map(|t| (t.file.clone(), t.bytes)).collect();
    assert_eq!(
        seen,
        BIOS.expected(sizes, Vec::new()),
        "transfers in ferry's log:\n{log}"
    );
    assert_outcomes(&logged, &BIOS.misses());
}

// ---------------------------------------------------------------------------
// UEFI: OVMF's own PXE client on a tap device

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS.fd";
/// SYSLINUX for x86-64 UEFI (Debian's `syslinux-efi`), and its core module.
const SYSLINUX_EFI: &str = "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi";
const LDLINUX_E64: &str = "/usr/lib/syslinux/modules/efi64/ldlinux.e64";

/// The guest's link: a tap device in the test's own network namespace,
/// the host side at `UEFI_SERVER`, the guest given `UEFI_GUEST` by DHCP.
const TAP: &str = "ferrypxe0";
const UEFI_SERVER: &str = "10.77.0.1";
const UEFI_GUEST: &str = "10.77.0.15";
/// `UEFI_GUEST` in hex, as SYSLINUX names its config files.
const UEFI_IP_CONFIG: &str = "0A4D000F";
/// The boot file DHCP names: the removable-media path UEFI firmware uses,
/// backslashes and all.
const UEFI_BOOT_FILE: &str = "\\EFI\\BOOT\\BOOTX64.EFI";
/// SYSLINUX's prefix: the boot file's name up to its last separator.
const UEFI_PREFIX: &str = "\\EFI\\BOOT\\";
/// A kernel-sized file at lock-step 1408-byte blocks (what SYSLINUX asks).
const UEFI_KERNEL_LEN: usize = 20 * 1024 * 1024;
/// Firmware start-up under TCG is slower than SeaBIOS's (8 to 10 s here
/// before the first DHCP), then about 0.6 s per MiB of kernel: 23 to 25 s
/// in all.
const UEFI_DEADLINE: Duration = Duration::from_secs(90);

fn uefi_boot(driver: Driver) {
    let qemu = require_peer!("qemu-system-x86_64");
    let dnsmasq = require_peer!("dnsmasq");
    let ip = require_peer!("ip");
    for file in [OVMF_CODE, OVMF_VARS, SYSLINUX_EFI, LDLINUX_E64] {
        if !Path::new(file).is_file() {
            let _: Option<()> = skip_or_fail(&format!(
                "{file} is missing (Debian's ovmf, syslinux-efi and syslinux-common provide it)"
            ));
            return;
        }
    }
    let _one_guest = PORT_69
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A thread of its own: it moves into a new network namespace, and
    // everything it starts (ip, dnsmasq, ferry, QEMU) lives there too.
    let boot = thread::spawn(move || uefi_boot_in_own_network(driver, &qemu, &dnsmasq, &ip));
    if let Err(panic) = boot.join() {
        std::panic::resume_unwind(panic);
    }
}

fn uefi_boot_in_own_network(driver: Driver, qemu: &Path, dnsmasq: &Path, ip: &Path) {
    // SAFETY: only the network namespace is unshared; file descriptor
    // tables stay shared (no `FILES`), which is the one way unshare(2) can
    // break other threads' use of descriptors.
    let unshared = unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) };
    if let Err(e) = unshared {
        let _: Option<()> = skip_or_fail(&format!(
            "cannot make a network namespace ({e}): the UEFI boot test needs root"
        ));
        return;
    }
    let link = [
        vec!["tuntap", "add", "dev", TAP, "mode", "tap"],
        vec!["addr", "add", "10.77.0.1/24", "dev", TAP],
        vec!["link", "set", TAP, "up"],
    ];
    for args in link {
        run(Command::new(ip).args(&args), Duration::from_secs(10))
            .assert_success(&format!("ip {}", args.join(" ")));
    }

    let root = temp_dir("uefi-root");
    let sizes = UEFI.lay_out(root.path());
    let scratch = temp_dir("uefi-guest");
    let _dhcp = Dhcp::start(dnsmasq, scratch.path());
    let server = Launched::start_on(
        Service::Tftp,
        driver,
        root.path(),
        &format!("{UEFI_SERVER}:69"),
        &[],
    );

    let serial = scratch.path().join("serial.log");
    let vars = scratch.path().join("OVMF_VARS.fd");
    std::fs::copy(OVMF_VARS, &vars).unwrap();
    let kernel = format!("{UEFI_PREFIX}{KERNEL}");
    let started = Instant::now();
    let mut guest = Guest::power_on(uefi_guest(qemu, &vars, &serial));
    let log = guest.wait_for_kernel(&server, &serial, &kernel, UEFI_DEADLINE);
    let elapsed = started.elapsed();
    drop(guest);
    eprintln!("{driver} UEFI: power-on to kernel fetched in {elapsed:.1?}");

    let console = console_text(&serial);
    assert!(
        console.contains(MARKER),
        "the serial console does not show SYSLINUX reading its config:\n{console}"
    );
    assert_uefi_boot_sequence(&log, &sizes);
}

/// SYSLINUX's EFI build through OVMF's own PXE client, under `EFI/BOOT/`
/// and asked for by backslashed names.
const UEFI: Syslinux = Syslinux {
    dir: "EFI/BOOT",
    prefix: UEFI_PREFIX,
    loader: (SYSLINUX_EFI, "BOOTX64.EFI"),
    module: (LDLINUX_E64, "ldlinux.e64"),
    kernel_len: UEFI_KERNEL_LEN,
    seed: 13,
    ip_config: UEFI_IP_CONFIG,
};

/// The UEFI guest: OVMF, a virtio NIC without option ROM (so the
/// firmware's own network stack boots), on the tap device.
fn uefi_guest(qemu: &Path, vars: &Path, serial: &Path) -> Command {
    let mut cmd = Command::new(qemu);
    cmd.args(["-machine", "q35,accel=tcg", "-m", "256"])
        .args(["-nodefaults", "-display", "none", "-monitor", "none"])
        .args(["-uuid", GUEST_UUID])
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
        ))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,unit=1,file={}",
            vars.display()
        ))
        .arg("-netdev")
        .arg(format!("tap,id=n0,ifname={TAP},script=no,downscript=no"))
        .arg("-device")
        .arg(format!("virtio-net-pci,netdev=n0,mac={GUEST_MAC},romfile="))
        .args(["-boot", "n", "-serial"])
        .arg(format!("file:{}", serial.display()));
    cmd
}

/// dnsmasq as the tap's DHCP server only (`--port=0`: no DNS; no TFTP),
/// killed when dropped.
struct Dhcp(Child);

impl Dhcp {
    fn start(dnsmasq: &Path, scratch: &Path) -> Dhcp {
        let log = std::fs::File::create(scratch.join("dnsmasq.log")).unwrap();
        let child = Command::new(dnsmasq)
            .args(["--keep-in-foreground", "--conf-file=/dev/null", "--port=0"])
            .args(["--interface", TAP, "--bind-interfaces"])
            .arg(format!(
                "--dhcp-range={UEFI_GUEST},{UEFI_GUEST},255.255.255.0,1h"
            ))
            .arg(format!("--dhcp-boot={UEFI_BOOT_FILE}"))
            .arg(format!(
                "--dhcp-leasefile={}",
                scratch.join("leases").display()
            ))
            .arg("--pid-file=")
            .arg("--log-facility=-")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq");
        Dhcp(child)
    }
}

impl Drop for Dhcp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What ferry must have logged, in order: the firmware's size probe of the
/// boot file (the OACK carries the size, then the firmware's ERROR 8,
/// logged at info as declined options), the boot file and SYSLINUX's
/// core module sent whole, every per-machine
/// config name a miss (ERROR 1), then the default config and the kernel.
fn assert_uefi_boot_sequence(log: &str, sizes: &[(String, u64)]) {
    let logged = transfers(log);
    let seen: Vec<(String, Option<u64>)> =
        logged.iter().map(|t| (t.file.clone(), t.bytes)).collect();
    let probe = vec![(UEFI_BOOT_FILE.to_owned(), Some(0))];
    assert_eq!(
        seen,
        UEFI.expected(sizes, probe),
        "transfers in ferry's log:\n{log}"
    );

    let probe = &logged[0];
    let boot_len = sizes.iter().find(|(n, _)| n == UEFI_BOOT_FILE).unwrap().1;
    assert!(
        probe.options.contains(&format!("tsize={boot_len}"))
            && probe.outcome.starts_with("options declined with error 8"),
        "the size probe should get the size in the OACK, then end with the firmware's ERROR 8: {probe:?}"
    );
    assert_eq!(probe.level, "INFO", "{probe:?}\n{log}");
    assert_outcomes(&logged[1..], &UEFI.misses());
}
