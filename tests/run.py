#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Runs every test program and adds up their `N passed, N failed` lines.

Unit test binaries come from $UNITS; Python test programs are
tests/test_*.py. Each runs with a time limit; a program that dies without
its summary line counts as one failure.
"""
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = re.compile(rb'^(\d+) passed, (\d+) failed\s*$', re.M)
SKIPPED = re.compile(rb'^(\d+) skipped\s*$', re.M)


def programs():
    units = os.environ.get('UNITS', '').split()
    pys = sorted(glob.glob(os.path.join(HERE, 'test_*.py')))
    only = sys.argv[1:]
    for p in units + pys:
        if not only or any(o in p for o in only):
            yield ([p] if p in units else ['/usr/bin/python3', p]), p


def main():
    total_passed = total_failed = total_skipped = 0
    for argv, name in programs():
        start = time.monotonic()
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=900).stdout
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b'') + b'\ntimed out\n'
        found = SUMMARY.findall(out)
        took = time.monotonic() - start
        if found:
            p, f = (int(x) for x in found[-1])
        else:
            p, f = 0, 1
        sk = sum(int(x) for x in SKIPPED.findall(out))
        total_passed += p
        total_failed += f
        total_skipped += sk
        label = os.path.relpath(name)
        print('%-44s %4d passed, %d failed%s  (%.1fs)' % (
            label, p, f, ', %d skipped' % sk if sk else '', took))
        for line in out.splitlines():
            if line.startswith(b'skipped: ') or ((f or not found) and
                                                 not SUMMARY.match(line)):
                print('    ' + line.decode(errors='replace'))
    if total_skipped:
        print('%d skipped (each says why above)' % total_skipped)
    print('%d passed, %d failed' % (total_passed, total_failed))
    return 1 if total_failed else 0


if __name__ == '__main__':
    sys.exit(main())
