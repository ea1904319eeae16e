# SPDX-License-Identifier: ISC
"""What tests/run.py does so that a run leaves the host as it found it,
even interrupted: a $TMPDIR of the run's own, a look after each program
for what it left (files, mounts, processes), and the stop of a program
and of everything it started.

Processes: the runner is a child subreaper (PR_SET_CHILD_SUBREAPER), so a
daemon a test program started, even one in a session of its own that the
program's end orphaned, becomes the runner's child instead of init's: it
is found by walking up parent PIDs, and the runner reaps it when it ends.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE = 30        # seconds a stopped program has for its own cleanup
LINGER = 10       # seconds a program's processes may take to end after it
KEEP = os.environ.get('SMTPSEND_TESTS_KEEP') == '1'
CURRENT = None    # the Popen of the program running now


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    # Once: the cleanup that follows is bounded and must not be cut short.
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


def _table():
    """{pid: (ppid, state)} of every process."""
    t = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                rest = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        t[int(d)] = (int(rest[1]), rest[0])
    return t


def reap(*_):
    """Waits for our children that ended (orphans adopted as subreaper),
    all but the program running now, whose status subprocess wants: a
    test waiting for its daemon to go (kill(pid, 0)) must not see a
    zombie."""
    me = os.getpid()
    busy = CURRENT.pid if CURRENT and CURRENT.returncode is None else None
    for pid, (ppid, state) in _table().items():
        if ppid == me and state == 'Z' and pid != busy:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def descendants():
    """The PIDs of every live process below this one."""
    t = _table()
    me = os.getpid()
    out = []
    for pid, (ppid, state) in t.items():
        p, hops = ppid, 0
        while p in t and p not in (me, 0, 1) and hops < 200:
            p, hops = t[p][0], hops + 1
        if p == me and state != 'Z':
            out.append(pid)
    return out


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode(errors='replace')[:200]
    except OSError:
        return '?'


def _signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _wait_none(timeout):
    """The descendants still there after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        reap()
        left = descendants()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def sweep():
    """Lines for the processes below this one that did not end on their
    own within LINGER seconds; they are stopped (SIGTERM, then SIGKILL)."""
    left = _wait_none(LINGER)
    lines = ['process %d: %s' % (pid, _cmdline(pid)) for pid in left]
    _signal_all(left, signal.SIGTERM)
    left = _wait_none(5)
    _signal_all(left, signal.SIGKILL)
    _wait_none(5)
    return lines


def _killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def stop(p):
    """The program p stopped as a time limit or an interrupt stops it:
    SIGTERM to its process group (the harness turns it into an exit that
    runs the cleanups), SIGKILL after GRACE seconds."""
    _killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(GRACE)
    except subprocess.TimeoutExpired:
        _killpg(p.pid, signal.SIGKILL)
        p.wait()


def _mounts_below(top):
    """Mount points below `top` in this mount namespace."""
    out = []
    with open('/proc/self/mountinfo') as f:
        for line in f:
            point = line.split()[4].encode().decode('unicode_escape')
            if point == top or point.startswith(top + '/'):
                out.append(point)
    return out


class Run:
    """One run: its $TMPDIR (tmp), its signal handling, its look for
    leftovers."""

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER
        self.tmp = tempfile.mkdtemp(prefix='smtpsend-check-')
        os.chmod(self.tmp, 0o1777)          # like /tmp: for every user
        signal.signal(signal.SIGCHLD, reap)
        for s in SIGNALS:
            signal.signal(s, _on_signal)

    def leftovers(self):
        """What the program that just ended left behind, as lines; it is
        removed (kept with SMTPSEND_TESTS_KEEP=1, then not counted)."""
        left = sweep()
        for point in reversed(_mounts_below(self.tmp)):
            left.append('mount ' + point)
            subprocess.run(['umount', '-l', point], check=False)
        if KEEP:
            return left
        for name in sorted(os.listdir(self.tmp)):
            path = os.path.join(self.tmp, name)
            left.append(path)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        return left

    def finish(self):
        """The last look (after an interrupt too); the run's $TMPDIR goes."""
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        left = self.leftovers()
        if KEEP:
            print('kept: %s' % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return left
