#!/usr/bin/env bash
# Loopback TFTP download benchmark: ferry's server (release build, both
# drivers) against tftpd-hpa and atftpd, and ferry's client against atftp
# and curl, with the same clients and servers, in one run.
#
#   scripts/bench-tftp.sh            lock-step table, window sweep, client timings
#
# Knobs (environment):
#   SIZE_MIB=64      file size
#   RUNS=3           runs per cell; the tables show the median
#   TIMEOUT=60       seconds one download may take before it counts as STALL
#   DRIVERS="mio blocking"  ferry's server drivers to measure
#   TABLE=1          0 skips the curl lock-step table
#   SWEEP=1          0 skips the (blksize x windowsize) sweep, atftp client:
#                    ferry (each driver, and the same in lock-step) against
#                    atftpd, tftpd-hpa as the lock-step reference, run in
#                    turn round after round, and whether ferry meets the goal
#   SWEEP_RUNS=RUNS  rounds per sweep pair
#   PAIRS=           only these sweep pairs, as BLKSIZExWINDOWSIZE words
#                    (PAIRS="1468x1 65464x4"); empty: the whole sweep
#   PIN=             "S C": every server on CPU S and every client on CPU C
#                    (taskset), to tell a process's own cost from where the
#                    scheduler puts the two; empty: no pinning
#   CLIENT=1         0 skips the client timings (ferry get vs atftp vs curl,
#                    against ferry serve)
#   CLIENT_RUNS=10   rounds of client timings (the three clients in turn)
#   CLIENT_TOOL=rounds  or hyperfine: each client's runs back to back
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
DRIVERS=${DRIVERS:-mio blocking}
TABLE=${TABLE:-1}
SWEEP=${SWEEP:-1}
SWEEP_RUNS=${SWEEP_RUNS:-$RUNS}
CLIENT=${CLIENT:-1}
PAIRS=${PAIRS:-}
PIN=${PIN:-}
CLIENT_RUNS=${CLIENT_RUNS:-10}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root: tftpd-hpa and atftpd switch to user nobody"
for p in curl atftp timeout cmp; do
  command -v "$p" >/dev/null || die "missing $p"
done
TFTPD=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
server_pin=() client_pin=()
if [ -n "$PIN" ]; then
  read -r s c <<<"$PIN"
  [ -n "${c:-}" ] || die "PIN wants two CPU numbers: \"SERVER CLIENT\""
  server_pin=(taskset -c "$s") client_pin=(taskset -c "$c")
fi
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
declare -A ferry_port
for driver in $DRIVERS; do
  "${server_pin[@]}" "$FERRY" serve -q --root "$root" --tftp 127.0.0.1:0 --no-ftp --driver "$driver" \
    2>"$work/ferry-$driver.log" &
  pids+=($!)
  for _ in $(seq 100); do
    p=$(sed -n 's/^ferry: tftp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/ferry-$driver.log")
    [ -n "$p" ] && break
    sleep 0.1
  done
  [ -n "${p:-}" ] || die "ferry ($driver) did not start: $(cat "$work/ferry-$driver.log")"
  ferry_port[$driver]=$p
  p=
done
# The first driver is the one the lock-step table and the client timings use.
first_driver=${DRIVERS%% *}

hpa_port=$(free_port)
# -B 65464: tftpd-hpa caps blksize lower by default. It drops to nobody.
"${server_pin[@]}" "$TFTPD" -L -a "127.0.0.1:$hpa_port" -B 65464 -s "$root" &
pids+=($!)

atftpd_port=$(free_port)
"${server_pin[@]}" "$ATFTPD" --daemon --no-fork --port "$atftpd_port" --bind-address 127.0.0.1 \
  --user nobody --group nogroup --logfile /dev/null "$root" &
pids+=($!)

for driver in $DRIVERS; do wait_up "${ferry_port[$driver]}"; done
wait_up "$hpa_port"
wait_up "$atftpd_port"
log "ferry ($DRIVERS) :${ferry_port[*]}  tftpd-hpa :$hpa_port  atftpd :$atftpd_port  file ${SIZE_MIB} MiB in $root"

# --- measuring ---------------------------------------------------------------
# One download; prints MB/s, STALL (timed out) or FAIL (error or wrong bytes).
once() {
  local port=$1 client=$2 blksize=$3 windowsize=$4 rc=0 t0 t1
  rm -f "$out"
  t0=$(date +%s%N)
  case $client in
    curl)
      timeout "$TIMEOUT" "${client_pin[@]}" curl -s -o "$out" --tftp-blksize "$blksize" \
        "tftp://127.0.0.1:$port/bench.bin" || rc=$?
      ;;
    atftp)
      timeout "$TIMEOUT" "${client_pin[@]}" atftp --option "blksize $blksize" --option "windowsize $windowsize" \
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

# Median of $runs downloads (RUNS unless set); a STALL or FAIL ends the cell at once.
median() {
  local results=() r
  for _ in $(seq "${runs:-$RUNS}"); do
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

if [ "$TABLE" = 1 ]; then
  printf '## TFTP download, %s MiB on loopback (MB/s, median of %s; ferry: %s driver)\n\n' \
    "$SIZE_MIB" "$RUNS" "$first_driver"
  printf '| client | blksize | windowsize | ferry | tftpd-hpa | atftpd |\n'
  printf '|---|---:|---:|---:|---:|---:|\n'
  for blksize in 512 1468 8192 65464; do
    f=$(cell ferry "${ferry_port[$first_driver]}" curl "$blksize" 1)
    h=$(cell tftpd-hpa "$hpa_port" curl "$blksize" 1)
    a=$(cell atftpd "$atftpd_port" curl "$blksize" 1)
    printf '| curl | %s | 1 | %s | %s | %s |\n' "$blksize" "$f" "$h" "$a"
  done
fi

# ferry's figure meets the goal at a pair when it finished byte-exact and
# is at least its own lock-step figure at that blksize and atftpd's figure
# for the pair (an atftpd STALL or FAIL counts as below any figure).
meets() {
  local f=$1 lock=$2 a=$3
  case $f in STALL | FAIL) echo no; return ;; esac
  case $lock in STALL | FAIL) lock=0 ;; esac
  case $a in STALL | FAIL) a=0 ;; esac
  if [ "$f" -ge "$lock" ] && [ "$f" -ge "$a" ]; then echo yes; else echo no; fi
}

# Round-robin: SWEEP_RUNS rounds, each running every spec ("name port
# client blksize windowsize") once in turn, so all of them see the same
# load on the machine; prints one median per spec, in order, one a line.
# A STALL or FAIL is kept and that spec is not run again.
round_robin() {
  local specs=("$@") n=$# i r round
  local -a results final
  for ((i = 0; i < n; i++)); do results[i]=; final[i]=; done
  for ((round = 0; round < SWEEP_RUNS; round++)); do
    for ((i = 0; i < n; i++)); do
      [ -n "${final[i]}" ] && continue
      # shellcheck disable=SC2086 # a spec is words on purpose
      set -- ${specs[i]}
      r=$(once "$2" "$3" "$4" "$5")
      log "$1 $4/$5 round $((round + 1)): $r"
      case $r in STALL | FAIL) final[i]=$r ;; *) results[i]+="$r " ;; esac
    done
  done
  for ((i = 0; i < n; i++)); do
    if [ -n "${final[i]}" ]; then
      echo "${final[i]}"
    else
      printf '%s\n' ${results[i]} | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
    fi
  done
}

if [ "$SWEEP" = 1 ]; then
  printf '\n## Window sweep, atftp client, %s MiB (MB/s, median of %s; STALL = over %ss)\n\n' \
    "$SIZE_MIB" "$SWEEP_RUNS" "$TIMEOUT"
  printf 'At each pair, ferry on each driver at that windowsize, the same ferry in lock-step\n'
  printf '(w=1, measured alternately with it), atftpd, and tftpd-hpa (no windowsize, so\n'
  printf 'lock-step: the reference) run in turn, round after round.\n'
  printf 'Goal: ferry >= its own lock-step figure at that blksize and >= atftpd at the pair.\n\n'
  header='| blksize | windowsize |'
  rule='|---:|---:|'
  for driver in $DRIVERS; do header+=" ferry $driver | its w=1 |"; rule+='---:|---:|'; done
  header+=' atftpd | tftpd-hpa |'
  rule+='---:|---:|'
  for driver in $DRIVERS; do header+=" goal $driver |"; rule+=':---:|'; done
  printf '%s\n%s\n' "$header" "$rule"
  for blksize in 512 1468 8192 65464; do
    # tftpd-hpa's figure is measured at w=1 only (PAIRS may leave it out).
    h=-
    for w in 1 4 8 16 32 64; do
      if [ -n "$PAIRS" ]; then
        case " $PAIRS " in *" ${blksize}x$w "*) ;; *) continue ;; esac
      fi
      specs=()
      for driver in $DRIVERS; do
        specs+=("ferry-$driver ${ferry_port[$driver]} atftp $blksize $w")
        [ "$w" != 1 ] && specs+=("ferry-$driver-lockstep ${ferry_port[$driver]} atftp $blksize 1")
      done
      specs+=("atftpd $atftpd_port atftp $blksize $w")
      [ "$w" = 1 ] && specs+=("tftpd-hpa $hpa_port atftp $blksize 1")
      mapfile -t got < <(round_robin "${specs[@]}")
      i=0
      declare -A fig=() lock=()
      for driver in $DRIVERS; do
        fig[$driver]=${got[i]}; i=$((i + 1))
        if [ "$w" != 1 ]; then lock[$driver]=${got[i]}; i=$((i + 1)); else lock[$driver]=${fig[$driver]}; fi
      done
      a=${got[i]}; i=$((i + 1))
      [ "$w" = 1 ] && h=${got[i]}
      row="| $blksize | $w |"
      for driver in $DRIVERS; do row+=" ${fig[$driver]} | ${lock[$driver]} |"; done
      row+=" $a | $h |"
      for driver in $DRIVERS; do row+=" $(meets "${fig[$driver]}" "${lock[$driver]}" "$a") |"; done
      printf '%s\n' "$row"
    done
  done
fi

# --- client timings ------------------------------------------------------------
# Wall time of whole downloads from ferry serve: ferry get, atftp and curl.
client_cmd() {
  local client=$1 blksize=$2 port=${ferry_port[$first_driver]}
  case $client in
    ferry) echo "$FERRY get tftp://127.0.0.1:$port/bench.bin -o $out --blksize $blksize" ;;
    atftp) echo "atftp --option 'blksize $blksize' -g -r bench.bin -l $out 127.0.0.1 $port" ;;
    curl) echo "curl -s -o $out --tftp-blksize $blksize tftp://127.0.0.1:$port/bench.bin" ;;
  esac
}

# Wall times of CLIENT_RUNS rounds, each running the three clients in
# turn (so they share the load of the moment): median and spread in ms per
# client. CLIENT_TOOL=hyperfine times each client's runs back to back
# instead (its mean ± sd).
CLIENT_TOOL=${CLIENT_TOOL:-rounds}
time_clients() {
  local blksize=$1 client cmd t0 t1 round
  declare -A times=()
  for ((round = 0; round < CLIENT_RUNS; round++)); do
    for client in ferry atftp curl; do
      cmd=$(client_cmd "$client" "$blksize")
      t0=$(date +%s%N)
      eval "$cmd" >/dev/null 2>&1 || { times[$client]+="FAIL "; continue; }
      t1=$(date +%s%N)
      times[$client]+="$(((t1 - t0) / 100000)) "
    done
  done
  for client in ferry atftp curl; do
    case ${times[$client]} in *FAIL*) echo FAIL; continue ;; esac
    # Tenths of a millisecond in; median and interquartile range out.
    printf '%s\n' ${times[$client]} | sort -n |
      awk '{ v[NR] = $1 / 10 } END { printf "%.0f (%.0f-%.0f)\n", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)], v[int((3 * NR + 1) / 4)] }'
  done
}

time_hyperfine() {
  local cmd=$1 json=$work/hyperfine.json
  hyperfine -N --warmup 1 --runs "$CLIENT_RUNS" --export-json "$json" "$cmd" >/dev/null 2>&1 ||
    { echo "FAIL"; return; }
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.0f ± %.0f" % (r["mean"]*1e3, r["stddev"]*1e3))' "$json"
}

if [ "$CLIENT" = 1 ]; then
  if [ "$CLIENT_TOOL" = hyperfine ] && command -v hyperfine >/dev/null; then
    what="mean ± sd of $CLIENT_RUNS, hyperfine, each client's runs back to back"
  else
    CLIENT_TOOL=rounds
    what="median (interquartile range) of $CLIENT_RUNS rounds of the three in turn"
  fi
  printf '\n## Client wall time, %s MiB from ferry serve (%s driver), ms: %s\n\n' \
    "$SIZE_MIB" "$first_driver" "$what"
  printf 'Goal: ferry get <= 1.2x atftp.\n\n'
  printf '| blksize | ferry get | atftp | curl | ferry / atftp |\n|---:|---:|---:|---:|---:|\n'
  for blksize in 1468 65464; do
    declare -A ms=()
    ok=1
    for client in ferry atftp curl; do
      # Byte-exact first, then timed.
      rm -f "$out"
      if ! eval "$(client_cmd "$client" "$blksize")" >/dev/null 2>&1 || ! cmp -s "$out" "$root/bench.bin"; then
        ms[$client]=FAIL
        ok=0
      fi
    done
    if [ "$ok" = 1 ] && [ "$CLIENT_TOOL" = rounds ]; then
      mapfile -t got < <(time_clients "$blksize")
      ms[ferry]=${got[0]} ms[atftp]=${got[1]} ms[curl]=${got[2]}
    elif [ "$ok" = 1 ]; then
      for client in ferry atftp curl; do ms[$client]=$(time_hyperfine "$(client_cmd "$client" "$blksize")"); done
    fi
    log "client $blksize: ferry ${ms[ferry]}  atftp ${ms[atftp]}  curl ${ms[curl]}"
    ratio=$(awk -v f="${ms[ferry]%% *}" -v a="${ms[atftp]%% *}" 'BEGIN { if (a > 0 && f > 0) printf "%.2f", f / a; else print "n/a" }')
    printf '| %s | %s | %s | %s | %s |\n' "$blksize" "${ms[ferry]}" "${ms[atftp]}" "${ms[curl]}" "$ratio"
  done
fi

printf '\n%s, %s, %s cores\n' "$(uname -sr)" "$("$FERRY" --version)" "$(nproc)"
