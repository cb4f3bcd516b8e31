#!/usr/bin/env bash
# Run every test: unit, property, in-process and interop tests against the
# real peers (curl, tftp-hpa, atftp, tftpd-hpa), which are installed from
# Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null || need+=(curl)
command -v tftp >/dev/null || need+=(tftp-hpa)
command -v atftp >/dev/null || need+=(atftp)
[ -x /usr/sbin/in.tftpd ] || need+=(tftpd-hpa)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Interop tests must not skip when a peer is missing: that is a failure here.
export FERRY_INTEROP=1
cargo build --quiet -p ferry
cargo test --workspace
