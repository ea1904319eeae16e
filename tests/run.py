#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Runs every test program and adds up their `N passed, N failed` lines.

Unit test binaries come from $UNITS; Python test programs are
tests/test_*.py. Each runs with a time limit; a program that dies without
its summary line counts as one failure.

The host is left as it was found (tests/hygiene.py):
- each program runs in a process group of its own, with $TMPDIR a
  directory of this run (smtpsend-check-*), so that runs going on at once
  do not see each other's files;
- after each program, whatever it left behind (a file in $TMPDIR, a mount
  below it, a process still running) is listed, removed and counted as one
  failure of that program;
- SIGINT, SIGTERM or SIGHUP (Ctrl-C, a CI time limit), or the time limit
  of a program, stop the program the way it cleans up (SIGTERM to its
  group, SIGKILL after a grace time), then every process it started, even
  one that left its session: this runner is their subreaper.
SMTPSEND_TESTS_KEEP=1 keeps what was left behind and prints where.
"""
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import hygiene

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = re.compile(rb'^(\d+) passed, (\d+) failed\s*$', re.M)
SKIPPED = re.compile(rb'^(\d+) skipped\s*$', re.M)
LIMIT = 900


def programs():
    units = os.environ.get('UNITS', '').split()
    pys = sorted(glob.glob(os.path.join(HERE, 'test_*.py')))
    only = sys.argv[1:]
    for p in units + pys:
        if not only or any(o in p for o in only):
            yield ([p] if p in units else ['/usr/bin/python3', p]), p


def run_one(argv, env):
    """The program's output. It goes to an unnamed file, not a pipe: a
    process the program left holding its output must not keep this
    waiting for the end of it."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        hygiene.CURRENT = p
        try:
            p.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            hygiene.stop(p)
            out.write(b'\ntimed out\n')
        hygiene.CURRENT = None
        out.seek(0)
        return out.read()


def report(name, out, left, took):
    """Prints the program's line; returns (passed, failed, skipped)."""
    found = SUMMARY.findall(out)
    p, f = (int(x) for x in found[-1]) if found else (0, 1)
    if left:
        f += 1
    sk = sum(int(x) for x in SKIPPED.findall(out))
    print('%-44s %4d passed, %d failed%s  (%.1fs)' % (
        os.path.relpath(name), p, f, ', %d skipped' % sk if sk else '', took))
    for line in out.splitlines():
        if line.startswith(b'skipped: ') or ((f or not found) and
                                             not SUMMARY.match(line)):
            print('    ' + line.decode(errors='replace'))
    for line in left:
        print('    left behind: ' + line)
    sys.stdout.flush()
    return p, f, sk


def main():
    run = hygiene.Run()
    env = dict(os.environ, TMPDIR=run.tmp)
    totals = [0, 0, 0]
    signum = None
    try:
        for argv, name in programs():
            start = time.monotonic()
            out = run_one(argv, env)
            left = run.leftovers()
            for i, n in enumerate(report(name, out, left,
                                         time.monotonic() - start)):
                totals[i] += n
    except hygiene.Interrupted as e:
        signum = e.signum
        totals[1] += 1      # the run did not get to its end
        p = hygiene.CURRENT
        if p and p.returncode is None:
            hygiene.stop(p)
            print('interrupted by %s: stopped %s'
                  % (signal.Signals(signum).name, ' '.join(p.args)))
        else:
            print('interrupted by %s' % signal.Signals(signum).name)
    for line in run.finish():
        totals[1] += 1
        print('left behind: ' + line)
    if totals[2]:
        print('%d skipped (each says why above)' % totals[2])
    print('%d passed, %d failed' % (totals[0], totals[1]))
    sys.stdout.flush()
    if signum:
        return 128 + signum
    return 1 if totals[1] else 0


if __name__ == '__main__':
    sys.exit(main())
