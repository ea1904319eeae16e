#!/bin/bash
# SPDX-License-Identifier: ISC
# tests/bench/run.sh -- smtpsend beside msmtp and curl (`make bench`).
#
#   bash tests/bench/run.sh [build/smtpsend]
#
# Sets up the rig, then hands over to tests/bench/bench.py, which runs the
# scenarios, prints the results table and writes tests/bench/last-results.txt.
#
#   * as root: installs what is missing of msmtp, curl and time
#     (/usr/bin/time) with apt-get; as another user: says what to install;
#   * starts a private Postfix instance (tests/servers/postfix.py start, as
#     root only) on free 127.0.0.1 ports in a temporary directory, and stops
#     it at the end (also when this script dies: --watch $$).  The machine's
#     own Postfix and /etc/postfix are never touched, and no Postfix package
#     is installed: smtp-sink is taken from `tests/servers/postfix.py root`
#     (/ when Postfix is installed, else the tree extracted under
#     build/servers), run with LD_LIBRARY_PATH=ROOT/usr/lib/postfix;
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
#                     rt1-587 rt3-587 rt1-465 rt3-465 q20-587 bs20-587 10m 200m
#   BENCH_KEEP=1      keep the temporary directory (messages, configs)
#   BENCH_NICE=-10    run bench.py, the tools, smtp-sink and the proxies at
#                     this nice level (negative needs root): less noise when
#                     other work shares the machine.  Postfix is not reniced.
#
# Exit status: 0 whatever the numbers say; non-zero only when the rig cannot
# be set up (missing packages, not root, the private Postfix does not
# start, no smtpsend binary).
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
# (No postfix here: smtp-sink comes from tests/servers/postfix.py root.)
need=(msmtp:/usr/bin/msmtp curl:/usr/bin/curl time:/usr/bin/time)
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
        # msmtp asks (debconf) about AppArmor: never prompt.
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

# ----------------------------------------------------------------- run -----
PF_RUN=
WORK=
cleanup() {
    if [ -n "$PF_RUN" ]; then
        "$PY" tests/servers/postfix.py stop "$PF_RUN" || true
        rmdir "$PF_RUN" 2>/dev/null || true     # left empty by a failed start
    fi
    if [ -z "$WORK" ]; then
        :
    elif [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# -------------------------------------------------------------- Postfix ----
[ "$(id -u)" = 0 ] || die "a private Postfix needs root"
# smtp-sink from the Postfix that tests/servers uses: installed (/) or
# extracted from the .debs under build/servers (never installed here).
PF_ROOT=$("$PY" tests/servers/postfix.py root) || die "no Postfix to take smtp-sink from"
export BENCH_SMTP_SINK=${PF_ROOT%/}/usr/sbin/smtp-sink
export BENCH_SMTP_SINK_LIBS=${PF_ROOT%/}/usr/lib/postfix
[ -x "$BENCH_SMTP_SINK" ] || die "$BENCH_SMTP_SINK is missing"

PF_RUN=$(mktemp -d /tmp/smtpsend-bench-postfix.XXXXXX)
pf_env=$("$PY" tests/servers/postfix.py start "$PF_RUN" --watch $$) || die "private Postfix did not start"
eval "$pf_env"
echo "bench: private Postfix $PF_VERSION in $PF_DIR: submission $PF_HOST:$PF_SUBMISSION_PORT," \
     "smtps $PF_HOST:$PF_SMTPS_PORT"

WORK=$(mktemp -d /tmp/smtpsend-bench.XXXXXX)
# smtp-sink runs as nobody but only writes to its stdout (our file).
chmod 0755 "$WORK"

prefix=()
[ -n "${BENCH_NICE:-}" ] && prefix=(nice -n "$BENCH_NICE")
rc=0
"${prefix[@]}" "$PY" "$HERE/bench.py" --smtpsend "$BIN" --workdir "$WORK" || rc=$?
exit "$rc"
