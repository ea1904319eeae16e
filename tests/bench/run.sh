#!/bin/bash
# tests/bench/run.sh -- smtpsend beside msmtp and curl (`make bench`).
#
#   bash tests/bench/run.sh [build/smtpsend]
#
# Sets up the rig, then hands over to tests/bench/bench.py, which runs the
# scenarios, prints the results table and writes tests/bench/last-results.txt.
#
#   * as root: installs what is missing of msmtp, curl, postfix (for
#     /usr/sbin/smtp-sink) and time (/usr/bin/time) with apt-get, and runs
#     tests/postfix/setup.sh (Postfix on 127.0.0.1:10025/10587/10465);
#     as another user: says what to install and expects Postfix to be set up;
#   * bench.py starts smtp-sink and two tests/bench/delayproxy.py instances of its
#     own on free loopback ports and stops them (by pid) when done;
#   * messages, configurations and logs live in a temporary directory that
#     is removed at the end.
#
# Knobs (environment):
#   BENCH_N_SMALL=7   runs per tool: --version, 1 KB, round-trip scenarios
#   BENCH_N_BIG=3     runs per tool: 10 MiB and 200 MiB
#   BENCH_WARMUP=1    untimed rounds before each scenario
#   BENCH_ONLY=...    comma-separated scenario keys: version 1k-587 1k-465
#                     rt1-587 rt3-587 rt1-465 rt3-465 10m 200m
#   BENCH_KEEP=1      keep the temporary directory (messages, configs)
#   BENCH_NICE=-10    run bench.py, the tools, smtp-sink and the proxies at
#                     this nice level (negative needs root): less noise when
#                     other work shares the machine.  Postfix is not reniced.
#
# Exit status: 0 whatever the numbers say; non-zero only when the rig cannot
# be set up (missing packages, Postfix not running, no smtpsend binary).
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
BIN=${1:-build/smtpsend}
PY=/usr/bin/python3

die() { echo "tests/bench/run.sh: cannot set up the rig: $*" >&2; exit 2; }

[ -x "$BIN" ] || die "$BIN is not built (run make)"
[ -x "$PY" ] || die "$PY is missing"

# ------------------------------------------------------------- packages ----
# package:file that shows it is installed
need=(msmtp:/usr/bin/msmtp curl:/usr/bin/curl postfix:/usr/sbin/smtp-sink
      time:/usr/bin/time)
missing=()
for pf in "${need[@]}"; do
    [ -x "${pf#*:}" ] || missing+=("${pf%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        die "missing packages; run: sudo apt-get install ${missing[*]}"
    fi
    echo "bench: installing ${missing[*]} ..."
    apt_install() {
        # msmtp asks (debconf) about AppArmor, postfix about its mailer type:
        # never prompt.  Postfix itself is configured by tests/postfix/setup.sh.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >/dev/null
    }
    if ! apt_install; then
        apt-get update -q >/dev/null || die "apt-get update failed"
        apt_install || die "apt-get install ${missing[*]} failed"
    fi
    for pf in "${need[@]}"; do
        [ -x "${pf#*:}" ] || die "${pf#*:} still missing after apt-get install"
    done
fi

# -------------------------------------------------------------- Postfix ----
if [ "$(id -u)" = 0 ]; then
    bash tests/postfix/setup.sh >/dev/null || die "tests/postfix/setup.sh failed (see above)"
else
    echo "bench: not root: expecting Postfix already set up by tests/postfix/setup.sh"
fi

# ----------------------------------------------------------------- run -----
WORK=$(mktemp -d /tmp/smtpsend-bench.XXXXXX)
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
# smtp-sink runs as nobody but only writes to its stdout (our file).
chmod 0755 "$WORK"

prefix=()
[ -n "${BENCH_NICE:-}" ] && prefix=(nice -n "$BENCH_NICE")
rc=0
"${prefix[@]}" "$PY" "$HERE/bench.py" --smtpsend "$BIN" --workdir "$WORK" || rc=$?
exit "$rc"
