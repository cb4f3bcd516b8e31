#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for a bounded time, or only the
# targets named as arguments (`scripts/fuzz.sh ftp_data_format`).
#
#   FUZZ_SECONDS=N   seconds per target (default 20)
#
# Uses the nightly toolchain when rustup has one; otherwise the stable
# compiler with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z sanitizer flags).
# Installs cargo-fuzz when it is missing. Exits non-zero if any target
# finds a crash, leak or hang; the failing input is kept under
# fuzz/artifacts/<target>/.
set -euo pipefail

seconds=${FUZZ_SECONDS:-20}
cd "$(dirname "$0")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if cargo +nightly --version >/dev/null 2>&1; then
    fuzz() { cargo +nightly fuzz "$@"; }
else
    echo "fuzz: no nightly toolchain, using stable with RUSTC_BOOTSTRAP=1" >&2
    fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi

mapfile -t targets < <(fuzz list)
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz: no targets found" >&2
    exit 1
fi
if [ $# -gt 0 ]; then
    for wanted in "$@"; do
        printf '%s\n' "${targets[@]}" | grep -qx -- "$wanted" ||
            { echo "fuzz: no target named $wanted" >&2; exit 2; }
    done
    targets=("$@")
fi

fuzz build
failed=()
for target in "${targets[@]}"; do
    echo "fuzz: $target for ${seconds}s" >&2
    log=$(mktemp)
    # A dictionary of the protocol's words, where the target has one.
    dict=()
    case "$target" in
        ftp_command | ftp_server_session) dict=(-dict=dicts/ftp.dict) ;;
    esac
    # -timeout: one input running this long is a hang, and a failure.
    if fuzz run "$target" -- -max_total_time="$seconds" -timeout=10 "${dict[@]}" >"$log" 2>&1; then
        echo "fuzz: $target clean: $(grep -E '^Done [0-9]+ runs' "$log" || echo 'done')" >&2
    else
        tail -n 60 "$log" >&2
        failed+=("$target")
    fi
    rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: every target ran clean (${#targets[@]} targets, ${seconds}s each)" >&2
