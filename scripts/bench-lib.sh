# Shared by the event-loop benchmarks (scripts/bench-idle-ftp.sh,
# bench-tftp-load.sh, bench-throughput.sh, bench-ftpbench.sh): sourced, not
# run. Sets `repo`, `work` (a fresh directory on tmpfs, removed on exit) and
# `FERRY`; gives logging, ports, starting ferry and the peers, a cgroup per
# server for CPU time, and resident memory of a process tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- ferry -------------------------------------------------------------------
if [ -z "${FERRY:-}" ]; then
  log "building ferry (release)"
  cargo build --release --quiet -p ferry
  FERRY=$repo/target/release/ferry
fi
[ -x "$FERRY" ] || die "no ferry binary at $FERRY"

# --- scratch space -------------------------------------------------------------
# tmpfs when there is one, so the disk takes no part.
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/ferry-bench.XXXXXX")
chmod 755 "$work"

pids=()
cgroups=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for dir in "${cgroups[@]}"; do
    for _ in $(seq 50); do rmdir "$dir" 2>/dev/null && break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- cgroups: CPU time of every thread and process of one server ---------------
cg_kind=none
if [ -d /sys/fs/cgroup/cpuacct ] && [ -w /sys/fs/cgroup/cpuacct ]; then
  cg_kind=v1
  cg_base=/sys/fs/cgroup/cpuacct
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup ]; then
  cg_kind=v2
  cg_base=/sys/fs/cgroup
fi
declare -A cg
# new_cgroup NAME: a cgroup for the server called NAME (no-op without cgroups).
new_cgroup() {
  [ "$cg_kind" != none ] || return 0
  cg[$1]=$cg_base/ferry-bench-$1-$$
  mkdir "${cg[$1]}" && cgroups+=("${cg[$1]}")
}
# Run from a subshell that is about to exec the server.
join_cgroup() {
  if [ "$cg_kind" != none ] && [ -n "${cg[$1]:-}" ]; then echo "$BASHPID" >"${cg[$1]}/cgroup.procs"; fi
}
# cpu_seconds NAME: user + system CPU seconds of the cgroup so far ("-" without cgroups).
cpu_seconds() {
  case $cg_kind in
    v1) awk '{ printf "%.2f", $1 / 1e9 }' "${cg[$1]}/cpuacct.usage" ;;
    v2) awk '$1 == "usage_usec" { printf "%.2f", $2 / 1e6 }' "${cg[$1]}/cpu.stat" ;;
    *) printf -- - ;;
  esac
}
# cpu_delta A B: B - A, or "-" when either is unknown.
cpu_delta() {
  if [ "$1" = - ] || [ "$2" = - ]; then printf -- -; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; fi
}

# --- memory ------------------------------------------------------------------
# tree_pids PID: PID and all its descendants.
tree_pids() {
  python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
children = {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        with open("/proc/%s/stat" % d) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    children.setdefault(ppid, []).append(int(d))
todo, seen = [root], []
while todo:
    p = todo.pop()
    seen.append(p)
    todo.extend(children.get(p, []))
print(" ".join(map(str, seen)))
EOF
}
# tree_memory PID: "processes rss_kib pss_kib" summed over PID and its
# descendants (VmRSS from /proc/P/status, Pss from /proc/P/smaps_rollup:
# RSS counts a page shared by N processes N times, PSS counts 1/N each).
tree_memory() {
  local p n=0 rss=0 pss=0 r s
  for p in $(tree_pids "$1"); do
    r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    s=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    [ -n "$r" ] || continue
    n=$((n + 1)); rss=$((rss + r)); pss=$((pss + ${s:-0}))
  done
  echo "$n $rss $pss"
}

# --- servers -----------------------------------------------------------------
# start_ferry NAME PROTO(ftp|tftp) ARGS...: starts `ferry serve -q ARGS` in
# cgroup NAME, sets ferry_pid and ferry_port (from its "listening on" line).
start_ferry() {
  local name=$1 proto=$2 logf
  shift 2
  logf=$work/$name.log
  new_cgroup "$name"
  (
    join_cgroup "$name"
    exec "$FERRY" serve -q "$@"
  ) 2>"$logf" &
  ferry_pid=$!
  pids+=("$ferry_pid")
  ferry_port=
  for _ in $(seq 100); do
    ferry_port=$(sed -n "s/^ferry: $proto listening on 127\\.0\\.0\\.1:\\([0-9]*\\)\$/\\1/p" "$logf")
    [ -n "$ferry_port" ] && break
    kill -0 "$ferry_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ferry_port" ] || die "$name did not start: $(cat "$logf")"
}

# stop PID: stops a server started here and reaps it.
stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ftp_wait_up PORT: until the server greets.
ftp_wait_up() {
  for _ in $(seq 100); do
    if python3 -c 'import ftplib,sys; ftplib.FTP().connect("127.0.0.1", int(sys.argv[1]), timeout=1)' \
      "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "FTP server on port $1 did not come up"
}

# tftp_wait_up PORT: until the server answers a request for a missing file.
tftp_wait_up() {
  local rc
  for _ in $(seq 100); do
    rc=0
    curl -s --max-time 1 -o /dev/null "tftp://127.0.0.1:$1/absent-probe" || rc=$?
    [ "$rc" = 68 ] && return 0
    sleep 0.1
  done
  die "TFTP server on port $1 did not come up"
}

# vsftpd_conf FILE PORT ROOT MAX: vsftpd as it ships, plus what running it
# here needs: in the foreground, anonymous only without a password, uploads
# into ROOT/up (owned by ftp), its own passive range, MAX clients in all and
# per IP, no seccomp sandbox, no transfer log.
vsftpd_conf() {
  local conf=$1 port=$2 root=$3 max=$4 pasv_lo
  pasv_lo=$((40000 + RANDOM % 10000))
  mkdir -p "$work/vsftpd-empty"
  cat >"$conf" <<EOF
listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port=$port
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
max_clients=$max
max_per_ip=$max
idle_session_timeout=600
xferlog_enable=NO
dirmessage_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$work/vsftpd-empty
EOF
}

# start_vsftpd NAME ROOT MAX [EXTRA]: sets vsftpd_pid and vsftpd_port.
# EXTRA: more configuration lines.
start_vsftpd() {
  local name=$1 root=$2 max=$3 extra=${4:-}
  VSFTPD=$(command -v vsftpd || echo /usr/sbin/vsftpd)
  [ -x "$VSFTPD" ] || die "missing vsftpd (apt-get install vsftpd)"
  id ftp >/dev/null 2>&1 || die "vsftpd needs the ftp user (it comes with the vsftpd package)"
  vsftpd_port=$(free_tcp_port)
  vsftpd_conf "$work/$name.conf" "$vsftpd_port" "$root" "$max"
  [ -z "$extra" ] || printf '%s\n' "$extra" >>"$work/$name.conf"
  new_cgroup "$name"
  (
    join_cgroup "$name"
    exec "$VSFTPD" "$work/$name.conf"
  ) </dev/null >/dev/null 2>"$work/$name.log" &
  vsftpd_pid=$!
  pids+=("$vsftpd_pid")
  ftp_wait_up "$vsftpd_port"
}

# start_tftpd_hpa NAME ROOT: in.tftpd in the foreground, blksize cap 65464,
# as root (so it can read what root wrote). Sets hpa_pid and hpa_port.
start_tftpd_hpa() {
  local name=$1 root=$2 tftpd
  tftpd=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
  [ -x "$tftpd" ] || die "missing in.tftpd (apt-get install tftpd-hpa)"
  hpa_port=$(free_udp_port)
  new_cgroup "$name"
  (
    join_cgroup "$name"
    exec "$tftpd" -L -a "127.0.0.1:$hpa_port" -u root -B 65464 -s "$root"
  ) </dev/null >/dev/null 2>"$work/$name.log" &
  hpa_pid=$!
  pids+=("$hpa_pid")
  tftp_wait_up "$hpa_port"
}

# median: of the numbers on stdin, one per line.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

# machine: one line for the table's footnote.
machine() {
  printf '%s, %s, %s cores' "$(uname -sr)" "$("$FERRY" --version)" "$(nproc)"
}
