# SPDX-License-Identifier: ISC
"""A tiny test harness: every test program prints one line per check and
ends with `N passed, N failed`; tests/run.py adds those up.

    from harness import test, expect, expect_eq, main
    @test
    def something():
        expect_eq(actual, expected, 'what was compared')
    if __name__ == '__main__':
        main()
"""
import os
import sys
import traceback

_tests = []


class Failure(Exception):
    pass


class Skipped(Exception):
    pass


def skip(why):
    """This test cannot run here (not root, no namespaces): it counts as
    skipped, never as passed."""
    raise Skipped(why)


def test(fn):
    _tests.append(fn)
    return fn


def expect(cond, what):
    if not cond:
        raise Failure(what)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise Failure('%s: expected %r but got %r' % (what, expected, actual))


def expect_in(needle, haystack, what):
    if needle not in haystack:
        raise Failure('%s: expected %r in %r' % (what, needle, haystack))


def expect_not_in(needle, haystack, what):
    if needle in haystack:
        raise Failure('%s: did not expect %r in %r' % (what, needle, haystack))


def read_pty(master):
    """What a pty's other side wrote until it closed (EIO or EOF)."""
    out = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk


def main():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for fn in _tests:
        if only and fn.__name__ not in only:
            continue
        try:
            fn()
        except Skipped as e:
            skipped += 1
            print('skipped: %s: %s' % (fn.__name__, e), flush=True)
            continue
        except Failure as e:
            failed += 1
            print('FAIL %s: %s' % (fn.__name__, e), flush=True)
            continue
        except Exception:
            failed += 1
            print('FAIL %s: exception\n%s' % (fn.__name__,
                  traceback.format_exc()), flush=True)
            continue
        passed += 1
        if os.environ.get('VERBOSE'):
            print('ok   %s' % fn.__name__, flush=True)
    if skipped:
        print('%d skipped' % skipped, flush=True)
    print('%d passed, %d failed' % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)
