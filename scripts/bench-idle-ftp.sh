#!/usr/bin/env bash
# Idle FTP control connections: resident memory per idle session of ferry's
# mio driver, ferry's blocking driver and vsftpd, one after the other in one
# run.
#
#   scripts/bench-idle-ftp.sh
#
# For each server: start it on 127.0.0.1 serving an empty directory, read
# its resident memory, open N control connections (scripts/bench-idle-ftp.py,
# 500 at a time, each reading its 220 greeting), wait SETTLE seconds, read
# the memory again, check that one more client is still greeted, close all.
# Memory is summed over the server process and all its descendants: VmRSS
# (/proc/P/status) and PSS (/proc/P/smaps_rollup, which shares a page among
# the processes mapping it; the fairer figure for vsftpd, which forks per
# session). Per session = (after - before) / N. Kernel memory (socket
# buffers, the processes' kernel stacks and page tables) is not in either.
#
# Knobs (environment):
#   N=10000          sessions for ferry (the client's and each server's
#                    RLIMIT_NOFILE hard limit must exceed it)
#   BLOCKING_N=6000  sessions for ferry's blocking driver: each holds three
#                    descriptors (the socket and a wake-up socket pair), so
#                    it runs out of them at about 6,600 under a limit of 20000
#   VSFTPD_N=2000    sessions for vsftpd: two processes each (pid_max here
#                    is 32768), about 0.5 MiB apiece
#   SERVERS="mio blocking vsftpd"   which to measure
#   SETTLE=2         seconds between the last greeting and the reading
#   FERRY=path       use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Run it by hand as
# root (vsftpd chroots and switches to the ftp user); it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

N=${N:-10000}
BLOCKING_N=${BLOCKING_N:-6000}
VSFTPD_N=${VSFTPD_N:-2000}
SERVERS=${SERVERS:-mio blocking vsftpd}
SETTLE=${SETTLE:-2}

[ "$(id -u)" = 0 ] || die "run as root: vsftpd chroots and switches to the ftp user"
root=$work/root
mkdir -p "$root/up"
chmod 755 "$root"
chown ftp:ftp "$root/up" 2>/dev/null || true

rows=()
measure() {
  local name=$1 pid=$2 port=$3 n=$4 before after ok secs late
  sleep 0.5
  read -r _ before_rss before_pss < <(tree_memory "$pid")
  log "$name: $before_rss KiB resident before; opening $n connections"
  coproc CLIENT { exec python3 "$repo/scripts/bench-idle-ftp.py" "$port" "$n"; }
  local cpid=$CLIENT_PID
  read -r _ ok secs <&"${CLIENT[0]}" || die "$name: the client failed"
  sleep "$SETTLE"
  read -r procs after_rss after_pss < <(tree_memory "$pid")
  echo >&"${CLIENT[1]}"
  read -r _ late <&"${CLIENT[0]}" || late=FAIL
  wait "$cpid" 2>/dev/null || true
  log "$name: $ok of $n greeted in $secs s; $procs processes, $after_rss KiB RSS, $after_pss KiB PSS; one more: $late"
  local per_rss per_pss
  per_rss=$(awk -v a="$before_rss" -v b="$after_rss" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
  per_pss=$(awk -v a="$before_pss" -v b="$after_pss" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
  rows+=("| $name | $n | $ok | $secs | $procs | $((before_rss / 1024)) | $((after_rss / 1024)) | $per_rss | $per_pss | $late |")
}

for server in $SERVERS; do
  case $server in
    mio | blocking)
      start_ferry "ferry-$server" ftp --root "$root" --ftp 127.0.0.1:0 --no-tftp \
        --driver "$server" --max-sessions 20000 --idle-timeout 600
      ftp_wait_up "$ferry_port"
      n=$N
      [ "$server" = mio ] || n=$BLOCKING_N
      measure "ferry $server" "$ferry_pid" "$ferry_port" "$n"
      stop "$ferry_pid"
      ;;
    vsftpd)
      start_vsftpd vsftpd "$root" $((VSFTPD_N + 100))
      measure vsftpd "$vsftpd_pid" "$vsftpd_port" "$VSFTPD_N"
      stop "$vsftpd_pid"
      # Its session processes outlive the listener until their clients go.
      sleep 1
      ;;
    *) die "unknown server $server" ;;
  esac
done

printf '## Idle FTP control connections, memory of the server (KiB = 1024 bytes)\n\n'
printf '| server | sessions | greeted | seconds to open all | processes | RSS before, MiB | RSS after, MiB | RSS per session, KiB | PSS per session, KiB | one more greeted |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${rows[@]}"
cat <<EOF

Goal: ferry mio under 16 KiB resident per idle session, with at least 10,000 sessions.

- ferry: \`ferry serve -q --root EMPTY --ftp 127.0.0.1:0 --no-tftp --driver mio|blocking --max-sessions 20000 --idle-timeout 600\`
- vsftpd: \`vsftpd CONF\` (anonymous, \`max_clients\` and \`max_per_ip\` = sessions + 100, \`seccomp_sandbox=NO\`)
- client: \`scripts/bench-idle-ftp.py PORT N\` (Python sockets, 500 connects at a time, each reads its 220, then all stay idle)

$(machine)
EOF
