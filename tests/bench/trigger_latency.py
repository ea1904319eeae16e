#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""How long a www-data message takes to leave through the maildrop trigger
(CONTRACT section 7): a measurement, not a test (`make check` does not run
it). Root only; needs unshare with PID, mount, UTS, IPC and cgroup
namespaces and cgroup2.

It boots systemd (the machine's /lib/systemd/systemd) as PID 1 of a private
PID, mount, UTS, IPC and cgroup namespace, in a cgroup2 subtree of its own,
with overlays over /etc, /var/spool and /usr/local/bin, and the unit files of
the packaging branch (UNITS, read-only: smtpsend-maildrop.path,
smtpsend-queue.service with @BINDIR@ = /usr/local/bin). Only a target of
ours is started (`--unit=`): it wants the path unit and nothing else; a
drop-in gives the two units DefaultDependencies=no so that sysinit.target
(udev, journald...) is not pulled in next to the machine's own. The
scripted server runs on 127.0.0.1 (the namespace shares the network).

Then, N times: www-data (uid 33, home not writable, root's 0600
/etc/smtpsend.conf unreadable) runs `sendmail -t` inside the namespace; the
time from its start to the server's end of data is the latency.

    tests/bench/trigger_latency.py [UNITS_DIR] [N] [GAP]

GAP (seconds, default 0.5) between one message's departure and the next
submission; with GAP 0 the next is submitted as soon as the previous
sendmail returns, without waiting for it to leave (a burst).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from e2e import BINARY, server  # noqa: E402

CG = 'i26-trigger'     # our subtree of the machine's (unused) cgroup2


def cgroup2(cmd):
    """A shell command with the machine's cgroup2 hierarchy at $CG, in a
    mount namespace of its own (the machine mounts only cgroup v1)."""
    return ('set -e; T=$(mktemp -d); trap \'umount $T 2>/dev/null; rmdir $T\' '
            'EXIT; mount -t cgroup2 none $T; CG=$T/%s; %s' % (CG, cmd))


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def prepare(d, port, units_dir):
    for sub in ('etc-up', 'etc-work', 'spool-up', 'spool-work', 'bin-up',
                'bin-work', 'var-www'):
        os.makedirs(os.path.join(d, sub))
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, 'var-www'), 0o755)
    units = os.path.join(d, 'etc-up', 'systemd', 'system')
    os.makedirs(units)
    shutil.copy(os.path.join(units_dir, 'smtpsend-maildrop.path'), units)
    with open(os.path.join(units_dir, 'smtpsend-queue.service')) as f:
        write(os.path.join(units, 'smtpsend-queue.service'),
              f.read().replace('@BINDIR@', '/usr/local/bin'))
    for u in ('smtpsend-maildrop.path', 'smtpsend-queue.service'):
        write(os.path.join(units, u + '.d', 'measure.conf'),
              '[Unit]\nDefaultDependencies=no\n')
    write(os.path.join(units, 'measure.target'),
          '[Unit]\nDefaultDependencies=no\nWants=smtpsend-maildrop.path\n')
    write(os.path.join(d, 'etc-up', 'smtpsend.conf'),
          'host 127.0.0.1\nport %d\ntls off\nsyslog off\ntimeout 10\n'
          'maildomain example.org\nuser tester\npassword pw\n' % port, 0o600)
    md = os.path.join(d, 'spool-up', 'smtpsend', 'maildrop')
    os.makedirs(md)
    os.chmod(os.path.dirname(md), 0o711)
    os.chmod(md, 0o1733)
    os.setxattr(os.path.dirname(md), 'trusted.overlay.opaque', b'y')
    shutil.copy(BINARY, os.path.join(d, 'bin-up', 'smtpsend'))
    os.symlink('smtpsend', os.path.join(d, 'bin-up', 'sendmail'))


def boot(d):
    inner = '\n'.join([
        'set -e',
        'mount -t proc proc /proc',
        'mount -t tmpfs -o mode=0755 tmpfs /run',
        'mount -t cgroup2 none /sys/fs/cgroup',
        'mount -t overlay overlay -o lowerdir=/etc,upperdir=%s/etc-up,'
        'workdir=%s/etc-work /etc' % (d, d),
        'mount -t overlay overlay -o lowerdir=/var/spool,upperdir=%s/'
        'spool-up,workdir=%s/spool-work /var/spool' % (d, d),
        'mount -t overlay overlay -o lowerdir=/usr/local/bin,upperdir=%s/'
        'bin-up,workdir=%s/bin-work /usr/local/bin' % (d, d),
        'hostname trigger-test',
        'exec env container=smtpsend-measure /lib/systemd/systemd '
        '--system --unit=measure.target --log-target=console '
        '--show-status=no'])
    script = ('unshare --mount --propagation private bash -c %s' % repr_sh(
        cgroup2('mkdir -p $CG; echo $$ > $CG/cgroup.procs; umount $T; '
                'rmdir $T; trap - EXIT; '
                'exec unshare --cgroup --pid --fork --mount --uts --ipc '
                '--propagation private bash -c %s' % repr_sh(inner))))
    return subprocess.Popen(['bash', '-c', script], stdin=subprocess.DEVNULL,
                            stdout=open(os.path.join(d, 'systemd.log'), 'wb'),
                            stderr=subprocess.STDOUT, start_new_session=True)


def repr_sh(s):
    return "'" + s.replace("'", "'\\''") + "'"


def init_pid(boot_proc):
    """systemd's pid as the machine sees it: a descendant of ours."""
    for _ in range(100):
        todo = [str(boot_proc.pid)]
        while todo:
            pid = todo.pop()
            try:
                if open('/proc/%s/comm' % pid).read().strip() == 'systemd':
                    return int(pid)
            except OSError:
                continue
            todo += subprocess.run(['pgrep', '-P', pid], capture_output=True,
                                   text=True).stdout.split()
        time.sleep(0.1)
    return None


def inside(pid, cmd, uid=0, stdin=b'', home='/'):
    argv = ['nsenter', '-t', str(pid), '-m', '-p', '-u', '-i', '--',
            'setpriv', '--reuid=%d' % uid, '--regid=%d' % uid,
            '--clear-groups', 'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin',
            'HOME=%s' % home, 'LC_ALL=C', 'sh', '-c', cmd]
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=30)


def stop(p, pid):
    """systemd made a session of its own: killed by its pid, which takes
    every process of its PID namespace with it; then our cgroup goes."""
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if not os.path.exists('/proc/%d' % pid):
                break
            time.sleep(0.1)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    for _ in range(25):
        r = subprocess.run(['unshare', '--mount', '--propagation', 'private',
                            'bash', '-c', cgroup2(
                                'find $CG -depth -type d -exec rmdir {} +')],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return
        time.sleep(0.2)
    print('cgroup %s left: %s' % (CG, r.stderr.strip()))


def measure(units_dir, n=10, gap=0.5, say=print):
    """Latencies in seconds, NaN for a message that did not leave within
    60 s; RuntimeError when systemd cannot be run here."""
    srv = server(tls=None, users={'tester': 'pw'}, require_auth=True)
    arrived = {}
    srv.on_message = lambda conn, m: arrived.setdefault(
        m['data'].split(b'tok-', 1)[1][:8].decode(), time.monotonic())
    d = tempfile.mkdtemp(prefix='smtpsend-trigger-')
    prepare(d, srv.port, units_dir)
    p = boot(d)
    pid = None
    try:
        pid = init_pid(p)
        if pid is None:
            raise RuntimeError('systemd did not start')
        time.sleep(2)
        r = inside(pid, 'systemctl is-active smtpsend-maildrop.path')
        if r.stdout.decode().strip() != 'active':
            with open(os.path.join(d, 'systemd.log'), 'rb') as f:
                log = f.read()[-500:].decode(errors='replace')
            raise RuntimeError('the path unit is %r: %s' % (
                r.stdout.decode().strip(), log))
        starts = {}
        for i in range(n):
            tok = '%08d' % i
            t0 = time.monotonic()
            r = inside(pid, 'sendmail -t', uid=33, home=d + '/var-www',
                       stdin=b'To: root\nSubject: t\n\ntok-%s\n' % tok.encode())
            starts[tok] = t0
            say('message %d: sendmail exit %d (%s)' % (
                i, r.returncode, r.stderr.decode().strip()))
            if gap > 0:
                while tok not in arrived and time.monotonic() < t0 + 60:
                    time.sleep(0.01)
                time.sleep(gap)
        deadline = time.monotonic() + 60
        while len(arrived) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return [arrived.get(tok, float('nan')) - t0
                for tok, t0 in sorted(starts.items())]
    finally:
        stop(p, pid)
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)


def main():
    units = sys.argv[1] if len(sys.argv) > 1 else '/work/wt/i23pkg/cmd/system'
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    gap = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    lat = measure(units, n, gap, say=lambda t: print(t, flush=True))
    for i, took in enumerate(lat):
        print('message %d: left after %.3f s' % (i, took), flush=True)
    ok = sorted(x for x in lat if x == x)
    if ok:
        print('latency: %d of %d sent; min %.3f s, median %.3f s, max %.3f s'
              % (len(ok), n, ok[0], ok[len(ok) // 2], ok[-1]))


if __name__ == '__main__':
    main()
