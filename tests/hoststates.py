#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Runs the suite (tests/run.py) on each host state it must pass on
(CONTRACT section 12): a dotted or dot-less host name, /etc/mailname
absent, dotted or dot-less, an MTA's /usr/sbin/sendmail present or not.

Each state is made in a private mount and UTS namespace (`unshare -m -u`):
overlays over /etc, /usr/sbin and /usr/lib whose upper directories are
thrown away afterwards, and a host name of its own. The machine's /etc,
/usr and host name never change; that is checked at the end too.

    tests/hoststates.py [--states NAME,...] [--list] [TEST_FILTER...]
    tests/hoststates.py --ci        (what CI runs: see QUICK below)

TEST_FILTER words go to tests/run.py (which programs to run); SMTPSEND and
UNITS come from the environment as for tests/run.py. The stand-in MTA logs
every run: the suite must never call the machine's sendmail, so a logged
run fails the state. Output: one line per state, and the failing
programs' output; exit 1 when a state failed.
"""
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed\s*$', re.M)

# name: (host name, the names /etc/hosts gives 127.0.1.1)
HOSTS = {
    'dotless': ('box', 'box'),                   # `hostname` "box", no domain
    'dotted': ('mx1.hoststate.example', 'mx1.hoststate.example mx1'),
    'resolver': ('box', 'box.hoststate.example box'),  # FQDN from /etc/hosts
}
MAILNAMES = {'nomailname': None, 'mailname-dotted': 'mail.hoststate.example',
             'mailname-dotless': 'box'}
MTAS = ('nomta', 'mta')

# --ci: the whole suite takes about 3 minutes a state, 18 states nearly an
# hour. The programs that take seconds run in every state; the slower ones
# that depend on the host (local names, EHLO and Message-ID in test_caller
# and test_session, the real callers through /usr/sbin/sendmail) in four
# corner states. The interoperability servers, the OAuth2 rig and the
# scripted server's self-test (65 s a state) are left to the whole-suite
# mode: run it after changing how smtpsend reads the host.
QUICK = ['test_system', 'test_cli', 'test_bs', 'test_callers.py',
         'test_install', 'test_outbox', 'test_security']
# test_completions (15 s) reads no host name or mailname: the corners are
# enough to see that the shells' start-up files of each state do not matter.
SLOW = ['test_caller.py', 'test_session', 'test_real_callers',
        'test_completions']
CORNERS = {'dotless+nomailname+nomta', 'dotless+mailname-dotless+mta',
           'dotted+mailname-dotted+mta', 'resolver+nomailname+mta'}

FAKE_MTA = """#!/bin/sh
# hoststates.py: a stand-in for an installed MTA. The suite must never run
# the machine's sendmail: every run is logged and fails the state.
echo "$0 $*" >>%s/mta-runs
cat >/dev/null
exit 0
"""


def states():
    for h in HOSTS:
        for m in MAILNAMES:
            for t in MTAS:
                yield '%s+%s+%s' % (h, m, t), (h, m, t)


def setup_script(d, host, mailname, mta):
    name, hosts_line = HOSTS[host]
    lines = ['set -e']
    for top, sub in (('/etc', 'etc'), ('/usr/sbin', 'sbin'),
                     ('/usr/lib', 'lib')):
        lines.append('mount -t overlay overlay -o lowerdir=%s,upperdir=%s/%s-up,'
                     'workdir=%s/%s-work %s' % (top, d, sub, d, sub, top))
    lines.append('hostname %s' % shlex.quote(name))
    lines.append('printf "127.0.1.1\\t%%s\\n" %s >>/etc/hosts'
                 % shlex.quote(hosts_line))
    text = MAILNAMES[mailname]
    if text is None:
        lines.append('rm -f /etc/mailname')
    else:
        lines.append('printf "%%s\\n" %s >/etc/mailname' % shlex.quote(text))
    lines.append('rm -f /usr/sbin/sendmail /usr/lib/sendmail')
    if mta == 'mta':
        lines += ['cp %s/fake-sendmail /usr/sbin/sendmail' % d,
                  'chmod 755 /usr/sbin/sendmail',
                  'ln -s ../sbin/sendmail /usr/lib/sendmail']
    # The state is in effect, or nothing runs.
    lines += ['[ "$(hostname)" = %s ]' % shlex.quote(name),
              '[ "$(cat /etc/mailname 2>/dev/null)" = %s ]'
              % shlex.quote(text or ''),
              '[ %s -e /usr/sbin/sendmail ]' % ('' if mta == 'mta' else '!')]
    return lines


def run_state(label, host, mailname, mta, filters, log):
    d = tempfile.mkdtemp(prefix='smtpsend-hoststate-')
    os.chmod(d, 0o755)
    for sub in ('etc', 'sbin', 'lib'):
        os.makedirs(os.path.join(d, sub + '-up'))
        os.makedirs(os.path.join(d, sub + '-work'))
    os.makedirs(os.path.join(d, 'log'))
    os.chmod(os.path.join(d, 'log'), 0o1777)
    with open(os.path.join(d, 'fake-sendmail'), 'w') as f:
        f.write(FAKE_MTA % os.path.join(d, 'log'))
    run = ' '.join(shlex.quote(a) for a in
                   ['/usr/bin/python3', os.path.join(HERE, 'run.py')] + filters)
    script = '\n'.join(setup_script(d, host, mailname, mta) + ['exec ' + run])
    t0 = time.monotonic()
    p = subprocess.Popen(['unshare', '-m', '-u', '--propagation', 'private',
                          'bash', '-c', script], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out = p.communicate()[0].decode(errors='replace')
    except BaseException:
        # Ctrl-C or SIGTERM: p is run.py itself (unshare and bash exec it),
        # which stops its programs and all they started on SIGTERM.
        p.send_signal(signal.SIGTERM)
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
        raise
    took = time.monotonic() - t0
    runs_path = os.path.join(d, 'log', 'mta-runs')
    mta_runs = open(runs_path).read() if os.path.exists(runs_path) else ''
    shutil.rmtree(d, ignore_errors=True)
    with open(log, 'w') as f:
        f.write(out)
    found = SUMMARY.findall(out)
    passed, failed = (int(x) for x in found[-1]) if found else (0, 1)
    if mta_runs:
        failed += 1
        out += '\nthe machine\'s sendmail was run:\n' + mta_runs
    ok = p.returncode == 0 and found and not mta_runs
    print('%-40s %5d passed, %d failed  (%.0fs)' % (label, passed, failed,
                                                   took), flush=True)
    if not ok:
        for line in out.splitlines():
            if not re.match(r'^\S+\s+\d+ passed, 0 failed', line):
                print('    ' + line)
    return ok, passed, failed, took


def machine():
    """The host's own state, which no run may change."""
    h = hashlib.sha256()
    for path in ('/etc/mailname', '/etc/hosts', '/etc/hostname',
                 '/usr/sbin/sendmail', '/usr/lib/sendmail'):
        try:
            st = os.lstat(path)
            h.update(('%s %o %d %d' % (path, st.st_mode, st.st_size,
                                       st.st_mtime_ns)).encode())
        except OSError:
            h.update(('%s missing' % path).encode())
    with open('/proc/sys/kernel/hostname') as f:
        h.update(f.read().encode())
    return h.hexdigest()


def plan(argv):
    """[(states to run or None for all, tests/run.py words)]"""
    if argv[:1] == ['--ci']:
        return [(None, QUICK), (CORNERS, SLOW)]
    if argv[:1] == ['--states']:
        return [(set(argv[1].split(',')), argv[2:])]
    return [(None, argv)]


def main(argv):
    if '--list' in argv:
        print('\n'.join(label for label, _ in states()))
        return 0
    if os.geteuid() != 0 or not shutil.which('unshare'):
        print('hoststates: needs root and unshare (util-linux)',
              file=sys.stderr)
        return 1
    logdir = os.path.join(os.environ.get('B', 'build'), 'hoststates')
    os.makedirs(logdir, exist_ok=True)
    before = machine()
    results = []
    for n, (only, words) in enumerate(plan(argv)):
        for label, (h, m, t) in states():
            if only is None or label in only:
                log = os.path.join(logdir, '%s.%d.log' % (label, n))
                results.append(run_state(label, h, m, t, words, log))
    bad = sum(1 for r in results if not r[0])
    if machine() != before:
        print('hoststates: the machine\'s /etc/mailname, /etc/hosts, '
              'sendmail or host name changed', file=sys.stderr)
        bad += 1
    print('%d runs, %d failed; %.0fs in all (logs in %s)' % (
        len(results), bad, sum(r[3] for r in results), logdir))
    return 1 if bad else 0


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == '__main__':
    for _s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(_s, _on_signal)
    sys.exit(main(sys.argv[1:]))
