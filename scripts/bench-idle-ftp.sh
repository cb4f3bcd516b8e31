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
#   TLS=1            idle FTPS sessions instead (see below)
#
# TLS=1: every server presents one `ferry cert --host 127.0.0.1` pair
# (ferry with --tls-cert/--tls-key, vsftpd with ssl_enable=YES and
# allow_anon_ssl=YES, as scripts/bench-ftps.sh runs it), and each session
# is an ftplib.FTP_TLS object of one Python process that has done AUTH
# TLS, an anonymous login, PBSZ 0 and PROT P, one session after the
# other, then sits idle holding its TLS state. N, BLOCKING_N and
# VSFTPD_N all default to 1000 then; "one more" is one more such session.
#
# Prints a markdown table on stdout, progress on stderr. Run it by hand as
# root (vsftpd chroots and switches to the ftp user); it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

TLS=${TLS:-0}
if [ "$TLS" = 1 ]; then
  N=${N:-1000}
  BLOCKING_N=${BLOCKING_N:-$N}
  VSFTPD_N=${VSFTPD_N:-$N}
else
  N=${N:-10000}
  BLOCKING_N=${BLOCKING_N:-6000}
  VSFTPD_N=${VSFTPD_N:-2000}
fi
SERVERS=${SERVERS:-mio blocking vsftpd}
SETTLE=${SETTLE:-2}

[ "$(id -u)" = 0 ] || die "run as root: vsftpd chroots and switches to the ftp user"
root=$work/root
mkdir -p "$root/up"
chmod 755 "$root"
chown ftp:ftp "$root/up" 2>/dev/null || true

# The client: plain sockets that read their 220, or (TLS=1) FTP_TLS
# sessions that went as far as PROT P. Both print "ready OK SECONDS",
# hold everything until a line on stdin, then print "late ..." for one
# more session and close.
client=(python3 "$repo/scripts/bench-idle-ftp.py")
ferry_tls=()
vsftpd_tls=
if [ "$TLS" = 1 ]; then
  mkdir -p "$work/cert"
  "$FERRY" cert --host 127.0.0.1 --out "$work/cert" >/dev/null || die "ferry cert failed"
  cert=$work/cert/cert.pem key=$work/cert/key.pem
  ferry_tls=(--tls-cert "$cert" --tls-key "$key")
  vsftpd_tls="ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
ssl_ciphers=HIGH
rsa_cert_file=$cert
rsa_private_key_file=$key"
  cat >"$work/idle-ftps.py" <<'EOF'
import ftplib, resource, ssl, sys, time

port, n = int(sys.argv[1]), int(sys.argv[2])
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if n + 16 > hard:
    sys.exit("RLIMIT_NOFILE hard limit %d is too low for %d sessions" % (hard, n))
ctx = ssl._create_unverified_context()

def session():
    """AUTH TLS, anonymous login, PBSZ 0, PROT P; None if any step failed."""
    ftp = ftplib.FTP_TLS(context=ctx)
    try:
        ftp.connect("127.0.0.1", port, timeout=30)
        ftp.auth()
        ftp.login()
        ftp.prot_p()
        return ftp
    except (OSError, ftplib.Error):
        ftp.close()
        return None

held = []
t0 = time.perf_counter()
for _ in range(n):
    held.append(session())
elapsed = time.perf_counter() - t0
ok = sum(f is not None for f in held)
print("ready %d %.2f" % (ok, elapsed), flush=True)
sys.stdin.readline()
late = session()
print("late %s" % ("PROT-P" if late else "FAIL"), flush=True)
for f in held + [late]:
    if f is not None:
        f.close()
sys.exit(0 if ok == n else 1)
EOF
  client=(python3 "$work/idle-ftps.py")
fi

rows=()
measure() {
  local name=$1 pid=$2 port=$3 n=$4 before after ok secs late
  sleep 0.5
  read -r _ before_rss before_pss < <(tree_memory "$pid")
  log "$name: $before_rss KiB resident before; opening $n sessions"
  coproc CLIENT { exec "${client[@]}" "$port" "$n"; }
  local cpid=$CLIENT_PID
  read -r _ ok secs <&"${CLIENT[0]}" || die "$name: the client failed"
  sleep "$SETTLE"
  read -r procs after_rss after_pss < <(tree_memory "$pid")
  echo >&"${CLIENT[1]}"
  read -r _ late <&"${CLIENT[0]}" || late=FAIL
  wait "$cpid" 2>/dev/null || true
  log "$name: $ok of $n ready in $secs s; $procs processes, $after_rss KiB RSS, $after_pss KiB PSS; one more: $late"
  local per_rss per_pss
  per_rss=$(awk -v a="$before_rss" -v b="$after_rss" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
  per_pss=$(awk -v a="$before_pss" -v b="$after_pss" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
  rows+=("| $name | $n | $ok | $secs | $procs | $((before_rss / 1024)) | $((after_rss / 1024)) | $per_rss | $per_pss | $late |")
}

for server in $SERVERS; do
  case $server in
    mio | blocking)
      start_ferry "ferry-$server" ftp --root "$root" --ftp 127.0.0.1:0 --no-tftp \
        --driver "$server" --max-sessions 20000 --idle-timeout 600 "${ferry_tls[@]}"
      ftp_wait_up "$ferry_port"
      n=$N
      [ "$server" = mio ] || n=$BLOCKING_N
      measure "ferry $server" "$ferry_pid" "$ferry_port" "$n"
      stop "$ferry_pid"
      ;;
    vsftpd)
      start_vsftpd vsftpd "$root" $((VSFTPD_N + 100)) "$vsftpd_tls"
      measure vsftpd "$vsftpd_pid" "$vsftpd_port" "$VSFTPD_N"
      stop "$vsftpd_pid"
      # Its session processes outlive the listener until their clients go.
      sleep 1
      ;;
    *) die "unknown server $server" ;;
  esac
done

if [ "$TLS" = 1 ]; then
  title="Idle FTPS sessions (AUTH TLS, login, PBSZ 0, PROT P)"
  goal="Goal: ferry mio under 64 KiB resident per idle TLS session."
  ready="ready (PROT P)"
  tls_note=" --tls-cert cert.pem --tls-key key.pem"
  vsftpd_note=', plus `ssl_enable=YES`, `allow_anon_ssl=YES`, `ssl_ciphers=HIGH` and the same pair'
  client_note='a Python script written by this one: one process, N `ftplib.FTP_TLS` objects opened one after the other, each `connect`, `auth()`, `login()`, `prot_p()`, then all stay idle'
else
  title="Idle FTP control connections"
  goal="Goal: ferry mio under 16 KiB resident per idle session, with at least 10,000 sessions."
  ready=greeted
  tls_note= vsftpd_note=
  client_note='`scripts/bench-idle-ftp.py PORT N` (Python sockets, 500 connects at a time, each reads its 220, then all stay idle)'
fi
printf '## %s, memory of the server (KiB = 1024 bytes)\n\n' "$title"
printf '| server | sessions | %s | seconds to open all | processes | RSS before, MiB | RSS after, MiB | RSS per session, KiB | PSS per session, KiB | one more |\n' "$ready"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${rows[@]}"
cat <<EOF

$goal

- ferry: \`ferry serve -q --root EMPTY --ftp 127.0.0.1:0 --no-tftp --driver mio|blocking --max-sessions 20000 --idle-timeout 600$tls_note\`
- vsftpd: \`vsftpd CONF\` (anonymous, \`max_clients\` and \`max_per_ip\` = sessions + 100, \`seccomp_sandbox=NO\`$vsftpd_note)
- client: $client_note

$(machine)
EOF
