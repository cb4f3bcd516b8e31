#!/usr/bin/env bash
# PXE boot, power-on to kernel fetched: a QEMU guest (TCG) whose virtio
# NIC runs iPXE boots PXELINUX over TFTP from 127.0.0.1:69, served in turn
# by ferry (release build; mio and blocking drivers, a port per transfer)
# and by tftpd-hpa (`in.tftpd -L -s DIR -a 127.0.0.1:69`), in one run.
#
#   scripts/bench-pxe.sh
#
# The guest fetches pxelinux.0, ldlinux.c32, misses its UUID, MAC and
# hex-IP config names, reads pxelinux.cfg/default and loads a KERNEL_MIB
# file of known bytes. Times come from the serial console, read every
# 10 ms: "config" is power-on to the config's SAY line, "kernel" the config
# to PXELINUX's "Loading vmlinuz... ok", "total" power-on to that "ok".
# QEMU is killed there. Each cell is the median of RUNS boots; the servers
# take turns boot by boot. As in the test (tests/pxe_boot.rs), DHCP names
# the boot file tftp://127.0.0.1/pxelinux.0, because slirp answers
# 10.0.2.2:69 itself.
#
# Knobs (environment):
#   KERNEL_MIB=32  RUNS=3  DEADLINE=120 (seconds one boot may take)
#   SERVERS="ferry-mio ferry-blocking tftpd-hpa"
#   FERRY=path     use this ferry binary instead of building one
#
# Needs root (port 69), qemu-system-x86, ipxe-qemu, pxelinux,
# syslinux-common and tftpd-hpa. Prints a markdown table on stdout,
# progress on stderr. Run it by hand on an otherwise idle machine; it is
# not part of CI.
source "$(dirname "$0")/bench-lib.sh"

KERNEL_MIB=${KERNEL_MIB:-32}
RUNS=${RUNS:-3}
DEADLINE=${DEADLINE:-120}
SERVERS=${SERVERS:-ferry-mio ferry-blocking tftpd-hpa}

[ "$(id -u)" = 0 ] || die "run as root: the servers listen on port 69"
QEMU=$(command -v qemu-system-x86_64) || die "missing qemu-system-x86_64 (apt-get install qemu-system-x86)"
TFTPD=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
[ -x "$TFTPD" ] || die "missing in.tftpd (apt-get install tftpd-hpa)"
for f in /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 \
  /usr/lib/ipxe/qemu/efi-virtio.rom; do
  [ -f "$f" ] || die "missing $f (apt-get install pxelinux syslinux-common ipxe-qemu)"
done
if python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", 69))' 2>/dev/null; then :; else
  die "127.0.0.1:69 is taken (ss -ulpn 'sport = :69' names the program)"
fi

root=$work/root
mkdir -p "$root/pxelinux.cfg"
cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$root/"
printf 'SAY ferry-pxe: pxelinux.cfg/default read\nDEFAULT k\nLABEL k\n  LINUX vmlinuz\n' \
  >"$root/pxelinux.cfg/default"
head -c $((KERNEL_MIB * 1024 * 1024)) /dev/urandom >"$root/vmlinuz"
chmod -R a+rX "$root"

# boot SERIAL_FILE: one guest boot; prints "config kernel total" seconds,
# or FAIL.
boot() {
  python3 - "$QEMU" "$1" "$DEADLINE" <<'EOF'
import re, subprocess, sys, time
qemu, serial, deadline = sys.argv[1], sys.argv[2], float(sys.argv[3])
cmd = [qemu, "-machine", "accel=tcg,graphics=off", "-m", "256",
       "-nodefaults", "-display", "none", "-monitor", "none",
       "-uuid", "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
       "-netdev", "user,id=n0,bootfile=tftp://127.0.0.1/pxelinux.0",
       "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
       "-boot", "n", "-serial", "file:" + serial]
escapes = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b.|[\r\x08]")
t0 = time.monotonic()
guest = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
config = None
result = "FAIL"
try:
    while time.monotonic() - t0 < deadline and guest.poll() is None:
        try:
            with open(serial, "rb") as f:
                text = escapes.sub(b"", f.read())
        except FileNotFoundError:
            text = b""
        now = time.monotonic() - t0
        if config is None and b"ferry-pxe: pxelinux.cfg/default read" in text:
            config = now
        if config is not None and b"Loading vmlinuz... ok" in text:
            result = "%.2f %.2f %.2f" % (config, now - config, now)
            break
        if b"No bootable device" in text:
            break
        time.sleep(0.01)
finally:
    guest.kill()
    guest.wait()
print(result)
EOF
}

# start_server NAME: on 127.0.0.1:69; sets server_pid.
start_server() {
  local name=$1
  case $name in
    ferry-*)
      "$FERRY" serve --root "$root" --tftp 127.0.0.1:69 --no-ftp --driver "${name#ferry-}" \
        2>"$work/$name.log" &
      ;;
    tftpd-hpa)
      "$TFTPD" -L -s "$root" -a 127.0.0.1:69 </dev/null >/dev/null 2>"$work/$name.log" &
      ;;
    *) die "unknown server $name" ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
  tftp_wait_up 69
}

declare -A results
for run in $(seq "$RUNS"); do
  for name in $SERVERS; do
    start_server "$name"
    r=$(boot "$work/serial-$name-$run.log")
    stop "$server_pid"
    log "run $run $name: $r (config kernel total, s)"
    [ "$r" != FAIL ] || die "$name: the boot failed; console in $work/serial-$name-$run.log: $(tr -d '\r' <"$work/serial-$name-$run.log" | tail -5)"
    results[$name]+="$r"$'\n'
    if [ "$name" != tftpd-hpa ]; then
      line=$(grep "file=\"vmlinuz\"" "$work/$name.log" || true)
      case $line in
        *" bytes=$((KERNEL_MIB * 1024 * 1024)) "*'outcome="ok"'*) ;;
        *) die "$name did not log the whole kernel sent: $line" ;;
      esac
      log "  $name's log: ${line#*options=}"
    fi
  done
done

col() { printf '%s' "${results[$1]}" | awk -v c="$2" 'NF { print $c }' | median; }
printf '## PXE boot, power-on to a %s MiB kernel fetched (seconds, median of %s)\n\n' "$KERNEL_MIB" "$RUNS"
printf '| server | power-on to config | config to kernel loaded | power-on to kernel loaded | kernel MB/s |\n'
printf '|---|---:|---:|---:|---:|\n'
for name in $SERVERS; do
  k=$(col "$name" 2)
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$(col "$name" 1)" "$k" "$(col "$name" 3)" \
    "$(awk -v s="$k" -v m="$KERNEL_MIB" 'BEGIN { printf "%.1f", m * 1048576 / s / 1e6 }')"
done
printf '\n%s; QEMU %s, TCG\n' "$(machine)" "$("$QEMU" --version | awk 'NR == 1 { print $4 }')"
