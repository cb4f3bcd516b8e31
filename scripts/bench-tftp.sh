#!/usr/bin/env bash
# Loopback TFTP download benchmark: ferry's server (release build, blocking
# driver) against tftpd-hpa and atftpd, with the same clients, in one run.
#
#   scripts/bench-tftp.sh            full table, then ferry's stall sweep
#
# Knobs (environment):
#   SIZE_MIB=64     file size
#   RUNS=3          runs per cell; the table shows the median
#   TIMEOUT=60      seconds one download may take before it counts as STALL
#   SWEEP=1         0 skips the (blksize x windowsize) stall sweep
#   SWEEP_ATFTPD=0  1 also sweeps atftpd (its stalls cost TIMEOUT each)
#
# Prints markdown tables (MB/s, 1 MB = 10^6 bytes) on stdout, progress on
# stderr. Every download is checked byte for byte against the source file.
# Run it by hand on an otherwise idle machine; it is not part of CI.
#
# Needs curl, atftp, in.tftpd (tftpd-hpa) and root (tftpd-hpa and atftpd
# switch user). atftpd conflicts with tftpd-hpa as a Debian package, so
# when it is not installed it is unpacked into target/bench-peers/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

SIZE_MIB=${SIZE_MIB:-64}
RUNS=${RUNS:-3}
TIMEOUT=${TIMEOUT:-60}
SWEEP=${SWEEP:-1}
SWEEP_ATFTPD=${SWEEP_ATFTPD:-0}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: tftpd-hpa and atftpd switch to user nobody"
for p in curl atftp timeout cmp; do
  command -v "$p" >/dev/null || die "missing $p"
done
TFTPD=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
[ -x "$TFTPD" ] || die "missing in.tftpd (apt-get install tftpd-hpa)"

# --- atftpd ------------------------------------------------------------------
ATFTPD=$(command -v atftpd || true)
if [ -z "$ATFTPD" ]; then
  peers=$repo/target/bench-peers
  ATFTPD=$peers/usr/sbin/atftpd
  if [ ! -x "$ATFTPD" ]; then
    log "unpacking atftpd into $peers (it conflicts with tftpd-hpa as a package)"
    mkdir -p "$peers/deb"
    (cd "$peers/deb" && { apt-get download atftpd 2>/dev/null ||
      { apt-get update -qq && apt-get download atftpd; }; })
    dpkg-deb -x "$peers"/deb/atftpd_*.deb "$peers"
  fi
fi

# --- ferry -------------------------------------------------------------------
log "building ferry (release)"
cargo build --release --quiet -p ferry
FERRY=$repo/target/release/ferry

# --- files -------------------------------------------------------------------
# tmpfs when there is one, so the disk does not take part.
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/ferry-bench.XXXXXX")
root=$work/root
mkdir -p "$root"
chmod 755 "$work" "$root"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$root/bench.bin"
chmod 644 "$root/bench.bin"
bytes=$(stat -c %s "$root/bench.bin")
out=$work/out.bin

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A server is up once it answers a request for a missing file (curl 68).
wait_up() {
  local port=$1 rc
  for _ in $(seq 100); do
    rc=0
    curl -s --max-time 1 -o /dev/null "tftp://127.0.0.1:$port/absent-probe" || rc=$?
    [ "$rc" = 68 ] && return 0
    sleep 0.1
  done
  die "server on port $port did not come up"
}

# --- servers -----------------------------------------------------------------
"$FERRY" serve -q --root "$root" --tftp 127.0.0.1:0 --no-ftp --driver blocking 2>"$work/ferry.log" &
pids+=($!)
for _ in $(seq 100); do
  ferry_port=$(sed -n 's/^ferry: tftp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/ferry.log")
  [ -n "$ferry_port" ] && break
  sleep 0.1
done
[ -n "${ferry_port:-}" ] || die "ferry did not start: $(cat "$work/ferry.log")"

hpa_port=$(free_port)
# -B 65464: tftpd-hpa caps blksize lower by default. It drops to nobody.
"$TFTPD" -L -a "127.0.0.1:$hpa_port" -B 65464 -s "$root" &
pids+=($!)

atftpd_port=$(free_port)
"$ATFTPD" --daemon --no-fork --port "$atftpd_port" --bind-address 127.0.0.1 \
  --user nobody --group nogroup --logfile /dev/null "$root" &
pids+=($!)

wait_up "$ferry_port"
wait_up "$hpa_port"
wait_up "$atftpd_port"
log "ferry :$ferry_port  tftpd-hpa :$hpa_port  atftpd :$atftpd_port  file ${SIZE_MIB} MiB in $root"

# --- measuring ---------------------------------------------------------------
# One download; prints MB/s, STALL (timed out) or FAIL (error or wrong bytes).
once() {
  local port=$1 client=$2 blksize=$3 windowsize=$4 rc=0 t0 t1
  rm -f "$out"
  t0=$(date +%s%N)
  case $client in
    curl)
      timeout "$TIMEOUT" curl -s -o "$out" --tftp-blksize "$blksize" \
        "tftp://127.0.0.1:$port/bench.bin" || rc=$?
      ;;
    atftp)
      timeout "$TIMEOUT" atftp --option "blksize $blksize" --option "windowsize $windowsize" \
        -g -r bench.bin -l "$out" 127.0.0.1 "$port" >/dev/null 2>&1 || rc=$?
      ;;
  esac
  t1=$(date +%s%N)
  if [ "$rc" = 124 ]; then
    echo STALL
  elif [ "$rc" != 0 ] || ! cmp -s "$out" "$root/bench.bin"; then
    echo FAIL
  else
    awk -v b="$bytes" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", b / (ns / 1e9) / 1e6 }'
  fi
}

# Median of RUNS downloads; a STALL or FAIL ends the cell at once.
median() {
  local results=() r
  for _ in $(seq "$RUNS"); do
    r=$(once "$@")
    case $r in STALL | FAIL) echo "$r"; return ;; esac
    results+=("$r")
  done
  printf '%s\n' "${results[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cell() {
  local name=$1; shift
  local r
  r=$(median "$@")
  log "$name $*: $r"
  printf '%s' "$r"
}

printf '## TFTP download, %s MiB on loopback (MB/s, median of %s)\n\n' "$SIZE_MIB" "$RUNS"
printf '| client | blksize | windowsize | ferry | tftpd-hpa | atftpd |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for blksize in 512 1468 8192 65464; do
  f=$(cell ferry "$ferry_port" curl "$blksize" 1)
  h=$(cell tftpd-hpa "$hpa_port" curl "$blksize" 1)
  a=$(cell atftpd "$atftpd_port" curl "$blksize" 1)
  printf '| curl | %s | 1 | %s | %s | %s |\n' "$blksize" "$f" "$h" "$a"
done
for windowsize in 8 16 32; do
  f=$(cell ferry "$ferry_port" atftp 1468 "$windowsize")
  a=$(cell atftpd "$atftpd_port" atftp 1468 "$windowsize")
  # tftpd-hpa ignores windowsize: it would measure lock-step again.
  printf '| atftp | 1468 | %s | %s | n/a | %s |\n' "$windowsize" "$f" "$a"
done

sweep() {
  local name=$1 port=$2 w
  printf '\n## Stall sweep: %s, atftp client, one %s MiB download per pair (MB/s; STALL = over %ss)\n\n' \
    "$name" "$SIZE_MIB" "$TIMEOUT"
  printf '| blksize | w=1 | w=4 | w=8 | w=16 | w=32 | w=64 |\n'
  printf '|---:|---:|---:|---:|---:|---:|---:|\n'
  for blksize in 512 1468 8192 65464; do
    printf '| %s |' "$blksize"
    for w in 1 4 8 16 32 64; do
      r=$(once "$port" atftp "$blksize" "$w")
      log "sweep $name $blksize/$w: $r"
      printf ' %s |' "$r"
    done
    printf '\n'
  done
}

if [ "$SWEEP" = 1 ]; then
  sweep ferry "$ferry_port"
  if [ "$SWEEP_ATFTPD" = 1 ]; then sweep atftpd "$atftpd_port"; fi
fi
printf '\n%s, %s, %s cores\n' "$(uname -sr)" "$("$FERRY" --version)" "$(nproc)"
