# SPDX-License-Identifier: ISC
"""A tiny test harness: every test program prints one line per check and
ends with `N passed, N failed`; tests/run.py adds those up.

    from harness import test, expect, expect_eq, main
    @test
    def something():
        expect_eq(actual, expected, 'what was compared')
    if __name__ == '__main__':
        main()

Importing it also gives the program one temporary directory (TMP): every
tempfile.mkdtemp() of the program lands below it, and it is removed when
the program ends, whether its checks passed, failed or were interrupted
(SIGINT, SIGTERM, SIGHUP), so a run leaves nothing in /tmp.
SMTPSEND_TESTS_KEEP=1 keeps it for looking into a failure (its path is
printed).
"""
import atexit
import os
import shutil
import signal
import sys
import tempfile
import traceback

# Where tempfile put things before this program's own directory: for what
# must keep short paths (the private servers' Unix sockets).
TOP = tempfile.gettempdir()
TMP = tempfile.mkdtemp(prefix='smtpsend-')
os.chmod(TMP, 0o755)     # setpriv'd users reach the directories made for them
tempfile.tempdir = TMP
_OWNER = os.getpid()     # a forked child must not remove it at its exit


def _remove_tmp():
    if os.getpid() != _OWNER:
        return
    if os.environ.get('SMTPSEND_TESTS_KEEP') == '1':
        print('kept: %s' % TMP, flush=True)
        return
    shutil.rmtree(TMP, ignore_errors=True)


def _on_signal(signum, frame):
    # An exception, so that finally blocks and atexit (daemons stopped,
    # TMP removed) run as on a normal end.
    raise SystemExit(128 + signum)


atexit.register(_remove_tmp)
for _s in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_s, _on_signal)

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
