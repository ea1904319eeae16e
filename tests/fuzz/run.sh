#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Build and run the libFuzzer harnesses of tests/fuzz/.
#
#   tests/fuzz/run.sh [build|run|all] [NAME...]    (default: all, every harness)
#   tests/fuzz/run.sh repro NAME FILE...           run inputs once, show the report
#   FUZZ_SECONDS=5 tests/fuzz/run.sh               quick mode, for CI
#
# NAME is addr, reply, message, config, args, aliases, outbox, compose, bs,
# oauth2 or pickup. Binaries go to build/fuzz/,
# the growing corpus to build/fuzz/corpus/NAME/ (seeded from
# tests/fuzz/corpus/NAME/, which is never written), crashes to
# build/fuzz/crashes/, logs to build/fuzz/logs/.
#
# Environment:
#   FUZZ_SECONDS   seconds per harness (default 60)
#   FUZZ_JOBS      harnesses run at once (default: the number of CPUs)
#   CC             clang with libFuzzer (default clang)
#   SMTPSEND_FUZZ_KNOWN  invariants to tolerate, see tests/fuzz/fuzz_common.h,
#                  and leaks, see tests/fuzz/known-leaks.supp; @FILE reads
#                  the names from FILE (@tests/fuzz/known: those reported)
#   SMTPSEND_FUZZ_BS_CONNECT=1  bs: relay to a refusing loopback port
#                  (default: fail before any connection, see fuzz_bs.c)
#   SMTPSEND_FUZZ_AMPLIFY=1  message: also inputs past the spool's memory
#                  (slow; best in a run of its own, see fuzz_message.c)
#
# Exit status: 0 when no harness found anything, 1 otherwise (each crash
# file is printed), 2 on a build failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/fuzz"
CC=${CC:-clang}
case "$CC" in *clang*) ;; *) CC=clang ;; esac
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
ALL="addr reply message config args aliases outbox compose bs oauth2 pickup"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS_FUZZ="-g -O1 -fno-omit-frame-pointer $SAN -std=c11 -D_GNU_SOURCE \
    -Wall -Wno-unused-parameter -I$root/src -I$here"

max_len() {
	case "$1" in
	message) echo 262144 ;;
	*) echo 65536 ;;
	esac
}

# The libraries src/ links with: the Makefile's PKGS line, so a new one
# (libidn2) needs no change here.
pkgs() {
	p=$(sed -n 's/^PKGS[[:space:]]*=[[:space:]]*//p' "$root/Makefile" 2>/dev/null |
	    head -1)
	echo "${p:-libcurl libbsd-overlay openssl}"
}

build() {
	# shellcheck disable=SC2046
	pkg=$(pkg-config --cflags $(pkgs)) || exit 2
	# shellcheck disable=SC2046
	libs=$(pkg-config --libs $(pkgs)) || exit 2
	mkdir -p "$out/obj" "$out/harness"
	# Sources come and go: drop objects whose source is gone.
	for obj in "$out"/obj/*.o; do
		[ -e "$obj" ] || continue
		[ -e "$root/src/$(basename "$obj" .o).c" ] || rm -f "$obj"
	done
	# The library once, instrumented for coverage but without main().
	for src in "$root"/src/*.c; do
		obj="$out/obj/$(basename "$src" .c).o"
		if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] ||
		    [ -n "$(find "$root/src" -name '*.h' -newer "$obj")" ]; then
			echo "  CC      $src"
			# shellcheck disable=SC2086
			$CC $CFLAGS_FUZZ -fsanitize=fuzzer-no-link $pkg -c \
			    -o "$obj" "$src" || exit 2
		fi
	done
	for name in "$@"; do
		echo "  LD      $out/fuzz_$name"
		# The harness itself without coverage: its checks are not what
		# the fuzzer should explore, and they cost time on every byte.
		# shellcheck disable=SC2086
		$CC $CFLAGS_FUZZ $pkg -c -o "$out/harness/fuzz_$name.o" \
		    "$here/fuzz_$name.c" || exit 2
		# shellcheck disable=SC2086
		$CC $CFLAGS_FUZZ -fsanitize=fuzzer -o "$out/fuzz_$name" \
		    "$out/harness/fuzz_$name.o" "$out"/obj/*.o $libs || exit 2
	done
}

# LeakSanitizer suppressions for the known leaks named in
# SMTPSEND_FUZZ_KNOWN (tests/fuzz/known-leaks.supp: NAME, suppression).
lsan_known() {
	supp="$out/lsan-known.supp"
	: >"$supp"
	for known in $(echo "${SMTPSEND_FUZZ_KNOWN:-}" | tr ',' ' '); do
		awk -v n="$known" '$1 == n { print $2 }' \
		    "$here/known-leaks.supp" >>"$supp"
	done
	if [ -s "$supp" ]; then
		LSAN_OPTIONS="suppressions=$supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
		export LSAN_OPTIONS
	fi
}

# One harness for FUZZ_SECONDS; its log in build/fuzz/logs/NAME.log.
fuzz_one() {
	name=$1
	corpus="$out/corpus/$name"
	mkdir -p "$corpus" "$out/crashes" "$out/logs" "$out/tmp"
	dict=""
	[ -f "$here/$name.dict" ] && dict="-dict=$here/$name.dict"
	# Temporary files (config copies, spilled spools) stay in build/fuzz.
	# shellcheck disable=SC2086
	TMPDIR="$out/tmp" "$out/fuzz_$name" "$corpus" "$here/corpus/$name" $dict \
	    -max_len="$(max_len "$name")" -max_total_time="$FUZZ_SECONDS" \
	    -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$out/crashes/$name-" \
	    >"$out/logs/$name.log" 2>&1
}

summary() {
	name=$1 rc=$2
	log="$out/logs/$name.log"
	execs=$(grep -a '^stat::number_of_executed_units:' "$log" | tail -1 |
	    sed 's/.*: *//')
	cov=$(grep -aEo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
	printf '%-8s %s execs=%s %s\n' "$name" \
	    "$([ "$rc" = 0 ] && echo ok || echo FAILED)" "${execs:-?}" "${cov:-}"
	if [ "$rc" != 0 ]; then
		grep -aE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|INVARIANT VIOLATED|ASSERTION FAILED' \
		    "$log" | head -3 | sed 's/^/         /'
		grep -a 'Test unit written to' "$log" |
		    sed 's/.*Test unit written to /         crash file: /'
		echo "         log: $log"
	fi
}

run() {
	: >"$out/status"
	running=0
	for name in "$@"; do
		( rc=0; fuzz_one "$name" || rc=$?; echo "$name $rc" >>"$out/status" ) &
		running=$((running + 1))
		if [ "$running" -ge "$FUZZ_JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
	failed=0
	for name in "$@"; do
		rc=$(sed -n "s/^$name //p" "$out/status")
		summary "$name" "${rc:-1}"
		[ "${rc:-1}" = 0 ] || failed=1
	done
	return $failed
}

# SMTPSEND_FUZZ_KNOWN=@FILE: the names in FILE (relative to the top of the
# tree or absolute; one a line, '#' starts a comment), e.g. @tests/fuzz/known.
case "${SMTPSEND_FUZZ_KNOWN:-}" in
@*)
	kfile=${SMTPSEND_FUZZ_KNOWN#@}
	case "$kfile" in /*) ;; *) kfile="$root/$kfile" ;; esac
	[ -f "$kfile" ] || { echo "no file $kfile" >&2; exit 2; }
	SMTPSEND_FUZZ_KNOWN=$(sed 's/#.*//' "$kfile" | tr -s ' \t\n' '\n' |
	    grep -v '^$' | paste -sd, -)
	export SMTPSEND_FUZZ_KNOWN
	;;
esac
# Once, before any harness starts (they run at once).
mkdir -p "$out"
lsan_known

cmd=${1:-all}
case "$cmd" in
build|run|all) shift 2>/dev/null || true ;;
repro)
	[ $# -ge 3 ] || { echo "usage: $0 repro NAME FILE..." >&2; exit 2; }
	name=$2; shift 2
	build "$name"
	mkdir -p "$out/crashes" "$out/tmp"
	TMPDIR="$out/tmp" exec "$out/fuzz_$name" -runs=1 \
	    -artifact_prefix="$out/crashes/$name-" "$@"
	;;
*) cmd=all ;;
esac
names=${*:-$ALL}
for name in $names; do
	[ -f "$here/fuzz_$name.c" ] || { echo "no harness $name" >&2; exit 2; }
done
mkdir -p "$out"
# shellcheck disable=SC2086
case "$cmd" in
build) build $names ;;
run) run $names ;;
all) build $names && run $names ;;
esac
