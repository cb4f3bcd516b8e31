#!/usr/bin/env bash
# Loopback FTPS (RFC 4217) benchmark: ferry's server under both drivers
# (release build) against vsftpd with TLS, the same client (curl) for all,
# in one run.
#
#   scripts/bench-ftps.sh          the whole table, a few minutes
#
# What it measures (1 MB = 10^6 bytes):
#   - curl RETR and STOR of one SIZE_MIB file over explicit FTPS
#     (`--ssl-reqd`: AUTH, PBSZ 0, PROT P, every data connection TLS),
#     MB/s, median of RUNS, the servers taking turns run by run: over the
#     transfer phase (curl's time_total - time_pretransfer), and over the
#     whole run. curl 7.88 over TLS often waits a whole second, up to
#     three times a run, for control replies the server had already sent
#     (against vsftpd too), so whole runs measure that more than the
#     server;
#   - the same RETR in clear from the same server (TLS offered, not
#     used), so protected RETR can be read as a fraction of clear RETR;
#   - TLS sessions per second with Python's ftplib (connect, AUTH TLS,
#     login, QUIT): one client after the other, then CLIENTS processes
#     at once.
#
# Knobs (environment):
#   SIZE_MIB=256  RUNS=5  SESSIONS=300  CLIENTS=50
#   DRIVERS="blocking mio"   ferry's drivers to measure
#   FERRY=path    use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Every download
# and upload is checked byte for byte once per server, outside the
# timings. Run it by hand as root (vsftpd chroots and switches to the
# `ftp` user) on an otherwise idle machine; it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-5}
SESSIONS=${SESSIONS:-300}
CLIENTS=${CLIENTS:-50}
read -r -a drivers <<<"${DRIVERS:-blocking mio}"

[ "$(id -u)" = 0 ] || die "run as root: vsftpd chroots and switches to the ftp user"
for p in curl python3 cmp openssl; do
  command -v "$p" >/dev/null || die "missing $p"
done

# --- certificate ---------------------------------------------------------------
# `ferry cert` writes the pair both servers present; curl is told -k.
mkdir -p "$work/cert"
"$FERRY" cert --host 127.0.0.1 --out "$work/cert" >/dev/null ||
  die "ferry cert failed"
cert=$work/cert/cert.pem key=$work/cert/key.pem

# --- files -------------------------------------------------------------------
# One tree served by every server. vsftpd refuses a writable anonymous
# root: the root is 755 and owned by root, uploads go to up/, owned by ftp.
root=$work/root
mkdir -p "$root/up"
chmod 755 "$root"
chown ftp:ftp "$root/up"
chmod 755 "$root/up"
log "writing a $SIZE_MIB MiB file in $root"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$root/bench.bin"
chmod 644 "$root/bench.bin"
bytes=$(stat -c %s "$root/bench.bin")

# --- servers -----------------------------------------------------------------
servers=("${drivers[@]}" vsftpd)
declare -A port
for driver in "${drivers[@]}"; do
  start_ferry "ferry-$driver" ftp --driver "$driver" --root "$root" --ftp 127.0.0.1:0 --no-tftp \
    --write --max-sessions 1000 --tls-cert "$cert" --tls-key "$key"
  port[$driver]=$ferry_port
done
# TLS offered, not forced, so the clear RETR runs against it too;
# require_ssl_reuse is left at its default (YES): curl resumes.
start_vsftpd vsftpd "$root" 1000 "ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
ssl_ciphers=HIGH
rsa_cert_file=$cert
rsa_private_key_file=$key"
port[vsftpd]=$vsftpd_port
for server in "${servers[@]}"; do log "$server: port ${port[$server]}"; done

url() { printf 'ftp://127.0.0.1:%s/%s' "$1" "$2"; }
# See scripts/bench-ftp.sh for --happy-eyeballs-timeout-ms 1.
curl_tls() { curl -s --fail --happy-eyeballs-timeout-ms 1 --ssl-reqd -k "$@"; }

# --- correctness, once per server, outside the timings --------------------------
for server in "${servers[@]}"; do
  p=${port[$server]}
  curl_tls -o "$work/check.bin" "$(url "$p" bench.bin)"
  cmp -s "$work/check.bin" "$root/bench.bin" || die "$server: FTPS RETR corrupt"
  curl_tls -T "$root/bench.bin" "$(url "$p" up/check.bin)" ||
    curl_tls -T "$root/bench.bin" "$(url "$p" up/check.bin)"
  cmp -s "$root/up/check.bin" "$root/bench.bin" || die "$server: FTPS STOR corrupt"
  rm -f "$work/check.bin" "$root/up/check.bin"
done
log "FTPS RETR and STOR correct on every server"

# timed SERVER ARGS...: one curl run, printing "TOTAL PHASE": its whole
# duration and its transfer phase (from just before RETR/STOR is sent to
# the end), in seconds. vsftpd 3.0.3 now and then fails a TLS 1.3 upload
# with a spurious 426; such a run is counted (failed[SERVER]) and tried
# again, at most 3 times.
declare -A failed
timed() {
  local server=$1 t
  shift
  for _ in 1 2 3; do
    if t=$(curl_tls -w '%{time_total} %{time_pretransfer}\n' "$@"); then
      awk '{ printf "%s %.6f\n", $1, $1 - $2 }' <<<"$t"
      return 0
    fi
    failed[$server]=$((${failed[$server]:-0} + 1))
  done
  die "$server: curl $* failed 3 times"
}

# Whole runs and transfer phases, space-separated seconds per server.
declare -A retr stor clear retr_whole stor_whole
for server in "${servers[@]}"; do
  retr[$server]=""; stor[$server]=""; clear[$server]=""; retr_whole[$server]=""; stor_whole[$server]=""
done
log "RETR (FTPS, then clear) and STOR (FTPS), $RUNS runs each, servers taking turns"
for i in $(seq "$RUNS"); do
  for server in "${servers[@]}"; do
    p=${port[$server]}
    read -r whole phase < <(timed "$server" -o /dev/null "$(url "$p" bench.bin)")
    retr[$server]+="$phase "; retr_whole[$server]+="$whole "
    clear[$server]+="$(curl -s --fail --happy-eyeballs-timeout-ms 1 -o /dev/null \
      -w '%{time_total} %{time_pretransfer}' "$(url "$p" bench.bin)" | awk '{ printf "%.6f", $1 - $2 }') "
    # The upload is timed into its own name, then removed (tmpfs).
    read -r whole phase < <(timed "$server" -T "$root/bench.bin" "$(url "$p" "up/run-$i.bin")")
    stor[$server]+="$phase "; stor_whole[$server]+="$whole "
    rm -f "$root/up/run-$i.bin"
  done
done

cat >"$work/sessions.py" <<'EOF'
import ftplib, multiprocessing as mp, ssl, sys, time

ctx = ssl._create_unverified_context()

def session(port):
    ftp = ftplib.FTP_TLS(context=ctx)
    ftp.connect("127.0.0.1", port, timeout=30)
    ftp.auth()
    ftp.login()
    ftp.quit()

def worker(port, n, ready, go):
    ready.wait()
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
    each = max(1, n // clients)
    mpc = mp.get_context("fork")
    ready, go = mpc.Barrier(clients + 1), mpc.Barrier(clients + 1)
    procs = [mpc.Process(target=worker, args=(port, each, ready, go)) for _ in range(clients)]
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
EOF

declare -A SEQ PAR
for server in "${servers[@]}"; do
  log "$server: $SESSIONS TLS sessions in a row, then from $CLIENTS processes"
  SEQ[$server]=$(python3 "$work/sessions.py" seq "${port[$server]}" "$SESSIONS")
  PAR[$server]=$(python3 "$work/sessions.py" par "${port[$server]}" "$SESSIONS" "$CLIENTS")
done

# --- table -------------------------------------------------------------------
sorted() { printf '%s\n' $1 | sort -n; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
# cell TIMES: "median (slowest–fastest)" in MB/s.
cell() {
  printf '%s (%s–%s)' "$(mbps "$(sorted "$1" | median)")" \
    "$(mbps "$(sorted "$1" | tail -1)")" "$(mbps "$(sorted "$1" | head -1)")"
}
med() { mbps "$(sorted "$1" | median)"; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "n/a" }'; }

# row LABEL FUNCTION: one cell per server, FUNCTION SERVER printing it.
row() {
  local label=$1 fn=$2 server
  printf '| %s |' "$label"
  for server in "${servers[@]}"; do printf ' %s |' "$("$fn" "$server")"; done
  printf '\n'
}
retr_cell() { cell "${retr[$1]}"; }
stor_cell() { cell "${stor[$1]}"; }
retr_whole_cell() { cell "${retr_whole[$1]}"; }
stor_whole_cell() { cell "${stor_whole[$1]}"; }
clear_cell() { cell "${clear[$1]}"; }
fraction_cell() { pct "$(med "${retr[$1]}")" "$(med "${clear[$1]}")"; }
seq_cell() { printf '%s' "${SEQ[$1]}"; }
par_cell() { printf '%s' "${PAR[$1]}"; }
failed_cell() { printf '%s' "${failed[$1]:-0}"; }

printf '## FTPS on loopback: ferry vs vsftpd, one run\n\n'
printf '| measure |'
for server in "${servers[@]}"; do
  case $server in vsftpd) printf ' vsftpd |' ;; *) printf ' ferry %s |' "$server" ;; esac
done
printf '\n|---|'
for _ in "${servers[@]}"; do printf -- '---:|'; done
printf '\n'
row "FTPS RETR $SIZE_MIB MiB, MB/s, transfer phase (median of $RUNS; slowest–fastest)" retr_cell
row "FTPS STOR $SIZE_MIB MiB, MB/s, transfer phase (median of $RUNS; slowest–fastest)" stor_cell
row "clear RETR $SIZE_MIB MiB from the same server, MB/s, transfer phase" clear_cell
row "FTPS RETR as a fraction of clear RETR" fraction_cell
row "FTPS RETR, whole curl run (login included), MB/s" retr_whole_cell
row "FTPS STOR, whole curl run (login included), MB/s" stor_whole_cell
row "TLS sessions/s (ftplib AUTH TLS + login + QUIT), $SESSIONS in a row" seq_cell
row "TLS sessions/s, $CLIENTS ftplib processes at once" par_cell
row "curl runs failed and retried" failed_cell

cat <<EOF

Commands (PORT is each server's control port; 1 MB = 10^6 bytes):

- FTPS RETR: \`curl -s --happy-eyeballs-timeout-ms 1 --ssl-reqd -k -o /dev/null -w '%{time_total}' ftp://127.0.0.1:PORT/bench.bin\`
- FTPS STOR: \`curl -s --happy-eyeballs-timeout-ms 1 --ssl-reqd -k -T bench.bin -w '%{time_total}' ftp://127.0.0.1:PORT/up/run-N.bin\` (source and target on tmpfs)
- transfer phase: \`%{time_total}\` minus \`%{time_pretransfer}\` (from just before RETR/STOR goes out to the end); the whole run is \`%{time_total}\`
- clear RETR: the FTPS RETR without \`--ssl-reqd -k\`
- TLS sessions: Python ftplib \`FTP_TLS(); connect(); auth(); login(); quit()\`, in a loop, then in $CLIENTS processes
- ferry: \`ferry serve -q --driver DRIVER --root ROOT --ftp 127.0.0.1:0 --no-tftp --write --max-sessions 1000 --tls-cert cert.pem --tls-key key.pem\` (from \`ferry cert --host 127.0.0.1\`)
- vsftpd: \`vsftpd CONF\` (anonymous, uploads into up/, \`ssl_enable=YES\`, \`allow_anon_ssl=YES\`, \`ssl_ciphers=HIGH\`, \`require_ssl_reuse\` at its default YES, the same certificate)

$(machine), $(curl --version | head -1 | cut -d' ' -f1-2,5), Python $(python3 -c 'import platform; print(platform.python_version())')
EOF
