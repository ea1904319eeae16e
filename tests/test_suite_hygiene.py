#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The suite leaves the host as it found it (tests/hygiene.py): a run of
tests/run.py that is interrupted (Ctrl-C: SIGINT to its process group; a
CI time limit: SIGTERM to the runner, or to `make check`) leaves no
process, mount or temporary directory of its programs behind, and a
program that leaves something behind on a normal end fails the run.

The programs run here are stand-ins written for the test (given to
tests/run.py as $UNITS) that do what the real ones do: a daemon in a
mount namespace and a session of its own, stopped at exit (as
test_real_callers' cron), one that escapes and that nobody stops, a plain
child, temporary directories; and test_real_callers itself, stopped while
its cron daemons run.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import expect, expect_eq, expect_in, main, skip, test
from ns import available
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, 'run.py')
SCRATCH = tempfile.mkdtemp(prefix='hygiene-')

# A test program that starts what a real one starts, records what it made
# (so that this test knows what to look for) and then waits to be stopped.
FAKE = r'''#!/usr/bin/python3
import atexit, os, signal, subprocess, sys, tempfile, time
sys.path.insert(0, %(here)r)
import harness
tok, rec = os.environ['HYGIENE_TOKEN'], os.environ['HYGIENE_RECORD']
SLEEP = ['/usr/bin/python3', '-c', 'import time; time.sleep(600)']
mine = tempfile.mkdtemp(prefix='fake-')
loose = tempfile.mkdtemp(prefix='fake-', dir=os.environ['TMPDIR'])
daemon = subprocess.Popen(
    ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
     'mount -t tmpfs tmpfs "$0" && exec "$@"', mine] + SLEEP + [tok + '-daemon'],
    start_new_session=True)
def stop_daemon():
    os.killpg(daemon.pid, signal.SIGTERM)
    daemon.wait()
atexit.register(stop_daemon)
subprocess.Popen(['setsid', '-f'] + SLEEP + [tok + '-escaped'])
subprocess.Popen(SLEEP + [tok + '-child'])
if os.environ.get('HYGIENE_END'):
    time.sleep(1)
    print('1 passed, 0 failed')
    sys.exit(0)
with open(rec + '.new', 'w') as f:
    f.write('\n'.join([getattr(harness, 'TMP', mine), mine, loose]))
os.rename(rec + '.new', rec)
time.sleep(600)
'''


def procs_whose(name, word):
    """PIDs of the processes whose /proc/PID/`name` holds `word`."""
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open('/proc/%s/%s' % (d, name), 'rb') as f:
                    if word.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def procs_with(word):
    """PIDs of the processes whose command line holds `word`."""
    return procs_whose('cmdline', word)


def procs_with_env(word):
    """PIDs of the processes whose environment holds `word`."""
    return procs_whose('environ', word)


def procs_in_mounts_of(path):
    """PIDs of the processes whose mount namespace names `path`."""
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/mountinfo' % d) as f:
                    if path + '/' in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def crons_in(path):
    out = []
    for pid in procs_in_mounts_of(path):
        try:
            with open('/proc/%d/comm' % pid) as f:
                if f.read().strip() == 'cron':
                    out.append(pid)
        except OSError:
            pass
    return out


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(what, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = what()
        if r:
            return r
        time.sleep(0.2)
    return None


class Inner:
    """tests/run.py started as `make check` starts it, with $TMPDIR a
    directory of this test, in a session of its own (as a terminal's
    foreground job)."""

    def __init__(self, words, **env):
        self.tmp = tempfile.mkdtemp(prefix='inner-')
        os.chmod(self.tmp, 0o1777)
        e = dict(os.environ, TMPDIR=self.tmp, **env)
        self.p = subprocess.Popen(['/usr/bin/python3', RUN] + words, env=e,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def interrupt(self, sig, group):
        if group:
            os.killpg(self.p.pid, sig)
        else:
            self.p.send_signal(sig)
        try:
            out = self.p.communicate(timeout=90)[0]
        except subprocess.TimeoutExpired:
            self.p.kill()
            out = self.p.communicate()[0]
        time.sleep(1)           # what goes on its own has gone by now
        return out.decode(errors='replace')


def fake(tok, rec, **env):
    path = os.path.join(SCRATCH, 'fake_program_%d' % len(os.listdir(
        SCRATCH)))
    with open(path, 'w') as f:
        f.write(FAKE % {'here': HERE})
    os.chmod(path, 0o755)
    inner = Inner([path], UNITS=path, HYGIENE_TOKEN=tok, HYGIENE_RECORD=rec,
                  **env)
    inner.path = path
    return inner


def kill_fake(tok, inner):
    """What this test started, stopped whatever run.py did."""
    kill_all(procs_with(inner.path) + procs_with(tok))
    inner.p.wait()


def not_under_the_sanitizers():
    """These check tests/run.py, never smtpsend's C: make check-asan (the
    same suite with an ASan build) has nothing to add but a minute."""
    if os.environ.get('ASAN_OPTIONS'):
        skip('make check runs it: no C code of smtpsend runs here')


def interrupted_fake(sig, group):
    if available():
        skip(available())
    tok = 'hygiene-%d-%d' % (os.getpid(), sig)
    rec = os.path.join(SCRATCH, 'record-%d' % sig)
    inner = fake(tok, rec)
    made = []
    try:
        expect(wait_for(lambda: os.path.exists(rec), 30),
               'the stand-in program did not start')
        with open(rec) as f:
            made = f.read().split('\n')
        expect(wait_for(lambda: len(procs_with(tok)) == 3, 10),
               'the 3 processes of the stand-in: %r' % procs_with(tok))
        out = inner.interrupt(sig, group)
        expect_eq(procs_with(tok), [], 'processes left after %s; run.py said %r'
                  % (signal.Signals(sig).name, out[-600:]))
        expect_eq([d for d in made if os.path.exists(d)], [],
                  'temporary directories left')
        expect_eq(os.listdir(inner.tmp), [], 'left in $TMPDIR')
        expect_eq(procs_in_mounts_of(made[1]), [], 'a mount namespace left')
    finally:
        kill_fake(tok, inner)
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


@test
def sigterm_to_the_runner_stops_every_process_of_the_program():
    """A CI time limit: SIGTERM to tests/run.py alone."""
    not_under_the_sanitizers()
    interrupted_fake(signal.SIGTERM, group=False)


@test
def ctrl_c_stops_every_process_of_the_program():
    """Ctrl-C: SIGINT to the foreground process group."""
    not_under_the_sanitizers()
    interrupted_fake(signal.SIGINT, group=True)


def sigterm_to_a_caller(name, argv, tok):
    """SIGTERM to `argv` alone (something that runs tests/run.py; '%s' in
    its words: the stand-in's path) while the stand-in runs: nothing of it
    may stay."""
    if available():
        skip(available())
    rec = os.path.join(SCRATCH, 'record-' + name)
    path = os.path.join(SCRATCH, 'fake_program_' + name)
    with open(path, 'w') as f:
        f.write(FAKE % {'here': HERE})
    os.chmod(path, 0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
    env.update(TMPDIR=SCRATCH, HYGIENE_TOKEN=tok, HYGIENE_RECORD=rec,
               UNITS=path)
    # Its output in a file: what it leaves running may hold a pipe open.
    log = open(os.path.join(SCRATCH, name + '.out'), 'w+b')
    p = subprocess.Popen([a.replace('%s', path) for a in argv], env=env,
                         stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, cwd=os.path.join(HERE, '..'))
    made = []
    try:
        expect(wait_for(lambda: os.path.exists(rec), 120),
               'the stand-in program did not start under %s' % name)
        with open(rec) as f:
            made = f.read().split('\n')
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=90)
        time.sleep(1)
        log.seek(0)
        out = log.read().decode(errors='replace')
        expect_eq(procs_with(tok) + procs_with_env(tok), [],
                  'processes left after SIGTERM to %s; it said %r'
                  % (name, out[-600:]))
        expect_eq([d for d in made if os.path.exists(d)], [],
                  'temporary directories left')
        expect_eq([n for n in os.listdir(SCRATCH)
                   if n.startswith('smtpsend-')], [], 'left in $TMPDIR')
    finally:
        kill_all(procs_with(tok) + procs_with_env(tok))
        if p.poll() is None:
            p.kill()
        p.wait()
        log.close()
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


@test
def sigterm_to_make_check_stops_every_process_of_the_program():
    """`make check` killed by a CI time limit (SIGTERM to make alone): make
    passes it on to its recipe's process, which must be run.py itself."""
    not_under_the_sanitizers()
    build = os.path.relpath(os.path.dirname(os.path.abspath(
        os.environ.get('SMTPSEND') or os.path.join(HERE, '..', 'build',
                                                   'smtpsend'))),
        os.path.join(HERE, '..'))
    sigterm_to_a_caller('make', ['make', '-s', '-C', os.path.join(HERE, '..'),
                                 'check', 'B=' + build, 'UNITS=%s'],
                        'hygiene-make-%d' % os.getpid())


@test
def sigterm_to_hoststates_stops_every_process_of_the_program():
    """tests/hoststates.py (make check-hoststates) killed the same way: it
    passes SIGTERM on to its run.py."""
    not_under_the_sanitizers()
    # The last word goes to run.py: only the stand-in runs.
    sigterm_to_a_caller('hoststates', [
        '/usr/bin/python3', os.path.join(HERE, 'hoststates.py'), '--states',
        'dotless+nomailname+nomta', '%s'],
        'hygiene-hoststates-%d' % os.getpid())


@test
def a_program_that_leaves_something_fails_the_run():
    """A program that ends leaving a directory in $TMPDIR and a process
    running: the run says so, fails, and removes them."""
    not_under_the_sanitizers()
    if available():
        skip(available())
    tok = 'hygiene-end-%d' % os.getpid()
    inner = fake(tok, os.path.join(SCRATCH, 'record-end'), HYGIENE_END='1')
    try:
        try:
            out = inner.p.communicate(timeout=60)[0].decode(errors='replace')
        except subprocess.TimeoutExpired:
            inner.p.kill()
            inner.p.communicate()
            raise harness.Failure('run.py still waiting 60 s after its program'
                                  ' ended (for a process the program left?)')
        expect_eq(inner.p.returncode, 1, 'exit status of run.py: %r' % out)
        expect_in('left behind: process', out, 'run.py on the escaped daemon')
        expect(re.search(r'left behind: %s/smtpsend-check-[^/]+/fake-'
                         % re.escape(inner.tmp), out),
               'run.py on the directory left in $TMPDIR: %r' % out)
        expect_in('\n1 passed, 1 failed', out, 'the summary')
        expect_eq(procs_with(tok), [], 'processes left')
        expect_eq(os.listdir(inner.tmp), [], 'left in $TMPDIR')
    finally:
        kill_fake(tok, inner)


@test
def sigterm_stops_test_real_callers_cron_daemons():
    """test_real_callers stopped while its cron daemons run (in mount
    namespaces of their own, in sessions of their own)."""
    not_under_the_sanitizers()
    if available():
        skip(available())
    if not os.path.exists('/usr/sbin/cron'):
        skip('cron is not installed (tests/deps.sh)')
    inner = Inner(['test_real_callers'], UNITS='')
    try:
        expect(wait_for(lambda: crons_in(inner.tmp), 60),
               'no cron daemon of test_real_callers came up')
        out = inner.interrupt(signal.SIGTERM, group=False)
        expect_eq(procs_in_mounts_of(inner.tmp), [],
                  'processes of test_real_callers left; run.py said %r'
                  % out[-600:])
        expect_eq(os.listdir(inner.tmp), [], 'left in $TMPDIR')
    finally:
        try:    # its group: the test programs too, had run.py left them
            os.killpg(inner.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        inner.p.wait()
        kill_all(procs_in_mounts_of(inner.tmp))


if __name__ == '__main__':
    main()
