#!/usr/bin/env bash
# What `--metrics` costs: login + NOOP + QUIT sessions per second (Python's
# ftplib, as scripts/bench-ftp.sh counts them) against two ferry servers
# run side by side, one without and one with `--metrics`, taking turns run
# by run (the order swapped every repetition), for each driver.
#
#   scripts/bench-metrics.sh        about two minutes
#
# Knobs (environment):
#   SESSIONS=1000  CLIENTS=8  REPS=9  DRIVERS="mio blocking"
#   FERRY=path    use this ferry binary instead of building one
#
# Prints a markdown table on stdout (median sessions/s of REPS runs, the
# lowest and highest, and the median's difference), progress on stderr.
# Before the table, the metrics server is scraped to check it counted every
# session. Run it by hand; it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

SESSIONS=${SESSIONS:-1000}
CLIENTS=${CLIENTS:-8}
REPS=${REPS:-9}
DRIVERS=${DRIVERS:-mio blocking}

command -v python3 >/dev/null || die "missing python3"
command -v curl >/dev/null || die "missing curl"

root=$work/root
mkdir -p "$root"

cat >"$work/sessions.py" <<'EOF'
import ftplib, multiprocessing as mp, sys, time

def session(port):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login()
    ftp.voidcmd("NOOP")
    ftp.quit()

def worker(port, n, go):
    go.wait()
    for _ in range(n):
        session(port)

mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if mode == "seq":
    t0 = time.perf_counter()
    for _ in range(n):
        session(port)
    print("%.0f" % (n / (time.perf_counter() - t0)))
else:
    clients = int(sys.argv[4])
    ctx = mp.get_context("fork")
    go = ctx.Barrier(clients + 1)
    each = n // clients
    procs = [ctx.Process(target=worker, args=(port, each, go)) for _ in range(clients)]
    for p in procs:
        p.start()
    go.wait()
    t0 = time.perf_counter()
    for p in procs:
        p.join()
        if p.exitcode:
            sys.exit("a client failed")
    print("%.0f" % (each * clients / (time.perf_counter() - t0)))
EOF

# start_ferry DRIVER [FLAGS...]: a server on fresh ports; sets PORT.
start_ferry() {
  local driver=$1
  shift
  PORT=$(free_tcp_port)
  "$FERRY" serve -q --root "$root" --ftp "127.0.0.1:$PORT" --no-tftp --driver "$driver" \
    --max-sessions 1000 "$@" 2>"$work/ferry-$PORT.log" &
  pids+=($!)
  for _ in $(seq 100); do
    python3 -c 'import ftplib,sys; ftplib.FTP().connect("127.0.0.1", int(sys.argv[1]), timeout=1)' \
      "$PORT" 2>/dev/null && return 0
    sleep 0.05
  done
  die "ferry did not start on $PORT"
}

# stats V...: "median lowest highest" of the values.
stats() {
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.0f %s %s\n", m, v[1], v[NR]}'
}

declare -A RESULT
for driver in $DRIVERS; do
  start_ferry "$driver"
  plain=$PORT
  mport=$(free_tcp_port)
  start_ferry "$driver" --metrics "127.0.0.1:$mport"
  counted=$PORT
  for mode in seq par; do
    without=() with=()
    for rep in $(seq "$REPS"); do
      # Each server goes first in every other repetition.
      order="plain counted"
      [ $((rep % 2)) = 0 ] && order="counted plain"
      for which in $order; do
        port=${!which}
        rate=$(python3 "$work/sessions.py" "$mode" "$port" "$SESSIONS" "$CLIENTS")
        if [ "$which" = plain ]; then without+=("$rate"); else with+=("$rate"); fi
      done
      log "$driver $mode rep $rep: without ${without[-1]}, with ${with[-1]}"
    done
    RESULT[$driver,$mode,without]=$(stats "${without[@]}")
    RESULT[$driver,$mode,with]=$(stats "${with[@]}")
    RESULT[$driver,$mode,runs]="${without[*]} / ${with[*]}"
  done
  # The counted server counted every session of both modes.
  # (and the one start_ferry made to see it was up).
  want=$((SESSIONS * REPS + (SESSIONS / CLIENTS) * CLIENTS * REPS + 1))
  got=$(curl -s "http://127.0.0.1:$mport/metrics" | awk '$1 == "ferry_ftp_sessions_total" {print $2}')
  [ "$got" = "$want" ] || die "$driver: ferry_ftp_sessions_total is $got, not $want"
  log "$driver: the metrics counted all $got sessions"
  # CPU time each server spent (user + system, every thread), per session:
  # both served the same sessions, and CPU time is less noisy than rates
  # on a busy machine.
  tick=$(getconf CLK_TCK)
  for which in plain counted; do
    pid=${pids[-2]}
    [ "$which" = counted ] && pid=${pids[-1]}
    RESULT[$driver,cpu,$which]=$(awk -v t="$tick" -v n="$want" '{printf "%.1f", ($14 + $15) / t / n * 1e6}' "/proc/$pid/stat")
  done
  kill "${pids[-1]}" "${pids[-2]}"
  wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null || true
done

echo "| driver | sessions/s | without --metrics: median (lowest–highest) | with --metrics: median (lowest–highest) | difference of medians |"
echo "| --- | --- | --- | --- | --- |"
for driver in $DRIVERS; do
  for mode in seq par; do
    read -r m0 lo0 hi0 <<<"${RESULT[$driver,$mode,without]}"
    read -r m1 lo1 hi1 <<<"${RESULT[$driver,$mode,with]}"
    what="1 ftplib client, $SESSIONS in a row"
    [ "$mode" = par ] && what="$CLIENTS ftplib processes, $SESSIONS in all"
    diff=$(awk -v a="$m0" -v b="$m1" 'BEGIN {printf "%+.1f %%", (b - a) / a * 100}')
    echo "| $driver | $what | $m0 ($lo0–$hi0) | $m1 ($lo1–$hi1) | $diff |"
  done
done
echo
echo "| driver | server CPU time per session, without --metrics | with --metrics |"
echo "| --- | --- | --- |"
for driver in $DRIVERS; do
  echo "| $driver | ${RESULT[$driver,cpu,plain]} µs | ${RESULT[$driver,cpu,counted]} µs |"
done
echo
echo "Every run, without / with, in order:"
echo
for driver in $DRIVERS; do
  for mode in seq par; do
    echo "- $driver $mode: ${RESULT[$driver,$mode,runs]}"
  done
done
