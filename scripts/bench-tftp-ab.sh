#!/usr/bin/env bash
# A/B of TFTP servers on one file, in turn, round after round: ferry
# binaries (two builds of one change, each on a driver, with environment
# variables if wanted) and atftpd, atftp client, with the server's CPU
# time per download (perf stat -p). For telling two builds apart on a
# shared machine, where only downloads made side by side compare.
#
#   sudo scripts/bench-tftp-ab.sh old:/tmp/ferry-old:mio new:target/release/ferry:mio \
#        blocking:target/release/ferry:blocking atftpd:atftpd
#
# Each server is NAME:BINARY:DRIVER[:VAR=VALUE] (BINARY "atftpd" for
# atftpd, unpacked into target/bench-peers/ by scripts/bench-tftp.sh).
# Knobs: ROUNDS=5, PAIRS="1468x1 8192x4 8192x8" (BLKSIZExWINDOWSIZE),
# SIZE_MIB=64, TIMEOUT=30, PIN="S C" (servers on CPU S, client on C).
# Prints per pair and server: each round's MB/s (FAIL: error, timeout or
# wrong bytes) and the median, the server's CPU ms per download and the
# median; progress on stderr.
set -uo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5} PAIRS=${PAIRS:-"1468x1 8192x4 8192x8"} SIZE_MIB=${SIZE_MIB:-64} TIMEOUT=${TIMEOUT:-30}
PIN=${PIN:-}
ATFTPD=$(command -v atftpd || echo "$PWD/target/bench-peers/usr/sbin/atftpd")
[ -x "$ATFTPD" ] || { echo "missing atftpd: run scripts/bench-tftp.sh once" >&2; exit 1; }
sp=() cp=()
if [ -n "$PIN" ]; then read -r s c <<<"$PIN"; sp=(taskset -c $s); cp=(taskset -c $c); fi
work=$(mktemp -d /dev/shm/ferry-ab.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p $work/root; chmod 755 $work $work/root
head -c $((SIZE_MIB<<20)) /dev/urandom > $work/root/bench.bin; chmod 644 $work/root/bench.bin
bytes=$((SIZE_MIB<<20))
declare -A port pid
names=()
for spec in "$@"; do
  IFS=: read -r name bin driver envs <<<"$spec"
  p=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if [ "$bin" = atftpd ]; then
    "${sp[@]}" $ATFTPD --daemon --no-fork --port $p --bind-address 127.0.0.1 --user nobody --group nogroup --logfile /dev/null $work/root &
  else
    env $envs "${sp[@]}" $bin serve -q --root $work/root --tftp 127.0.0.1:$p --no-ftp --driver $driver 2>$work/$name.log &
  fi
  pid[$name]=$!; pids+=($!); port[$name]=$p; names+=($name)
done
sleep 1
declare -A res cpu
for ((r=0; r<ROUNDS; r++)); do
  for pair in $PAIRS; do
    b=${pair%x*} w=${pair#*x}
    for name in "${names[@]}"; do
      rm -f $work/out.bin
      perf stat -x, -e task-clock -p ${pid[$name]} -o $work/perf.txt 2>/dev/null & pp=$!
      sleep 0.1
      t0=$(date +%s%N)
      timeout $TIMEOUT "${cp[@]}" atftp --option "blksize $b" --option "windowsize $w" -g -r bench.bin -l $work/out.bin 127.0.0.1 ${port[$name]} >/dev/null 2>&1; rc=$?
      t1=$(date +%s%N)
      kill -INT $pp; wait $pp 2>/dev/null
      if [ $rc != 0 ] || ! cmp -s $work/out.bin $work/root/bench.bin; then m=FAIL; else m=$((bytes*1000/(t1-t0))); fi
      c=$(awk -F, '$3=="task-clock"{printf "%.0f",$1}' $work/perf.txt)
      res[$pair,$name]+="$m "; cpu[$pair,$name]+="$c "
      echo "round $r $pair $name $m MB/s cpu $c ms" >&2
    done
  done
done
med() { printf '%s\n' $@ | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
for pair in $PAIRS; do for name in "${names[@]}"; do
  printf '%-8s %-14s MB/s [%s] median %s   cpu ms [%s] median %s\n' $pair $name "${res[$pair,$name]% }" "$(med ${res[$pair,$name]})" "${cpu[$pair,$name]% }" "$(med ${cpu[$pair,$name]})"
done; done
