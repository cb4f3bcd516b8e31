#!/usr/bin/env bash
# CPU per block of a TFTP server during one atftp download (perf stat of
# the server's process while the download runs): ferry on each driver and
# atftpd, in turn, ROUNDS times, on the same file.
#
#   sudo scripts/bench-tftp-cpu.sh                  # 1468 x 1, 5 rounds
#   sudo BLK=65464 W=4 ROUNDS=3 scripts/bench-tftp-cpu.sh
#
# Needs perf (linux-perf), atftp, and atftpd (unpacked into
# target/bench-peers/ by scripts/bench-tftp.sh). Prints one line per
# download: MB/s, the server's task-clock, its CPU per block and context
# switches per block. CPU time moves less with the machine's load than
# wall time, so it is the figure to compare servers by on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BLK=${BLK:-1468} W=${W:-1} ROUNDS=${ROUNDS:-5} SIZE_MIB=${SIZE_MIB:-64}
ATFTPD=$(command -v atftpd || echo "$PWD/target/bench-peers/usr/sbin/atftpd")
[ -x "$ATFTPD" ] || { echo "missing atftpd: run scripts/bench-tftp.sh once" >&2; exit 1; }
cargo build --release --quiet -p ferry
FERRY=$PWD/target/release/ferry
work=$(mktemp -d /dev/shm/ferry-cpu.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root"; chmod 755 "$work" "$work/root"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/root/bench.bin"
chmod 644 "$work/root/bench.bin"
bytes=$((SIZE_MIB << 20)) blocks=$((bytes / BLK + 1))
for ((round = 0; round < ROUNDS; round++)); do
  for who in ferry-mio ferry-blocking atftpd; do
    port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    case $who in
      ferry-*) "$FERRY" serve -q --root "$work/root" --tftp "127.0.0.1:$port" --no-ftp --driver "${who#ferry-}" 2>/dev/null & ;;
      atftpd) "$ATFTPD" --daemon --no-fork --port "$port" --bind-address 127.0.0.1 --user nobody \
        --group nogroup --logfile /dev/null "$work/root" & ;;
    esac
    pid=$!
    sleep 0.5
    perf stat -x, -e task-clock,context-switches -p "$pid" -o "$work/perf.txt" &
    perf_pid=$!
    sleep 0.2
    t0=$(date +%s%N)
    atftp --option "blksize $BLK" --option "windowsize $W" -g -r bench.bin -l "$work/out.bin" 127.0.0.1 "$port" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    ok=$(cmp -s "$work/out.bin" "$work/root/bench.bin" && echo ok || echo FAIL)
    awk -F, -v who="$who" -v ok="$ok" -v mbs=$((bytes * 1000 / (t1 - t0))) -v b="$blocks" '
      $3 == "task-clock" { tc = $1 } $3 == "context-switches" { cs = $1 }
      END { printf "%-15s %s %4d MB/s  cpu %.0f ms  %.2f us/block  cs/block %.2f\n", who, ok, mbs, tc, tc * 1000 / b, cs / b }' "$work/perf.txt"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
