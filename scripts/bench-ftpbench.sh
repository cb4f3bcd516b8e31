#!/usr/bin/env bash
# pyftpdlib's stand-alone FTP benchmark (`ftpbench`, from the PyPI package
# pyftpdlib) against ferry's mio driver, vsftpd and ferry's blocking
# driver, one after the other in one run.
#
#   scripts/bench-ftpbench.sh
#
# `ftpbench -b all -n CLIENTS` logs in anonymously and runs: STOR and RETR
# for one second each; CLIENTS clients connecting and logging in (one after
# the other, each kept open); STOR and RETR again with those clients idle;
# all of them downloading, then uploading, a FILESIZE file at once; all of
# them quitting. Given the server's PID (-k), it prints the server's memory
# after each step: RSS minus shared pages, of the process and its direct
# children (psutil), as in pyftpdlib's published figures. This script also
# samples the peak VmRSS of the server's whole process tree (every 0.2 s).
#
# ftpbench stores `$testfile` in the login directory, overwrites and
# deletes it. vsftpd refuses an anonymous root the ftp user can write to
# (`allow_writeable_chroot` does not apply to anonymous sessions), so the
# script runs a copy of ftpbench whose one change is the test file's path,
# `up/$testfile`, for every server: each gets a root of its own (755, owned
# by root) with `up/` owned by ftp; ferry runs with --write, vsftpd with
# `anon_other_write_enable=YES` (overwrite and delete) and
# `lock_upload_files=NO` (else its concurrent STORs of one file wait on each
# other's lock before answering, while ftpbench only starts sending once
# every STOR is answered: all time out).
#
# Knobs (environment):
#   CLIENTS=300  FILESIZE=10M
#   SERVERS="mio vsftpd blocking"
#   VENV=/tmp/ferry-ftpbench-venv   where pyftpdlib and psutil are installed
#                (psutil 5.9.8: ftpbench calls memory_info_ex, gone in 6.0)
#   FERRY=path   use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Run it by hand as
# root (vsftpd chroots and switches to the ftp user); it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

CLIENTS=${CLIENTS:-300}
FILESIZE=${FILESIZE:-10M}
SERVERS=${SERVERS:-mio vsftpd blocking}
VENV=${VENV:-/tmp/ferry-ftpbench-venv}

[ "$(id -u)" = 0 ] || die "run as root: vsftpd chroots and switches to the ftp user"
py=$VENV/bin/python
if [ ! -x "$VENV/bin/ftpbench" ]; then
  log "installing pyftpdlib and psutil into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pyftpdlib "psutil==5.9.8"
fi
"$py" -c 'import asyncore' 2>/dev/null ||
  die "ftpbench needs asyncore (Python 3.11 or older; $("$py" --version))"
log "$("$VENV/bin/pip" show pyftpdlib | sed -n 's/^Version: /pyftpdlib /p'), $("$py" --version)"

ftpbench=$work/ftpbench
sed 's|^TESTFN = "\$testfile"$|TESTFN = "up/$testfile"|' "$VENV/bin/ftpbench" >"$ftpbench"
grep -q '^TESTFN = "up/\$testfile"$' "$ftpbench" || die "could not set ftpbench's test file path"

cat >"$work/peak.py" <<'EOF'
import os, signal, sys, time
root, out = int(sys.argv[1]), sys.argv[2]
peak = 0
def done(*_):
    with open(out, "w") as f:
        f.write("%d\n" % peak)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except OSError:
                pass
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    peak = max(peak, total)
    time.sleep(0.2)
EOF

declare -A result peak
run_ftpbench() {
  local name=$1 pid=$2 port=$3 spid
  log "$name: ftpbench -b all -n $CLIENTS -s $FILESIZE"
  "$py" "$work/peak.py" "$pid" "$work/peak" &
  spid=$!
  result[$name]=$(cd "$work" && "$py" -W ignore "$ftpbench" -u anonymous -p bench@ \
    -H 127.0.0.1 -P "$port" -b all -n "$CLIENTS" -s "$FILESIZE" -k "$pid" -t 60 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g') || true
  kill "$spid"; wait "$spid" 2>/dev/null || true
  peak[$name]=$(cat "$work/peak")
  printf '%s\n' "${result[$name]}" | sed "s/^/bench: $name: /" >&2
}

names=()
for server in $SERVERS; do
  root=$work/root-$server
  mkdir -p "$root/up"
  chmod 755 "$root" "$root/up"
  chown ftp:ftp "$root/up"
  case $server in
    mio | blocking)
      start_ferry "ferry-$server" ftp --root "$root" --ftp 127.0.0.1:0 --no-tftp \
        --driver "$server" --write --max-sessions $((CLIENTS + 100))
      ftp_wait_up "$ferry_port"
      run_ftpbench "ferry $server" "$ferry_pid" "$ferry_port"
      names+=("ferry $server")
      stop "$ferry_pid"
      ;;
    vsftpd)
      start_vsftpd vsftpd "$root" $((CLIENTS + 100)) $'anon_other_write_enable=YES\nlock_upload_files=NO'
      run_ftpbench vsftpd "$vsftpd_pid" "$vsftpd_port"
      names+=(vsftpd)
      stop "$vsftpd_pid"
      ;;
    *) die "unknown server $server" ;;
  esac
done

# One row per ftpbench line: "what ... value unit [memory]".
printf '## pyftpdlib ftpbench, %s clients, %s files (value; server memory after the step)\n\n' "$CLIENTS" "$FILESIZE"
header='| step |'; rule='|---|'
for n in "${names[@]}"; do header+=" $n |"; rule+='---:|'; done
printf '%s\n%s\n' "$header" "$rule"
for n in "${names[@]}"; do printf '%s\n' "${result[$n]}"; done |
  grep -E '^[A-Za-z0-9].* [0-9.]+ +(MB/sec|secs)' | sed -E 's/ +[0-9.]+ +(MB\/sec|secs).*$//' |
  awk '!seen[$0]++' | while IFS= read -r what; do
  row="| $what |"
  for n in "${names[@]}"; do
    cell=$(printf '%s\n' "${result[$n]}" | grep -F -- "$what" | head -1 |
      sed -E 's/^.* ([0-9.]+) +(MB\/sec|secs) *(.*)$/\1 \2 \3/' | sed -E 's/ +$//')
    row+=" ${cell:-—} |"
  done
  printf '%s\n' "$row"
done
row='| peak VmRSS of the whole process tree, MiB (sampled) |'
for n in "${names[@]}"; do row+=" $(awk -v k="${peak[$n]}" 'BEGIN { printf "%.1f", k / 1024 }') |"; done
printf '%s\n' "$row"
row='| RSS at the start, MiB (ftpbench) |'
for n in "${names[@]}"; do
  row+=" $(printf '%s\n' "${result[$n]}" | sed -n 's/^(starting with \(.*\) of memory being used)$/\1/p' |
    awk '{ printf "%.1f", $1 / 1048576 }') |"
done
printf '%s\n' "$row"
cat <<EOF

Goal (ferry mio): $CLIENTS logins in under 0.15 s with under 8 MB resident.
MB/sec is ftpbench's (2^20 bytes per second); memory K/M are 2^10/2^20 bytes.

- ftpbench (its test file at \`up/\$testfile\`): \`ftpbench -u anonymous -p bench@ -H 127.0.0.1 -P PORT -b all -n $CLIENTS -s $FILESIZE -k PID -t 60\`
  ($("$VENV/bin/pip" show pyftpdlib | sed -n 's/^Version: /pyftpdlib /p'), psutil 5.9.8, $("$py" --version))
- ferry: \`ferry serve -q --root ROOT --ftp 127.0.0.1:0 --no-tftp --driver mio|blocking --write --max-sessions $((CLIENTS + 100))\`
- vsftpd: \`vsftpd CONF\` (anonymous, uploads into up/, \`anon_other_write_enable=YES\`, \`lock_upload_files=NO\`, \`max_clients=$((CLIENTS + 100))\`)

$(machine)
EOF
