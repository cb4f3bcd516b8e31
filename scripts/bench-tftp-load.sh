#!/usr/bin/env bash
# Many TFTP downloads at once: ferry's mio driver (one event loop), ferry's
# blocking driver (a thread per transfer) and tftpd-hpa (a process per
# transfer), serving the same files to the same load generator, one server
# after the other in one run.
#
#   scripts/bench-tftp-load.sh
#
# The load generator (crates/ferry-mio/examples/tftp_load.rs) runs COUNT
# tftp-proto client machines on one mio loop, sends every request at once,
# and compares each download byte for byte with the file on disk. It reports
# aggregate throughput (all bytes / time from the first request to the last
# transfer's end) and the fastest, median and slowest transfer. The server's
# CPU time comes from a cgroup of its own; its peak thread and process count
# is sampled twice a second.
#
# Knobs (environment):
#   COUNT=1000        downloads at once, each of a distinct file
#   SIZE_KIB=1024     size of each file
#   BLKSIZES="1468"   block sizes to run (e.g. "512 1468"); 512 sends no option
#   RUNS=1            runs per cell; the table shows the median (by MB/s)
#   SERVERS="mio blocking hpa"
#   MIN_RTO_MS=1000   the clients' smallest retransmission timeout
#   FERRY=path        use this ferry binary instead of building one
#   LOAD=path         use this tftp_load binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Run it by hand as
# root (tftpd-hpa switches user); it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

COUNT=${COUNT:-1000}
SIZE_KIB=${SIZE_KIB:-1024}
BLKSIZES=${BLKSIZES:-1468}
RUNS=${RUNS:-1}
SERVERS=${SERVERS:-mio blocking hpa}
MIN_RTO_MS=${MIN_RTO_MS:-1000}

[ "$(id -u)" = 0 ] || die "run as root: tftpd-hpa switches user"
if [ -z "${LOAD:-}" ]; then
  log "building the load generator (release)"
  cargo build --release --quiet -p ferry-mio --example tftp_load
  LOAD=$repo/target/release/examples/tftp_load
fi

root=$work/root
mkdir -p "$root"
chmod 755 "$root"
log "writing $COUNT files of $SIZE_KIB KiB in $root"
python3 - "$root" "$COUNT" "$SIZE_KIB" <<'EOF'
import os, sys
root, count, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    path = os.path.join(root, "load-%04d.bin" % i)
    with open(path, "wb") as f:
        f.write(os.urandom(kib * 1024))
    os.chmod(path, 0o644)
EOF

# peak_sampler PID OUT: writes "threads processes" peaks of PID's tree to OUT
# when killed.
cat >"$work/peak.py" <<'EOF'
import os, signal, sys, time
root, out = int(sys.argv[1]), sys.argv[2]
peak = [0, 0]
def done(*_):
    with open(out, "w") as f:
        f.write("%d %d\n" % tuple(peak))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    parent, threads = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(d)] = int(fields[1])
        threads[int(d)] = int(fields[17])
    tree, todo = set(), [root]
    kids = {}
    for p, pp in parent.items():
        kids.setdefault(pp, []).append(p)
    while todo:
        p = todo.pop()
        tree.add(p)
        todo.extend(kids.get(p, []))
    tree &= set(threads)
    peak[0] = max(peak[0], sum(threads[p] for p in tree))
    peak[1] = max(peak[1], len(tree))
    time.sleep(0.5)
EOF

rows=()
# run_cell NAME CGROUP PID PORT BLKSIZE: RUNS loads, the median by MB/s.
run_cell() {
  local name=$1 group=$2 pid=$3 port=$4 blksize=$5 opt=() results=() line c0 c1 spid
  [ "$blksize" = 512 ] || opt=(--blksize "$blksize")
  for run in $(seq "$RUNS"); do
    python3 "$work/peak.py" "$pid" "$work/peak" &
    spid=$!
    c0=$(cpu_seconds "$group")
    line=$("$LOAD" --server "127.0.0.1:$port" --dir "$root" --count "$COUNT" "${opt[@]}" \
      --min-rto-ms "$MIN_RTO_MS") || line="$line FAIL"
    c1=$(cpu_seconds "$group")
    kill "$spid"; wait "$spid" 2>/dev/null || true
    read -r threads procs <"$work/peak"
    log "$name blksize $blksize run $run: $line cpu=$(cpu_delta "$c0" "$c1") threads=$threads procs=$procs"
    results+=("$line cpu=$(cpu_delta "$c0" "$c1") threads=$threads procs=$procs")
  done
  # The median run by MB/s.
  line=$(printf '%s\n' "${results[@]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mb_s=/) { split($i, a, "="); print a[2], $0 } }' |
    sort -n | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }' | cut -d' ' -f2-)
  field() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  rows+=("| $name | $blksize | $(field ok) / $COUNT | $(field mb_s) | $(field slowest_s) | $(field median_s) | $(field fastest_s) | $(field cpu) | $(field threads) / $(field procs) | $(field client_retransmits) |")
}

for server in $SERVERS; do
  case $server in
    mio | blocking)
      start_ferry "ferry-$server" tftp --root "$root" --tftp 127.0.0.1:0 --no-ftp \
        --driver "$server" --max-sessions $((COUNT + 100))
      tftp_wait_up "$ferry_port"
      for b in $BLKSIZES; do run_cell "ferry $server" "ferry-$server" "$ferry_pid" "$ferry_port" "$b"; done
      stop "$ferry_pid"
      ;;
    hpa)
      start_tftpd_hpa tftpd-hpa "$root"
      for b in $BLKSIZES; do run_cell tftpd-hpa tftpd-hpa "$hpa_pid" "$hpa_port" "$b"; done
      stop "$hpa_pid"
      ;;
    *) die "unknown server $server" ;;
  esac
done

printf '## %s TFTP downloads at once, %s KiB each, lock-step (1 MB = 10^6 bytes; median of %s)\n\n' "$COUNT" "$SIZE_KIB" "$RUNS"
printf '| server | blksize | byte-exact | aggregate MB/s | slowest, s | median, s | fastest, s | server CPU, s | server threads / processes (peak) | client re-sends |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
printf '%s\n' "${rows[@]}"
cat <<EOF

- load: \`target/release/examples/tftp_load --server 127.0.0.1:PORT --dir ROOT --count $COUNT [--blksize N] --min-rto-ms $MIN_RTO_MS\`
  (one thread, one mio loop, $COUNT tftp-proto client machines; client re-sends: ACKs sent again on a timeout or for a repeated DATA)
- ferry: \`ferry serve -q --root ROOT --tftp 127.0.0.1:0 --no-ftp --driver mio|blocking --max-sessions $((COUNT + 100))\`
- tftpd-hpa: \`in.tftpd -L -a 127.0.0.1:PORT -u root -B 65464 -s ROOT\`

$(machine)
EOF
