#!/usr/bin/env bash
# One transfer at a time: ferry's mio driver against its blocking driver,
# same clients, same files, the two servers taking turns run by run.
#
#   scripts/bench-throughput.sh
#
# FTP: curl RETR (to /dev/null) and STOR (from tmpfs to tmpfs) of one
# SIZE_MIB file. TFTP: downloads of one TFTP_MIB file with curl at blksize
# 65464 and 1468, with atftp at blksize 1468 windowsize 32, and of a
# HPA_MIB file with the tftp-hpa client (no options: 512-byte blocks). Each
# cell is the median of RUNS runs in MB/s (10^6 bytes per second) and the
# median server CPU time per transfer (cgroup: every thread). Every TFTP
# download is compared byte for byte with the source; the FTP RETR and STOR
# once per server before the timings. (`ferry get` is not used: it waits
# out the receiver's one-second dally after the last ACK before it exits.)
#
# Knobs (environment):
#   SIZE_MIB=256  TFTP_MIB=64  HPA_MIB=16  RUNS=5
#   DRIVERS="mio blocking"   (one alone leaves the other's columns empty)
#   FERRY=path    use this ferry binary instead of building one
#
# Prints a markdown table on stdout, progress on stderr. Run it by hand on
# an otherwise idle machine; it is not part of CI.
source "$(dirname "$0")/bench-lib.sh"

SIZE_MIB=${SIZE_MIB:-256}
TFTP_MIB=${TFTP_MIB:-64}
HPA_MIB=${HPA_MIB:-16}
RUNS=${RUNS:-5}
DRIVERS=${DRIVERS:-mio blocking}
for p in curl tftp atftp cmp; do command -v "$p" >/dev/null || die "missing $p"; done

root=$work/root
mkdir -p "$root/up"
chmod 755 "$root" "$root/up"
log "writing the files in $root"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$root/ftp.bin"
head -c $((TFTP_MIB * 1024 * 1024)) /dev/urandom >"$root/tftp.bin"
head -c $((HPA_MIB * 1024 * 1024)) /dev/urandom >"$root/hpa.bin"
chmod 644 "$root"/*.bin
out=$work/out.bin

declare -A ftp_port tftp_port
for d in $DRIVERS; do
  # One process serves both: FTP and TFTP in the same loop for mio.
  start_ferry "ferry-$d" ftp --root "$root" --ftp 127.0.0.1:0 --tftp 127.0.0.1:0 \
    --driver "$d" --write
  ftp_port[$d]=$ferry_port
  tftp_port[$d]=$(sed -n 's/^ferry: tftp listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/ferry-$d.log")
  [ -n "${tftp_port[$d]}" ] || die "ferry $d: no TFTP port in its log"
  ftp_wait_up "${ftp_port[$d]}"
  tftp_wait_up "${tftp_port[$d]}"
done
for d in $DRIVERS; do log "$d: ftp ${ftp_port[$d]} tftp ${tftp_port[$d]}"; done

curl_ftp=(curl -s --happy-eyeballs-timeout-ms 1)
for d in $DRIVERS; do
  "${curl_ftp[@]}" -o "$out" "ftp://127.0.0.1:${ftp_port[$d]}/ftp.bin"
  cmp -s "$out" "$root/ftp.bin" || die "ferry $d: RETR corrupt"
  "${curl_ftp[@]}" -T "$root/ftp.bin" "ftp://127.0.0.1:${ftp_port[$d]}/up/check.bin"
  cmp -s "$root/up/check.bin" "$root/ftp.bin" || die "ferry $d: STOR corrupt"
  rm -f "$out" "$root/up/check.bin"
done
log "RETR and STOR byte-exact on both drivers"

# one KIND DRIVER RUN: one transfer; prints "MB/s cpu_ms", or FAIL.
one() {
  local kind=$1 d=$2 run=$3 fp=${ftp_port[$2]} tp=${tftp_port[$2]} src rc=0 t0 t1 c0 c1
  rm -f "$out"
  c0=$(cpu_seconds "ferry-$d")
  t0=$(date +%s%N)
  case $kind in
    retr) src=ftp.bin; "${curl_ftp[@]}" -o /dev/null "ftp://127.0.0.1:$fp/ftp.bin" || rc=$? ;;
    stor) src=ftp.bin; "${curl_ftp[@]}" -T "$root/ftp.bin" "ftp://127.0.0.1:$fp/up/run-$d-$run.bin" || rc=$? ;;
    curl65464) src=tftp.bin; curl -s -o "$out" --tftp-blksize 65464 "tftp://127.0.0.1:$tp/tftp.bin" || rc=$? ;;
    curl1468) src=tftp.bin; curl -s -o "$out" --tftp-blksize 1468 "tftp://127.0.0.1:$tp/tftp.bin" || rc=$? ;;
    atftpw32) src=tftp.bin; atftp --option "blksize 1468" --option "windowsize 32" -g -r tftp.bin -l "$out" 127.0.0.1 "$tp" >/dev/null 2>&1 || rc=$? ;;
    hpa) src=hpa.bin; tftp -m binary 127.0.0.1 "$tp" -c get hpa.bin "$out" >/dev/null 2>&1 || rc=$? ;;
  esac
  t1=$(date +%s%N)
  c1=$(cpu_seconds "ferry-$d")
  if [ "$rc" != 0 ]; then echo FAIL; return; fi
  case $kind in
    retr) ;;
    stor) cmp -s "$root/up/run-$d-$run.bin" "$root/ftp.bin" || { echo FAIL; return; }; rm -f "$root/up/run-$d-$run.bin" ;;
    *) cmp -s "$out" "$root/$src" || { echo FAIL; return; } ;;
  esac
  awk -v b="$(stat -c %s "$root/$src")" -v ns=$((t1 - t0)) -v c0="$c0" -v c1="$c1" \
    'BEGIN { printf "%.0f %s\n", b / (ns / 1e9) / 1e6, (c0 == "-" ? "-" : sprintf("%.0f", (c1 - c0) * 1000)) }'
}

rows=()
row() {
  local kind=$1 label=$2 d r
  declare -A rates cpus
  for run in $(seq "$RUNS"); do
    for d in $DRIVERS; do
      r=$(one "$kind" "$d" "$run")
      log "$kind $d run $run: $r"
      rates[$d]+="${r% *}"$'\n'
      cpus[$d]+="${r#* }"$'\n'
    done
  done
  local m b cm cb
  m=$(printf '%s' "${rates[mio]:-}" | { grep -v FAIL || true; } | median)
  b=$(printf '%s' "${rates[blocking]:-}" | { grep -v FAIL || true; } | median)
  cm=$(printf '%s' "${cpus[mio]:-}" | { grep -v FAIL || true; } | median)
  cb=$(printf '%s' "${cpus[blocking]:-}" | { grep -v FAIL || true; } | median)
  local fails
  fails=$(printf '%s%s' "${rates[mio]:-}" "${rates[blocking]:-}" | grep -c FAIL || true)
  local ratio met
  ratio=$(awk -v a="$m" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  met=$(awk -v a="$m" -v b="$b" 'BEGIN { print (b > 0 && a >= 0.9 * b) ? "yes" : "no" }')
  [ "$fails" = 0 ] || met="no ($fails failed)"
  rows+=("| $label | $m | $b | $ratio | $cm | $cb | $met |")
}

row retr "FTP RETR $SIZE_MIB MiB, curl"
row stor "FTP STOR $SIZE_MIB MiB, curl"
row curl65464 "TFTP $TFTP_MIB MiB, curl, blksize 65464"
row curl1468 "TFTP $TFTP_MIB MiB, curl, blksize 1468"
row atftpw32 "TFTP $TFTP_MIB MiB, atftp, blksize 1468, windowsize 32"
row hpa "TFTP $HPA_MIB MiB, tftp-hpa client (512-byte blocks)"

printf '## One transfer at a time: mio against blocking (MB/s, median of %s; server CPU ms per transfer)\n\n' "$RUNS"
printf '| transfer | mio MB/s | blocking MB/s | mio / blocking | mio CPU ms | blocking CPU ms | within 10 %% |\n'
printf '|---|---:|---:|---:|---:|---:|---|\n'
printf '%s\n' "${rows[@]}"
cat <<EOF

- servers: \`ferry serve -q --root ROOT --ftp 127.0.0.1:0 --tftp 127.0.0.1:0 --driver mio|blocking --write\`
- RETR: \`curl -s --happy-eyeballs-timeout-ms 1 -o /dev/null ftp://127.0.0.1:PORT/ftp.bin\`
- STOR: \`curl -s --happy-eyeballs-timeout-ms 1 -T ftp.bin ftp://127.0.0.1:PORT/up/run-N.bin\`
- TFTP: \`curl -s -o OUT --tftp-blksize N tftp://127.0.0.1:PORT/tftp.bin\`;
  \`atftp --option "blksize 1468" --option "windowsize 32" -g -r tftp.bin -l OUT 127.0.0.1 PORT\`;
  \`tftp -m binary 127.0.0.1 PORT -c get hpa.bin OUT\`

$(machine)
EOF
