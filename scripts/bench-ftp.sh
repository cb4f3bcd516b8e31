#!/usr/bin/env bash
# Loopback FTP server benchmark: ferry's server (release build) against
# vsftpd, with the same clients, in one run, and iperf3's loopback TCP
# figure from the same run for scale.
#
#   scripts/bench-ftp.sh            the whole table, about one to two minutes
#
# What it measures (1 MB = 10^6 bytes):
#   - curl RETR and STOR of one SIZE_MIB file, MB/s, median of RUNS, the
#     two servers taking turns run by run; iperf3 loopback TCP, MB/s;
#   - login + NOOP + QUIT sessions per second with Python's ftplib, one
#     client after the other, then CLIENTS processes at once;
#   - BURST clients (threads) connecting at the same instant, each holding
#     its session until all have tried: how many get the 220 and an answer
#     to NOOP (200, or vsftpd's 530 before login; not a 4xx) within
#     BURST_TIMEOUT seconds, and how many of those only
#     after a second or more (a dropped SYN or handshake ACK retried);
#   - curl LIST of a directory of LIST_FILES files, ms, median of LIST_RUNS
#     (the whole curl run, login included; an empty directory is timed too
#     so the fixed cost can be subtracted).
#
# Knobs (environment):
#   SIZE_MIB=256  RUNS=5  SESSIONS=2000  CLIENTS=8  BURST=300
#   BURST_TIMEOUT=10  LIST_FILES=10000  LIST_RUNS=7  IPERF_SECONDS=5
#   STALL_RUNS=20
#   FERRY=path    use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Every download and
# upload is checked byte for byte once per server, outside the timings.
# Run it by hand as root (vsftpd chroots and switches to the `ftp` user) on
# an otherwise idle machine; it is not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-5}
SESSIONS=${SESSIONS:-2000}
CLIENTS=${CLIENTS:-8}
BURST=${BURST:-300}
BURST_TIMEOUT=${BURST_TIMEOUT:-10}
LIST_FILES=${LIST_FILES:-10000}
LIST_RUNS=${LIST_RUNS:-7}
IPERF_SECONDS=${IPERF_SECONDS:-5}
STALL_RUNS=${STALL_RUNS:-20}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: vsftpd chroots and switches to the ftp user"
for p in curl iperf3 python3 cmp; do
  command -v "$p" >/dev/null || die "missing $p"
done
VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
[ -x "$VSFTPD" ] || die "missing vsftpd (apt-get install vsftpd)"
id ftp >/dev/null 2>&1 || die "vsftpd needs the ftp user (it comes with the vsftpd package)"

# --- ferry -------------------------------------------------------------------
if [ -z "${FERRY:-}" ]; then
  log "building ferry (release)"
  cargo build --release --quiet -p ferry
  FERRY=$repo/target/release/ferry
fi
[ -x "$FERRY" ] || die "no ferry binary at $FERRY"

# --- files -------------------------------------------------------------------
# tmpfs when there is one, so the disk takes no part: the file served, the
# file uploaded and the uploads all live in memory.
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/ferry-bench.XXXXXX")
# One tree served by both servers. vsftpd refuses a writable anonymous
# root: the root is 755 and owned by root, uploads go to up/, owned by ftp.
root=$work/root
mkdir -p "$root/up" "$root/dir" "$root/empty" "$work/vsftpd-empty"
chmod 755 "$work" "$root" "$root/dir" "$root/empty"
chown ftp:ftp "$root/up"
chmod 755 "$root/up"
log "writing a $SIZE_MIB MiB file and $LIST_FILES directory entries in $root"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$root/bench.bin"
chmod 644 "$root/bench.bin"
head -c 1000 /dev/urandom >"$root/small.bin"
chmod 644 "$root/small.bin"
bytes=$(stat -c %s "$root/bench.bin")
python3 - "$root/dir" "$LIST_FILES" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "file-%05d.txt" % i), "wb") as f:
        f.write(b"x" * (i % 4096))
EOF

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for dir in "${cg[@]}"; do
    for _ in $(seq 50); do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A server is up once it greets.
wait_up() {
  local port=$1
  for _ in $(seq 100); do
    if python3 -c 'import ftplib,sys; ftplib.FTP().connect("127.0.0.1", int(sys.argv[1]), timeout=1)' \
      "$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "server on port $port did not come up"
}

# --- servers -----------------------------------------------------------------
# Each server runs in a cgroup of its own, so that its CPU time can be read
# whole: every thread (ferry) and every process (vsftpd forks per session,
# and not every one of them is reaped by the listener) is counted.
declare -A cg
cg_kind=none
if [ -d /sys/fs/cgroup/cpuacct ] && [ -w /sys/fs/cgroup/cpuacct ]; then
  cg_kind=v1
  cg_base=/sys/fs/cgroup/cpuacct
elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg_kind=v2
  cg_base=/sys/fs/cgroup
fi
if [ "$cg_kind" != none ]; then
  for server in ferry vsftpd; do
    cg[$server]=$cg_base/ferry-bench-$server-$$
    mkdir "${cg[$server]}" || { cg_kind=none; break; }
  done
fi
[ "$cg_kind" != none ] || log "no cgroup CPU accounting here: the CPU table is left out"
# Run from a subshell that is about to exec the server.
join_cgroup() {
  if [ "$cg_kind" != none ]; then echo "$BASHPID" >"${cg[$1]}/cgroup.procs"; fi
}

(
  join_cgroup ferry
  exec "$FERRY" serve -q --root "$root" --ftp 127.0.0.1:0 --no-tftp --write --max-sessions 1000
) 2>"$work/ferry.log" &
ferry_pid=$!
pids+=($ferry_pid)
for _ in $(seq 100); do
  ferry_port=$(sed -n 's/^ferry: ftp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/ferry.log")
  [ -n "$ferry_port" ] && break
  sleep 0.1
done
[ -n "${ferry_port:-}" ] || die "ferry did not start: $(cat "$work/ferry.log")"

# vsftpd as it ships, plus what running it here needs: anonymous only,
# uploads allowed, its own passive range, no seccomp sandbox, enough
# clients per IP that only its backlog limits a burst, and no transfer log.
vsftpd_port=$(free_port)
pasv_lo=$((40000 + RANDOM % 10000))
cat >"$work/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port=$vsftpd_port
anonymous_enable=YES
local_enable=NO
anon_root=$root
no_anon_password=YES
write_enable=YES
anon_upload_enable=YES
anon_umask=022
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$pasv_lo
pasv_max_port=$((pasv_lo + 999))
max_clients=2000
max_per_ip=2000
xferlog_enable=NO
dirmessage_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$work/vsftpd-empty
EOF
(
  join_cgroup vsftpd
  exec "$VSFTPD" "$work/vsftpd.conf"
) &
vsftpd_pid=$!
pids+=($vsftpd_pid)

wait_up "$ferry_port"
wait_up "$vsftpd_port"
log "ferry :$ferry_port  vsftpd :$vsftpd_port (passive $pasv_lo-$((pasv_lo + 999)))"

url() { printf 'ftp://127.0.0.1:%s/%s' "$1" "$2"; }

# --- correctness, once per server, outside the timings --------------------------
for server in ferry vsftpd; do
  eval "port=\$${server}_port"
  curl -s -o "$work/check.bin" "$(url "$port" bench.bin)"
  cmp -s "$work/check.bin" "$root/bench.bin" || die "$server: RETR corrupt"
  curl -s -T "$root/bench.bin" "$(url "$port" up/check.bin)"
  cmp -s "$root/up/check.bin" "$root/bench.bin" || die "$server: STOR corrupt"
  rm -f "$work/check.bin" "$root/up/check.bin"
  n=$(curl -s "$(url "$port" dir/)" | grep -c 'file-' || true)
  [ "$n" = "$LIST_FILES" ] || die "$server: LIST shows $n of $LIST_FILES files"
done
log "RETR, STOR and LIST correct on both servers"

# --- measuring ---------------------------------------------------------------
# The Python clients: a RETR that only counts bytes, and the sessions
# (sequential, concurrent, burst).
cat >"$work/clients.py" <<'EOF'
import ftplib, multiprocessing as mp, sys, threading, time

HOST = "127.0.0.1"

def session(port):
    ftp = ftplib.FTP()
    ftp.connect(HOST, port, timeout=10)
    ftp.login()
    ftp.voidcmd("NOOP")
    ftp.quit()

def retr(port, name, size):
    """Whole run like curl's: connect, login, TYPE I, EPSV, RETR, 226, QUIT;
    the data read 128 KiB at a time (iperf3's default length)."""
    t0 = time.perf_counter()
    ftp = ftplib.FTP()
    ftp.connect(HOST, port, timeout=30)
    ftp.login()
    ftp.voidcmd("TYPE I")
    buf = memoryview(bytearray(128 * 1024))
    got = 0
    with ftp.transfercmd("RETR " + name) as data:
        while True:
            n = data.recv_into(buf)
            if not n:
                break
            got += n
    ftp.voidresp()
    ftp.quit()
    elapsed = time.perf_counter() - t0
    if got != size:
        sys.exit("RETR got %d of %d bytes" % (got, size))
    print("%.6f" % elapsed)

def worker(port, n, ready, go):
    ready.wait()
    go.wait()
    for _ in range(n):
        session(port)

def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "retr":
        retr(port, sys.argv[3], int(sys.argv[4]))
    elif mode == "seq":
        n = int(sys.argv[3])
        t0 = time.perf_counter()
        for _ in range(n):
            session(port)
        print("%.0f" % (n / (time.perf_counter() - t0)))
    elif mode == "par":
        n, clients = int(sys.argv[3]), int(sys.argv[4])
        ctx = mp.get_context("fork")
        ready, go = ctx.Barrier(clients + 1), ctx.Barrier(clients + 1)
        each = n // clients
        procs = [ctx.Process(target=worker, args=(port, each, ready, go)) for _ in range(clients)]
        for p in procs:
            p.start()
        ready.wait()
        t0 = time.perf_counter()
        go.wait()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        if any(p.exitcode != 0 for p in procs):
            sys.exit("a client failed")
        print("%.0f" % (each * clients / elapsed))
    elif mode == "burst":
        n, timeout = int(sys.argv[3]), float(sys.argv[4])
        start = threading.Barrier(n)
        tried = threading.Barrier(n)
        times, errors = [], {}
        lock = threading.Lock()

        def client():
            ftp = ftplib.FTP()
            start.wait()
            t0 = time.perf_counter()
            try:
                ftp.connect(HOST, port, timeout=timeout)   # reads the 220
                try:
                    ftp.sendcmd("NOOP")
                except ftplib.error_perm:
                    pass   # 530 before login (vsftpd) is an answer too; 4xx is not
                with lock:
                    times.append(time.perf_counter() - t0)
            except Exception as e:
                with lock:
                    key = type(e).__name__
                    errors[key] = errors.get(key, 0) + 1
            # Everyone holds the session until all have tried.
            try:
                tried.wait(timeout * 3)
            except threading.BrokenBarrierError:
                pass
            try:
                ftp.close()
            except Exception:
                pass

        threads = [threading.Thread(target=client) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        late = sum(1 for t in times if t >= 1.0)
        slowest = max(times) if times else 0
        err = ",".join("%s:%d" % kv for kv in sorted(errors.items())) or "-"
        print("%d %d %.2f %s" % (len(times), late, slowest, err))

main()
EOF

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One curl run; prints its whole duration in seconds.
#
# --happy-eyeballs-timeout-ms 1: when the reply to EPSV is already there
# as curl 7.88 ends the step that sent EPSV (a server that answers at
# once), curl opens the data connection only once its happy-eyeballs timer
# (200 ms) fires. That cost a quarter of ferry's transfers 200 ms, more
# than the whole 256 MiB takes, and vsftpd (slower to answer EPSV) almost
# none. With a 1 ms timer the connection opens at once. It is the same
# client for both servers; how often curl's default stalls is counted on
# its own (the "happy-eyeballs" row).
curl_time() { curl -s --fail --happy-eyeballs-timeout-ms 1 -w '%{time_total}\n' "$@"; }

# Server CPU time (user + system, every thread and process of the server),
# a measure the load of the machine hardly moves, unlike the rates.
# used SERVER: nanoseconds so far.
used() {
  case $cg_kind in
    v1) cat "${cg[$1]}/cpuacct.usage" ;;
    v2) awk '/^usage_usec/ { print $2 * 1000 }' "${cg[$1]}/cpu.stat" ;;
    *) echo 0 ;;
  esac
}
# Waits until a server is idle again: its session threads ended (ferry
# idles with 2 threads) and its session processes gone (vsftpd idles as
# one process).
settle() {
  local pid
  eval "pid=\$${1}_pid"
  for _ in $(seq 200); do
    if [ "$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")" -le 2 ] &&
      { [ "$cg_kind" = none ] || [ "$(wc -l <"${cg[$1]}/cgroup.procs")" -le 1 ]; }; then
      return 0
    fi
    sleep 0.01
  done
  log "$1 still busy after 2 s; its CPU figure may be short"
}
declare -A cpu
# account SERVER KIND T0: adds the CPU time since T0 to cpu[SERVER,KIND].
account() {
  settle "$1"
  cpu[$1,$2]=$((${cpu[$1,$2]:-0} + $(used "$1") - $3))
}
# cpu_ms SERVER KIND COUNT: milliseconds of server CPU per operation.
cpu_ms() {
  awk -v t="${cpu[$1,$2]:-0}" -v n="$3" 'BEGIN { printf "%.2f", t / 1e6 / n }'
}

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

declare -A retr raw stor list empty
for server in ferry vsftpd; do
  retr[$server]=""; raw[$server]=""; stor[$server]=""; list[$server]=""; empty[$server]=""
done

log "RETR (curl, then the plain client) and STOR, $RUNS runs each, servers taking turns"
for i in $(seq "$RUNS"); do
  for server in ferry vsftpd; do
    eval "port=\$${server}_port"
    t0=$(used "$server")
    retr[$server]+="$(curl_time -o /dev/null "$(url "$port" bench.bin)") "
    account "$server" retr "$t0"
    raw[$server]+="$(python3 "$work/clients.py" retr "$port" bench.bin "$bytes") "
    settle "$server"
    t0=$(used "$server")
    stor[$server]+="$(curl_time -T "$root/bench.bin" "$(url "$port" "up/run-$i.bin")") "
    account "$server" stor "$t0"
    rm -f "$root/up/run-$i.bin"
  done
done

log "LIST, $LIST_RUNS runs each"
for i in $(seq "$LIST_RUNS"); do
  for server in ferry vsftpd; do
    eval "port=\$${server}_port"
    t0=$(used "$server")
    list[$server]+="$(curl_time -o /dev/null "$(url "$port" dir/)") "
    account "$server" list "$t0"
    empty[$server]+="$(curl_time -o /dev/null "$(url "$port" empty/)") "
  done
done

log "curl with its default happy-eyeballs timer, $STALL_RUNS small RETRs each"
declare -A stalls
for server in ferry vsftpd; do
  eval "port=\$${server}_port"
  stalls[$server]=0
  for _ in $(seq "$STALL_RUNS"); do
    t=$(curl -s --fail -o /dev/null -w '%{time_total}' "$(url "$port" small.bin)")
    if awk -v t="$t" 'BEGIN { exit !(t >= 0.15) }'; then stalls[$server]=$((stalls[$server] + 1)); fi
  done
done

# Medians for the goals, and each measure's spread (the slowest and the
# fastest run) beside it: loopback on a small VM is noisy.
declare -A R S L E P RS SS LS PS
sorted() { printf '%s\n' $1 | sort -n; }
for server in ferry vsftpd; do
  R[$server]=$(mbps "$(sorted "${retr[$server]}" | median)")
  P[$server]=$(mbps "$(sorted "${raw[$server]}" | median)")
  PS[$server]="$(mbps "$(sorted "${raw[$server]}" | tail -1)")–$(mbps "$(sorted "${raw[$server]}" | head -1)")"
  RS[$server]="$(mbps "$(sorted "${retr[$server]}" | tail -1)")–$(mbps "$(sorted "${retr[$server]}" | head -1)")"
  S[$server]=$(mbps "$(sorted "${stor[$server]}" | median)")
  SS[$server]="$(mbps "$(sorted "${stor[$server]}" | tail -1)")–$(mbps "$(sorted "${stor[$server]}" | head -1)")"
  L[$server]=$(ms "$(sorted "${list[$server]}" | median)")
  LS[$server]="$(ms "$(sorted "${list[$server]}" | head -1)")–$(ms "$(sorted "${list[$server]}" | tail -1)")"
  E[$server]=$(ms "$(sorted "${empty[$server]}" | median)")
  log "$server: RETR ${R[$server]} MB/s (${RS[$server]}; plain client ${P[$server]}), STOR ${S[$server]} MB/s (${SS[$server]}), LIST ${L[$server]} ms (${LS[$server]}; empty ${E[$server]} ms)"
done

log "iperf3, $IPERF_SECONDS s"
iperf_port=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$iperf_port" >/dev/null 2>&1 &
pids+=($!)
TCP=
for _ in $(seq 30); do
  if json=$(iperf3 -c 127.0.0.1 -p "$iperf_port" -t "$IPERF_SECONDS" -J 2>/dev/null); then
    TCP=$(python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))' <<<"$json")
    break
  fi
  sleep 0.1
done
[ -n "$TCP" ] || die "iperf3 did not run"
log "iperf3: $TCP MB/s"

declare -A SEQ PAR BOK BLATE BMAX BERR
for server in ferry vsftpd; do
  eval "port=\$${server}_port"
  log "$server: $SESSIONS sequential sessions"
  t0=$(used "$server")
  SEQ[$server]=$(python3 "$work/clients.py" seq "$port" "$SESSIONS")
  account "$server" session "$t0"
  log "$server: $SESSIONS sessions from $CLIENTS clients"
  PAR[$server]=$(python3 "$work/clients.py" par "$port" "$SESSIONS" "$CLIENTS")
  log "$server: $BURST clients at once"
  read -r ok late slowest err < <(python3 "$work/clients.py" burst "$port" "$BURST" "$BURST_TIMEOUT")
  BOK[$server]=$ok; BLATE[$server]=$late; BMAX[$server]=$slowest; BERR[$server]=$err
  log "$server: seq ${SEQ[$server]}/s, par ${PAR[$server]}/s, burst $ok ok ($late after >= 1 s, slowest $slowest s, failures $err)"
done

# --- table -------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# meets 'A >= B': yes or no (the expression is awk's, on numbers).
meets() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo no; fi; }

f=ferry v=vsftpd
printf '## FTP server on loopback: ferry vs vsftpd, one run\n\n'
printf '| measure | ferry | vsftpd | ferry / vsftpd | goal | met |\n'
printf '|---|---:|---:|---:|---|---|\n'
printf '| RETR %s MiB, MB/s (median of %s; slowest–fastest) | %s (%s) | %s (%s) | %s | ≥ vsftpd | %s |\n' "$SIZE_MIB" "$RUNS" \
  "${R[$f]}" "${RS[$f]}" "${R[$v]}" "${RS[$v]}" "$(ratio "${R[$f]}" "${R[$v]}")" "$(meets "${R[$f]} >= ${R[$v]}")"
printf '| RETR vs iperf3 loopback TCP (%s MB/s) | %s %% | %s %% | | ≥ 80 %% | %s |\n' "$TCP" \
  "$(awk -v a="${R[$f]}" -v t="$TCP" 'BEGIN { printf "%.0f", 100 * a / t }')" \
  "$(awk -v a="${R[$v]}" -v t="$TCP" 'BEGIN { printf "%.0f", 100 * a / t }')" \
  "$(meets "${R[$f]} >= 0.8 * $TCP")"
printf '| RETR %s MiB, plain client (Python, 128 KiB reads), MB/s (median of %s; slowest–fastest) | %s (%s) | %s (%s) | %s | | |\n' \
  "$SIZE_MIB" "$RUNS" "${P[$f]}" "${PS[$f]}" "${P[$v]}" "${PS[$v]}" "$(ratio "${P[$f]}" "${P[$v]}")"
printf '| RETR, plain client, vs iperf3 | %s %% | %s %% | | | |\n' \
  "$(awk -v a="${P[$f]}" -v t="$TCP" 'BEGIN { printf "%.0f", 100 * a / t }')" \
  "$(awk -v a="${P[$v]}" -v t="$TCP" 'BEGIN { printf "%.0f", 100 * a / t }')"
printf '| STOR %s MiB, MB/s (median of %s; slowest–fastest) | %s (%s) | %s (%s) | %s | ≥ vsftpd | %s |\n' "$SIZE_MIB" "$RUNS" \
  "${S[$f]}" "${SS[$f]}" "${S[$v]}" "${SS[$v]}" "$(ratio "${S[$f]}" "${S[$v]}")" "$(meets "${S[$f]} >= ${S[$v]}")"
printf '| login+NOOP+QUIT, sessions/s, 1 ftplib client, %s in a row | %s | %s | %s | ≥ 2× vsftpd | %s |\n' \
  "$SESSIONS" "${SEQ[$f]}" "${SEQ[$v]}" "$(ratio "${SEQ[$f]}" "${SEQ[$v]}")" \
  "$(meets "${SEQ[$f]} >= 2 * ${SEQ[$v]}")"
printf '| login+NOOP+QUIT, sessions/s, %s ftplib processes, %s in all | %s | %s | %s | ≥ 2× vsftpd | %s |\n' \
  "$CLIENTS" "$SESSIONS" "${PAR[$f]}" "${PAR[$v]}" "$(ratio "${PAR[$f]}" "${PAR[$v]}")" \
  "$(meets "${PAR[$f]} >= 2 * ${PAR[$v]}")"
printf '| %s clients at once: 220 + NOOP within %s s | %s | %s | | all %s | %s |\n' \
  "$BURST" "$BURST_TIMEOUT" "${BOK[$f]}" "${BOK[$v]}" "$BURST" "$(meets "${BOK[$f]} == $BURST")"
printf '| … of those, in only after ≥ 1 s (a dropped SYN/ACK retried); slowest | %s; %s s | %s; %s s | | | |\n' \
  "${BLATE[$f]}" "${BMAX[$f]}" "${BLATE[$v]}" "${BMAX[$v]}"
printf '| LIST of %s files, ms, whole curl run (median of %s; fastest–slowest) | %s (%s) | %s (%s) | %s | ≤ vsftpd | %s |\n' \
  "$LIST_FILES" "$LIST_RUNS" "${L[$f]}" "${LS[$f]}" "${L[$v]}" "${LS[$v]}" "$(ratio "${L[$f]}" "${L[$v]}")" \
  "$(meets "${L[$f]} <= ${L[$v]}")"
printf '| LIST of an empty directory, ms, whole curl run (fixed cost) | %s | %s | | | |\n' \
  "${E[$f]}" "${E[$v]}"
printf '| curl without `--happy-eyeballs-timeout-ms 1`: RETRs of 1000 bytes taking ≥ 150 ms (its 200 ms timer), of %s | %s | %s | | | |\n' \
  "$STALL_RUNS" "${stalls[$f]}" "${stalls[$v]}"
cpu_row() {
  local a b
  a=$(cpu_ms ferry "$2" "$3")
  b=$(cpu_ms vsftpd "$2" "$3")
  printf '| %s | %s | %s | %s |\n' "$1" "$a" "$b" "$(ratio "$a" "$b")"
}
if [ "$cg_kind" != none ]; then
  printf '\n### Server CPU time per operation (ms; user + system of every server thread and process)\n\n'
  printf '| operation | ferry | vsftpd | ferry / vsftpd |\n'
  printf '|---|---:|---:|---:|\n'
  cpu_row "curl RETR of $SIZE_MIB MiB, whole session" retr "$RUNS"
  cpu_row "curl STOR of $SIZE_MIB MiB, whole session" stor "$RUNS"
  cpu_row "curl LIST of $LIST_FILES files, whole session" list "$LIST_RUNS"
  cpu_row "login + NOOP + QUIT (ftplib, sequential)" session "$SESSIONS"
fi

if [ "${BERR[$f]}${BERR[$v]}" != -- ]; then
  printf '\nBurst failures: ferry %s; vsftpd %s.\n' "${BERR[$f]}" "${BERR[$v]}"
fi

cat <<EOF

Commands (PORT is each server's control port; 1 MB = 10^6 bytes):

- RETR: \`curl -s --happy-eyeballs-timeout-ms 1 -o /dev/null -w '%{time_total}' ftp://127.0.0.1:PORT/bench.bin\`
- RETR, plain client: Python ftplib \`login(); voidcmd("TYPE I"); transfercmd("RETR bench.bin")\`, then \`recv_into\` a 128 KiB buffer to the end, 226, QUIT
- STOR: \`curl -s --happy-eyeballs-timeout-ms 1 -T bench.bin -w '%{time_total}' ftp://127.0.0.1:PORT/up/run-N.bin\` (source and target on tmpfs)
- LIST: \`curl -s --happy-eyeballs-timeout-ms 1 -o /dev/null -w '%{time_total}' ftp://127.0.0.1:PORT/dir/\`
- stalls: \`curl -s -o /dev/null -w '%{time_total}' ftp://127.0.0.1:PORT/small.bin\` (curl's defaults)
- TCP: \`iperf3 -c 127.0.0.1 -t $IPERF_SECONDS\` (received MB/s)
- sessions: Python ftplib \`connect(); login(); voidcmd("NOOP"); quit()\`, in a loop, then in $CLIENTS processes
- burst: $BURST threads released by one barrier, each \`connect(timeout=$BURST_TIMEOUT)\` (the 220) and \`sendcmd("NOOP")\` (200, or 530 before login), holding the session until all have tried
- ferry: \`ferry serve -q --root ROOT --ftp 127.0.0.1:0 --no-tftp --write --max-sessions 1000\`
- vsftpd: \`vsftpd CONF\` (anonymous, uploads into up/, \`max_clients=2000\`, \`max_per_ip=2000\`, \`seccomp_sandbox=NO\`)

$(uname -sr), $("$FERRY" --version), $(curl --version | head -1 | cut -d' ' -f1-2), Python $(python3 -c 'import platform; print(platform.python_version())'), $(nproc) cores
EOF
