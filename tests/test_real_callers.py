#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Real callers (issue 17): the real programs that send through
/usr/sbin/sendmail (Debian's cron, PHP mail(), Symfony Mailer's sendmail
transport, git send-email, bsd-mailx, sudo, at), each run the way it sends in
production, with the smarthost up and down.

Each runs in a private mount and UTS namespace (tests/ns.py) where overlays
over /usr/sbin and /usr/lib put smtpsend at /usr/sbin/sendmail (through
tests/callers/sendmail, which records the caller's argv, uid, environment,
stdin, smtpsend's stderr and exit status) and /usr/lib/sendmail, and where
/etc/smtpsend.conf points at the scripted server (tls off, syslog off,
maildomain example.org). The machine's /etc, /usr, /var/spool, /var/lib/sudo
and /run never change: the last test compares them with what they were.

Every caller prints one `caller:` line with what was seen: its version, the
argv smtpsend got, and smarthost up and down the exit status, what the caller
reported and how many copies arrived. CONTRACT sections 1, 2, 6 and 7.
"""
import atexit
import glob
import hashlib
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time

from harness import test, expect, expect_eq, expect_in, skip, main
from e2e import BINARY, server
from ns import System, available
import servers.common

HERE = os.path.dirname(os.path.abspath(__file__))
CALLERS = os.path.join(HERE, 'callers')
HOST = 'web1'                 # the namespace's host name: dotless, as VMs are
WWW = 33                      # www-data on Debian
ALICE, ALICE_PW = 4711, 'alice-pw-4711'   # a user not in sudoers
CONF = ('host 127.0.0.1\nport %d\ntls off\nsyslog off\ntimeout 10\n'
        'maildomain example.org\n')
T0 = time.monotonic()


# ------------------------------------------------------- machine snapshot --

def _sha(path):
    try:
        with open(path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        return 'unreadable: %s' % e.strerror


def _listing(top, recursive=True):
    rows = []
    paths = [top]
    if os.path.isdir(top) and not os.path.islink(top):
        paths += sorted(glob.glob(top + '/**', recursive=True) if recursive
                        else glob.glob(top + '/*'))[1 if recursive else 0:]
    for p in paths:
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            rows.append('%s missing' % p)
            continue
        rows.append('%s %o %d:%d %d %s' % (p, st.st_mode, st.st_uid, st.st_gid,
                                           st.st_size, os.readlink(p)
                                           if os.path.islink(p) else ''))
    return rows


def snapshot():
    """What of the machine these tests must leave exactly as it was."""
    s = {}
    p = subprocess.run('ls -la /usr/sbin/sendmail /usr/lib/sendmail 2>&1',
                       shell=True, capture_output=True)
    s['ls sendmail'] = p.stdout.decode(errors='replace')
    for f in ('/etc/crontab', '/etc/sudoers', '/etc/hosts', '/etc/passwd',
              '/etc/shadow', '/etc/group', '/etc/smtpsend.conf',
              '/etc/mailname', '/usr/sbin/sendmail'):
        s['sha256 ' + f] = _sha(f)
    s['/var/spool'] = _listing('/var/spool', recursive=False)
    for top in ('/var/spool/smtpsend', '/var/spool/cron', '/etc/cron.d',
                '/var/lib/sudo', '/var/lib/php/sessions', '/usr/sbin',
                '/usr/lib/sendmail'):
        s[top] = _listing(top, recursive=top not in ('/usr/sbin',))
    for f in ('/run/crond.pid', '/run/crond.reboot', '/run/atd.pid',
              '/run/sudo'):
        s[f] = os.path.lexists(f)
    with open('/proc/sys/kernel/hostname') as f:
        s['hostname'] = f.read()
    return s


OUR_DIRS = []    # each Callers' directory: the overlays of its namespace name it


def daemons():
    """The cron and atd processes of this program: their mounts name one of
    its Callers directories. Another run's, on a shared machine, do not."""
    p = subprocess.run(['pgrep', '-x', 'cron|atd'], capture_output=True,
                       text=True)
    ours = []
    for pid in p.stdout.split():
        try:
            with open('/proc/%s/mountinfo' % pid) as f:
                mounts = f.read()
        except OSError:
            continue
        if any(d + '/' in mounts for d in OUR_DIRS):
            ours.append(pid)
    return ours


BEFORE = snapshot()


# ------------------------------------------------------------- namespaces --

def need_ns():
    why = available()
    if why:
        skip(why)


def version(pkg):
    p = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', pkg],
                       capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def need(*pkgs):
    """Skip unless every Debian package is installed; returns 'pkg ver'."""
    missing = [p for p in pkgs if not version(p)]
    if missing:
        skip('Debian package%s not installed: %s (tests/deps.sh)'
             % ('s' if len(missing) > 1 else '', ' '.join(missing)))
    return ', '.join('%s %s' % (p, version(p)) for p in pkgs)


class Hole:
    """A smarthost that is down: a port that is bound (nobody else gets it)
    but not listening, so connecting is refused."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def token():
    return secrets.token_hex(6)


class Callers(System):
    """System (tests/ns.py) plus: /usr/sbin and /usr/lib overlaid with
    smtpsend as sendmail, a private /run, /var/lib/sudo and crontab spool,
    the machine's cron jobs hidden, the host name in /etc/hosts, a user alice
    who is not in sudoers, and /etc/smtpsend.conf for the scripted server."""

    def __init__(self, port, conf_mode=0o644, conf_extra='', cron=None):
        super().__init__(hostname=HOST, maildrop=True)
        OUR_DIRS.append(self.dir)
        self.conf_mode, self.conf_extra = conf_mode, conf_extra
        self.smarthost(port)
        self.cron = dict(cron or {})
        d = self.dir
        for sub in ('sbin-up', 'sbin-work', 'lib-up', 'lib-work', 'log',
                    'files', 'roothome'):
            os.makedirs(os.path.join(d, sub))
        self.log = os.path.join(d, 'log')
        os.chmod(self.log, 0o1777)
        os.chmod(os.path.join(d, 'roothome'), 0o700)
        self.roothome = os.path.join(d, 'roothome')
        # A copy: others may rebuild build/smtpsend while this runs.
        shutil.copyfile(BINARY, os.path.join(d, 'sbin-up', 'smtpsend'))
        os.chmod(os.path.join(d, 'sbin-up', 'smtpsend'), 0o755)
        with open(os.path.join(CALLERS, 'sendmail')) as f:
            wrapper = f.read().replace('@LOGDIR@', self.log)
        with open(os.path.join(d, 'sbin-up', 'sendmail'), 'w') as f:
            f.write(wrapper)
        os.chmod(os.path.join(d, 'sbin-up', 'sendmail'), 0o755)
        os.symlink('../sbin/sendmail', os.path.join(d, 'lib-up', 'sendmail'))
        self.procs = []

    def smarthost(self, port):
        self.etc['smtpsend.conf'] = (CONF % port + self.conf_extra,
                                     self.conf_mode)

    def _setup(self):
        d = self.dir
        pw = subprocess.run(['openssl', 'passwd', '-6', ALICE_PW],
                            capture_output=True, text=True,
                            check=True).stdout.strip()
        lines = super()._setup() + [
            'mount -t overlay overlay -o lowerdir=/usr/sbin,'
            'upperdir=%s/sbin-up,workdir=%s/sbin-work /usr/sbin' % (d, d),
            'mount -t overlay overlay -o lowerdir=/usr/lib,upperdir=%s/lib-up,'
            'workdir=%s/lib-work /usr/lib' % (d, d),
            # pid files, @reboot stamps, sudo's time stamps: not the machine's
            'mount -t tmpfs -o mode=0755 tmpfs /run',
            'mkdir -m 1777 /run/lock',
            'if [ -d /var/lib/sudo ]; then mount -t tmpfs -o mode=0711 tmpfs'
            ' /var/lib/sudo; fi',
            # only this test's cron jobs run in here, never the machine's
            'mkdir -p /etc/cron.d',
            'mount -t tmpfs -o mode=0755 tmpfs /etc/cron.d',
            'rm -f /etc/crontab',
            'if [ -d /var/spool/cron/crontabs ]; then mount -t tmpfs -o '
            'mode=1730 tmpfs /var/spool/cron/crontabs; chgrp crontab '
            '/var/spool/cron/crontabs || true; fi',
            "grep -q ' %s$' /etc/hosts || echo '127.0.1.1 %s' >> /etc/hosts"
            % (HOST, HOST),
            "grep -q '^alice:' /etc/passwd || echo 'alice:x:%d:%d:Alice:"
            "/home/alice:/bin/bash' >> /etc/passwd" % (ALICE, ALICE),
            "grep -q '^alice:' /etc/group || echo 'alice:x:%d:' >> /etc/group"
            % ALICE,
            "grep -q '^alice:' /etc/shadow || "
            "echo 'alice:%s:19000:0:99999:7:::' >> /etc/shadow" % pw]
        for name, text in self.cron.items():
            src = os.path.join(d, 'files', 'cron-' + name)
            with open(src, 'w') as f:
                f.write(text)
            lines += ['cp %s /etc/cron.d/%s' % (src, name),
                      'chmod 0644 /etc/cron.d/%s' % name]
        return lines

    def _command(self, shell, uid, home, env):
        home = home or (self.home(uid) if uid else self.roothome)
        e = {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': home,
             'LC_ALL': 'C'}
        e.update(env or {})
        cmd = shell
        if uid:
            cmd = ('exec setpriv --reuid=%d --regid=%d --clear-groups '
                   'bash -c %s' % (uid, uid, shlex.quote(cmd)))
        script = '\n'.join(self._setup() + [cmd])
        return ['unshare', '-m', '-u', '--propagation', 'private', 'bash',
                '-c', script], e

    def sh(self, shell, uid=0, home=None, env=None, stdin=b'', timeout=90):
        """A command line in the namespace as `uid`; Result as e2e.run."""
        argv, e = self._command(shell, uid, home, env)
        p = subprocess.run(argv, input=stdin, env=e, capture_output=True,
                           timeout=timeout)
        return Result(p.returncode, p.stdout.decode(errors='replace'),
                      p.stderr.decode(errors='replace'))

    def start(self, shell):
        """A daemon in the namespace, in its own process group."""
        argv, e = self._command(shell, 0, None, None)
        out = open(os.path.join(self.dir, 'daemon.out'), 'wb')
        p = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append(p)
        return p

    def stop_daemons(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(5)
        self.procs = []

    def __exit__(self, *exc):
        self.stop_daemons()
        return super().__exit__(*exc)

    def calls(self):
        """Every run of /usr/sbin/sendmail so far, oldest first: dicts with
        uid, path, env, argv (as the shell would quote it), stdin, err, rc
        (None while it runs)."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.log, 'inv-*'))):
            if '.' in os.path.basename(path):
                continue
            c = {'rc': None, 'err': '', 'stdin': b''}
            with open(path) as f:
                for line in f:
                    key, _, value = line.rstrip('\n').partition(' ')
                    c[key] = value
            try:
                with open(path + '.rc') as f:
                    c['rc'] = int(f.read())
            except (OSError, ValueError):
                pass
            for ext, key, mode in (('.err', 'err', 'r'),
                                   ('.in', 'stdin', 'rb')):
                try:
                    with open(path + ext, mode) as f:
                        c[key] = f.read()
                except OSError:
                    pass
            out.append(c)
        return out

    def wait_calls(self, n, deadline):
        """Until n runs of sendmail have finished or time.monotonic() passes
        deadline."""
        while time.monotonic() < deadline:
            done = [c for c in self.calls() if c['rc'] is not None]
            if len(done) >= n:
                time.sleep(0.3)      # let the caller finish after its mailer
                return done
            time.sleep(0.2)
        return [c for c in self.calls() if c['rc'] is not None]

    def settle(self, before, timeout=30):
        """After a caller ran: until the sendmail it started (some, as sudo,
        do not wait for it) has finished; the runs since `before`."""
        deadline = time.monotonic() + timeout
        first = time.monotonic() + 3     # a mailer starts at once, or never
        while time.monotonic() < deadline:
            new = self.calls()[before:]
            if new and all(c['rc'] is not None for c in new):
                time.sleep(0.2)
                new2 = self.calls()[before:]
                if len(new2) == len(new):
                    return new2
            elif not new and time.monotonic() > first:
                return new
            time.sleep(0.1)
        return self.calls()[before:]

    def kept(self, home=None):
        """Entries kept, by place: root's outbox, the maildrop, and the outbox
        in `home` (a user's)."""
        def entries(d):
            try:
                return sorted(n for n in os.listdir(d) if not n.startswith('.')
                              and os.path.isfile(os.path.join(d, n)))
            except FileNotFoundError:
                return []
        k = {'/var/spool/smtpsend': entries(self.root_outbox()),
             'maildrop': entries(self.maildrop())}
        if home:
            k['~/.local/state/smtpsend/outbox'] = entries(
                os.path.join(home, '.local', 'state', 'smtpsend', 'outbox'))
        return {p: v for p, v in k.items() if v}


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return 'rc=%d stdout=%r stderr=%r' % (self.rc, self.out[-300:],
                                               self.err[-400:])


def copies(srv, tok):
    """Messages the scripted server accepted whose data holds tok."""
    srv.wait(count=len(srv.sessions), timeout=5)
    return [m for x in list(srv.sessions) for m in x.messages
            if tok.encode() in m['data']]


DEFERRED = []      # (caller, the deferred: line) of every down run


def deferred_line(calls, caller=None):
    for c in calls:
        for line in c['err'].splitlines():
            if 'deferred:' in line:
                if caller:
                    DEFERRED.append((caller, line))
                return line
    return None


def kept_text(k):
    if not k:
        return 'nothing kept'
    return ', '.join('%d kept in %s' % (len(v), p) for p, v in k.items())


def exits(calls):
    return ','.join('?' if c['rc'] is None else str(c['rc']) for c in calls) \
        or 'sendmail not run'


def argvs(calls):
    seen = []
    for c in calls:
        a = '[%s] (uid %s)' % (c.get('argv', '').strip(), c.get('uid'))
        if a not in seen:
            seen.append(a)
    return '; '.join(seen) or 'sendmail not run'


def report(name, versions, facts):
    print('caller: %s [%s]: argv %s%s' % (
        name, versions, facts.get('argv', '?'),
        ''.join(' | %s: %s' % (k, facts[k]) for k in ('up', 'down')
                if k in facts)), flush=True)


# ------------------------------------------------- the common up/down run --

def up_and_down(name, versions, shell, said, uid=0, home=None, env=None,
                where='/var/spool/smtpsend', queue_uid=0, check=None):
    """Run the command line `shell(token, system)` as `uid` with the
    smarthost up, then down (the message must be kept, in `where`), then with
    the smarthost up again `smtpsend -q` as queue_uid, twice: one copy in
    all, never two. `said(result)` is what the caller reported: (success,
    text). `check(message)` looks at the message delivered while up. home:
    a path, None (the user's own, writable) or 'root-owned'."""
    srv = server(tls=None)
    hole = Hole()
    facts = {}
    try:
        with Callers(srv.port) as s:
            if home == 'root-owned':
                home = os.path.join(s.dir, 'var-www')
                os.makedirs(home, mode=0o755)
            elif uid and home is None:
                home = s.home(uid)
            qhome = home if queue_uid == uid else None
            up_tok, down_tok = token(), token()
            r_up = s.sh(shell(up_tok, s), uid=uid, home=home, env=env)
            up_calls = s.settle(0)
            up_ok, up_said = said(r_up)
            up_msgs = copies(srv, up_tok)
            up_kept = s.kept(home)
            facts['argv'] = argvs(up_calls)
            facts['up'] = '%s; smtpsend exit %s; %d cop%s; %s' % (
                up_said, exits(up_calls), len(up_msgs),
                'y' if len(up_msgs) == 1 else 'ies', kept_text(up_kept))

            s.smarthost(hole.port)
            r_down = s.sh(shell(down_tok, s), uid=uid, home=home, env=env)
            down_calls = s.settle(len(up_calls))
            down_ok, down_said = said(r_down)
            early = copies(srv, down_tok)
            down_kept = s.kept(home)
            line = deferred_line(down_calls, name)
            s.smarthost(srv.port)
            q1 = s.sh('smtpsend -q', uid=queue_uid, home=qhome)
            after_q1 = copies(srv, down_tok)
            left = s.kept(home)
            s.sh('smtpsend -q', uid=queue_uid, home=qhome)
            after_q2 = copies(srv, down_tok)
            facts['down'] = ('%s; smtpsend exit %s, stderr %r; %s; '
                             '%s: %d cop%s (exit %d), again: %d, %s' % (
                                 down_said, exits(down_calls), line,
                                 kept_text(down_kept),
                                 "root's smtpsend -q" if queue_uid == 0 else
                                 "the user's own smtpsend -q",
                                 len(after_q1),
                                 'y' if len(after_q1) == 1 else 'ies', q1.rc,
                                 len(after_q2), kept_text(left)))
            if argvs(down_calls) != facts['argv']:
                facts['argv'] += ' (down: %s)' % argvs(down_calls)
    finally:
        srv.stop()
        hole.close()
        report(name, versions, facts)

    expect_eq(len(up_calls), 1, 'up: sendmail run once %r' % r_up)
    expect_eq(exits(up_calls), '0', 'up: smtpsend exit status %r %r'
              % (up_calls[0]['err'] if up_calls else '', r_up))
    expect(up_ok, 'up: the caller reports success: %s %r' % (up_said, r_up))
    expect_eq(len(up_msgs), 1, 'up: copies delivered')
    expect_eq(up_kept, {}, 'up: nothing kept')
    if check:
        check(up_msgs[0])

    expect_eq(len(down_calls), 1, 'down: sendmail run once %r' % r_down)
    expect_eq(exits(down_calls), '0', 'down: as sendmail, a kept message is '
              '"accepted for delivery" (deferred_status 0) %r'
              % (down_calls[0]['err'] if down_calls else ''))
    expect(line and line.startswith('smtpsend: deferred:'),
           'down: stderr says deferred: %r' % (down_calls[0]['err']
                                               if down_calls else ''))
    expect(down_ok, 'down: the caller reports success: %s %r'
           % (down_said, r_down))
    expect_eq(early, [], 'down: nothing delivered while down')
    expect_eq({p: len(v) for p, v in down_kept.items()}, {where: 1},
              'down: one entry kept')
    expect_eq(q1.rc, 0, 'smtpsend -q %r' % q1)
    expect_eq(len(after_q1), 1, 'after -q: copies delivered')
    expect_eq(left, {}, 'after -q: nothing left')
    expect_eq(len(after_q2), 1, 'a second -q sends no second copy')


def exit_said(r, ok_text='exit 0'):
    return r.rc == 0, ('caller exit %d' % r.rc if r.rc else ok_text)


# ----------------------------------------------------------------- cron --
#
# Debian's cron daemon in the foreground, jobs in /etc/cron.d for the coming
# minute. Started when this program starts (two
# namespaces, smarthost up and down), checked by the last tests, so the
# minute's wait overlaps with the other callers.

class CronRun:
    def __init__(self, up):
        self.up = up
        self.tok = token()
        self.srv = server(tls=None)
        self.hole = None if up else Hole()
        # The coming minute (at least 5 s away), so that each job runs once
        # however long the other tests take.
        now = time.time()
        when = (int(now) // 60 + 1) * 60
        if when - now < 5:
            when += 60
        lt = time.localtime(when)
        self.schedule = '%d %d * * *' % (lt.tm_min, lt.tm_hour)
        jobs = {'smtpsend-test': '%s root echo cron-output-%s\n'
                                 % (self.schedule, self.tok)}
        if up:
            jobs['smtpsend-test-mailto'] = ('MAILTO=ops@example.net\n'
                                            '%s root echo cron-mailto-%s\n'
                                            % (self.schedule, self.tok))
        self.want = len(jobs)
        self.s = Callers(self.srv.port if up else self.hole.port, cron=jobs)
        self.started = time.monotonic()
        self.deadline = self.started + (when - now) + 20
        self.proc = self.s.start('exec cron -f -L 15')

    def finish(self):
        """Wait (until 20 s after the scheduled minute) for the jobs' mail,
        then stop cron; returns the finished sendmail runs."""
        calls = self.s.wait_calls(self.want, self.deadline)
        self.s.stop_daemons()
        return calls

    def close(self):
        self.s.stop_daemons()
        self.srv.stop()
        if self.hole:
            self.hole.close()
        self.s.__exit__(None, None, None)


CRON = {}


def _start_cron():
    if available() or not version('cron') or \
            not os.path.exists('/usr/sbin/cron'):
        return
    CRON['up'] = CronRun(up=True)
    CRON['down'] = CronRun(up=False)


def _stop_cron():
    while CRON:
        CRON.popitem()[1].close()


atexit.register(_stop_cron)
if __name__ == '__main__':
    _start_cron()


def need_cron(which):
    need_ns()
    v = need('cron')
    if which not in CRON:
        skip('cron could not be started')
    return v


def header(data, name):
    for line in data.split(b'\r\n\r\n', 1)[0].split(b'\r\n'):
        if line.lower().startswith(name.lower() + b':'):
            return line.split(b':', 1)[1].strip().decode(errors='replace')
    return None


# ------------------------------------------------------------ PHP mail() --

def php():
    return need('php-cli', 'php8.2-cli') if version('php8.2-cli') else \
        need('php-cli')


def php_mail(extra=''):
    def shell(tok, s):
        code = ('var_dump(mail("to@example.net", "php %s", "body %s\\n"%s));'
                % (tok, tok, extra))
        return 'cd / && php -r %s' % shlex.quote(code)
    return shell


def php_said(r):
    if 'bool(true)' in r.out:
        return True, 'mail() returned true'
    if 'bool(false)' in r.out:
        return False, 'mail() returned false'
    return False, 'php exit %d: %s' % (r.rc, (r.out + r.err).strip()[-200:])


@test
def php_mail_default_sendmail_path():
    v = php()
    need_ns()

    def check(m):
        expect_eq(m['rcpts'], ['to@example.net'], 'recipient from To:')
        expect_eq(m['mail_from'], 'root@example.org', 'root qualified')
    up_and_down('PHP mail() (sendmail_path default)', v, php_mail(),
                php_said, check=check)


@test
def php_mail_with_fifth_parameter():
    v = php()
    need_ns()

    def check(m):
        expect_eq(m['mail_from'], 'sender@example.org', 'envelope from -f')
    up_and_down('PHP mail() with -fsender@example.org', v,
                php_mail(', "", "-fsender@example.org"'), php_said,
                check=check)


@test
def php_mail_as_www_data_without_a_home():
    v = php()
    need_ns()

    def check(m):
        expect_eq(m['mail_from'], 'www-data@example.org', 'www-data qualified')
    up_and_down('PHP mail() as www-data (home root-owned)', v, php_mail(),
                php_said, uid=WWW, home='root-owned', where='maildrop',
                queue_uid=0, env={'USER': 'www-data', 'LOGNAME': 'www-data'},
                check=check)


@test
def php_mail_as_www_data_started_by_start_stop_daemon():
    """Debian's init scripts and many container entrypoints start a service
    with `start-stop-daemon --chuid www-data`, which keeps root's HOME=/root
    (mode 0700, unreadable to www-data). The smarthost is up: the message
    must be sent (or at least kept in the maildrop), never lost."""
    v = php()
    need_ns()
    srv = server(tls=None)
    tok = token()
    facts = {}
    try:
        with Callers(srv.port) as s:
            code = ('var_dump(mail("to@example.net", "php %s", "body\\n"));'
                    % tok)
            r = s.sh('cd / && exec start-stop-daemon --start --chuid www-data '
                     '--exec /usr/bin/php -- -r %s' % shlex.quote(code),
                     env={'HOME': '/root'})
            calls = s.settle(0)
            ok, said = php_said(r)
            msgs = copies(srv, tok)
            k = s.kept()
            facts['argv'] = argvs(calls)
            facts['up'] = '%s; smtpsend exit %s, stderr %r; %d cop%s; %s' % (
                said, exits(calls), calls[0]['err'].strip() if calls else '',
                len(msgs), 'y' if len(msgs) == 1 else 'ies', kept_text(k))
    finally:
        srv.stop()
        report('PHP mail() as www-data via start-stop-daemon --chuid '
               '(HOME=/root)', v + ', dpkg ' + (version('dpkg') or '?'), facts)
    expect_eq(len(calls), 1, 'sendmail run once %r' % r)
    expect(len(msgs) == 1 or sum(len(x) for x in k.values()) == 1,
           'CONTRACT 1/7: the message is sent or kept (maildrop), never lost;'
           ' got exit %s, %s, stderr %r' % (exits(calls), kept_text(k),
                                            calls[0]['err']))
    expect(ok, 'mail() returns true: %s' % said)


# ------------------------------------------------------- Symfony Mailer --

def symfony(cmd):
    def shell(tok, s):
        return 'cd / && php %s %s %s' % (
            shlex.quote(os.path.join(CALLERS, 'symfony.php')),
            shlex.quote(tok), shlex.quote(cmd) if cmd else '')
    return shell


def symfony_said(r):
    for line in r.out.splitlines():
        if line.startswith('sent'):
            return True, 'send() returned, no exception'
        if line.startswith('exception'):
            return False, line.strip()
    return False, 'php exit %d: %s' % (r.rc, (r.out + r.err).strip()[-300:])


def symfony_check(m):
    expect_eq(m['mail_from'], 'app@example.org', 'envelope sender')
    expect_eq(m['rcpts'], ['to@example.net'], 'recipient')
    body = m['data'].split(b'\r\n\r\n', 1)[1]
    expect_in(b'\r\n.\r\nafter the dot\r\n', b'\r\n' + body,
              'a line holding only a dot is data')


@test
def symfony_mailer_sendmail_bs():
    v = need('php-symfony-mailer')
    need_ns()
    up_and_down('Symfony Mailer SendmailTransport default (-bs)', v,
                symfony(None), symfony_said, check=symfony_check)


@test
def symfony_mailer_sendmail_t_i():
    v = need('php-symfony-mailer')
    need_ns()
    up_and_down("Symfony Mailer SendmailTransport('/usr/sbin/sendmail -t -i')",
                v, symfony('/usr/sbin/sendmail -t -i'), symfony_said,
                check=symfony_check)


# ------------------------------------------------------- git send-email --

def git_send_email(tok, s):
    return ('set -e; r=$(mktemp -d -p "$HOME"); cd "$r"; git init -q .; '
            "git config user.name 'Dev Eloper'; "
            'git config user.email dev@example.org; '
            'echo a > a; git add a; git commit -qm first; echo b >> a; '
            "git commit -qam 'change %s'; "
            'git send-email --to=x@example.net --confirm=never '
            '--smtp-server=/usr/sbin/sendmail -1 </dev/null' % tok)


def git_said(r):
    if r.rc == 0 and 'Result: OK' in r.out:
        return True, "exit 0, 'Result: OK'"
    return False, 'exit %d: %s' % (r.rc, (r.out + r.err).strip()[-300:])


@test
def git_send_email_via_sendmail():
    v = need('git-email', 'git', 'libmailtools-perl')
    need_ns()

    def check(m):
        expect_eq(sorted(m['rcpts']), ['dev@example.org', 'x@example.net'],
                  'To and the Cc git adds for the author')
        expect_in(b'[PATCH] change', m['data'], 'the patch')
    up_and_down('git send-email --smtp-server=/usr/sbin/sendmail', v,
                git_send_email, git_said, check=check)


# ------------------------------------------------------------ bsd-mailx --

def mailx():
    """bsd-mailx as installed, or extracted from its .deb (never installed:
    it depends on default-mta, and installing it pulls in Exim, which writes
    /etc/mailname). Returns (command, 'pkg ver')."""
    if version('bsd-mailx'):
        return 'mail', need('bsd-mailx')
    try:
        root = servers.common.extracted('bsd-mailx', ['bsd-mailx'])
    except servers.common.Skip as e:
        skip(str(e))
    lib = os.path.join(root, 'usr', 'lib')
    libs = ':'.join(os.path.join(lib, d) for d in os.listdir(lib)
                    if d.endswith('-linux-gnu'))
    return ('LD_LIBRARY_PATH=%s %s' % (shlex.quote(libs), shlex.quote(
        os.path.join(root, 'usr', 'bin', 'bsd-mailx'))),
        'bsd-mailx %s (extracted)' % servers.common.deb_version(
            root, 'bsd-mailx'))


@test
def bsd_mailx():
    need_ns()
    mail, v = mailx()

    def shell(tok, s):
        return 'cd / && echo body %s | %s -s %s to@example.net' % (
            tok, mail, shlex.quote('subj ' + tok))

    def check(m):
        expect_eq(m['rcpts'], ['to@example.net'], 'recipient')
        expect_eq(header(m['data'], b'From'), 'root@example.org',
                  'From added')
    up_and_down('bsd-mailx: echo body | mail -s subj to@example.net', v,
                shell, exit_said, check=check)


# ----------------------------------------------------------------- sudo --

def sudo_shell(tok, s=None):
    # `sudo -n` stops at "a password is required" before the sudoers verdict
    # and mails nothing; a user who gives the password gets the verdict.
    return ('cd / && echo %s | sudo -S -p "" /usr/bin/echo %s'
            % (ALICE_PW, tok))


def sudo_said(r):
    if r.rc == 1 and 'not in the sudoers file' in r.err:
        return True, "sudo exit 1, 'alice is not in the sudoers file'"
    return False, 'sudo exit %d: %s' % (r.rc, r.err.strip()[-300:])


def sudo_check(m):
    expect_eq(m['rcpts'], ['root@example.org'], 'mailto root, qualified')
    expect_in('SECURITY information', header(m['data'], b'Subject') or '',
              'the alert')
    expect_in(b'user NOT in sudoers', m['data'], 'what happened')


@test
def sudo_user_not_in_sudoers():
    """sudo runs its mailer as the user who failed, with that user's HOME.
    With a system file anyone may read, that user sends the alert; with the
    smarthost down it is kept in the user's own outbox, which only the
    user's own `smtpsend -q` sends (root's periodic runner does not)."""
    v = need('sudo')
    need_ns()
    up_and_down('sudo: alice not in sudoers (smtpsend.conf 0644)', v,
                sudo_shell, sudo_said, uid=ALICE,
                env={'USER': 'alice', 'LOGNAME': 'alice'},
                where='~/.local/state/smtpsend/outbox', queue_uid=ALICE,
                check=sudo_check)


@test
def sudo_user_not_in_sudoers_credentials_for_root_only():
    """As installed with a password: /etc/smtpsend.conf is root's, 0600.
    sudo runs the mailer as the user who failed: the alert goes to the
    maildrop, smarthost up or down, and root's -q sends it."""
    v = need('sudo')
    need_ns()
    srv = server(tls=None, users={'tester': 'syspw'})
    hole = Hole()
    facts = {}
    extra = 'user tester\npassword syspw\n'
    try:
        with Callers(srv.port, conf_mode=0o600, conf_extra=extra) as s:
            res = {}
            for state, port in (('up', srv.port), ('down', hole.port)):
                s.smarthost(port)
                tok = token()
                before = len(s.calls())
                r = s.sh(sudo_shell(tok), uid=ALICE,
                         env={'USER': 'alice', 'LOGNAME': 'alice'})
                calls = s.settle(before)
                early = copies(srv, tok)
                k = s.kept()
                s.smarthost(srv.port)
                q = s.sh('smtpsend -q')
                after = copies(srv, tok)
                s.sh('smtpsend -q')
                again = copies(srv, tok)
                ok, said = sudo_said(r)
                res[state] = (r, calls, early, k, q, after, again, ok)
                facts['argv'] = argvs(calls)
                facts[state] = ('%s; smtpsend exit %s, stderr %r; %d '
                                'delivered at once; %s; root\'s smtpsend -q: '
                                '%d cop%s (exit %d), again: %d, %s' % (
                                    said, exits(calls), deferred_line(calls),
                                    len(early), kept_text(k), len(after),
                                    'y' if len(after) == 1 else 'ies', q.rc,
                                    len(again), kept_text(s.kept())))
    finally:
        srv.stop()
        hole.close()
        report("sudo: alice not in sudoers (smtpsend.conf root's 0600, "
               "with credentials)", v, facts)
    for state, (r, calls, early, k, q, after, again, ok) in res.items():
        expect(ok, '%s: sudo reported %r' % (state, r))
        expect_eq(exits(calls), '0', '%s: kept in the maildrop, as sendmail: '
                  '0' % state)
        expect_eq({p: len(v) for p, v in k.items()}, {'maildrop': 1},
                  '%s: in the maildrop' % state)
        expect_eq((len(early), q.rc, len(after), len(again)), (0, 0, 1, 1),
                  '%s: none at once, one copy after -q, none more' % state)
    m = [x for x in srv.sessions if x.messages][-1]
    expect(m.auth is not None, 'sent with the system credentials')


# ------------------------------------------------------------------- at --

@test
def at_job_output():
    v = need('at')
    need_ns()

    def shell(tok, s):
        # at queues the job as root; atd in the foreground runs it and mails
        # its output; stopped once that sendmail has finished.
        return ('cd / && echo "echo at-output-%s" | at now && '
                '{ atd -f & pid=$!; }; for i in $(seq 200); do '
                'n=$(ls %s/*.rc 2>/dev/null | wc -l); '
                '[ "$n" -gt %d ] && break; sleep 0.1; done; sleep 0.3; '
                'kill $pid; wait $pid; exit 0'
                % (tok, s.log, len(s.calls())))

    def said(r):
        job = [x for x in r.err.splitlines() if x.startswith('job ')]
        return (r.rc == 0 and bool(job), 'at: %r, atd -f ran it' %
                (job[0] if job else r.err.strip()[-200:]))

    def check(m):
        expect_eq(m['rcpts'], ['root@example.org'], 'the job owner')
    up_and_down('at: echo "echo output" | at now; atd -f', v, shell, said,
                check=check)


# ---------------------------------------------------------- cron, checked --

@test
def cron_minute_jobs_smarthost_up():
    v = need_cron('up')
    c = CRON['up']
    facts = {}
    try:
        calls = c.finish()
        msgs = copies(c.srv, c.tok)
        facts['argv'] = argvs(calls)
        froms = sorted(set(header(m['data'], b'From') or '' for m in msgs))
        cron_from = sorted(set(
            header(x['stdin'].replace(b'\n', b'\r\n'), b'From') or ''
            for x in calls))
        facts['up'] = ('2 jobs %r (MAILTO unset; MAILTO=ops@example.net), '
                       'waited %.0f s; cron wrote From: %s; smtpsend exit %s; '
                       '%d cop%s, From: %s' % (
                           c.schedule, time.monotonic() - c.started,
                           ' / '.join(cron_from),
                           exits(calls), len(msgs),
                           'y' if len(msgs) == 1 else 'ies',
                           ' / '.join(froms)))
    finally:
        report('Debian cron (cron -f -L 15, /etc/cron.d)', v, facts)
    expect_eq(len(calls), 2, 'two jobs, two runs of sendmail')
    expect_eq(exits(calls), '0,0', 'exit status')
    expect_eq(len(msgs), 2, 'two messages')
    by_rcpt = {tuple(m['rcpts']): m for m in msgs}
    expect_eq(sorted(by_rcpt), [('ops@example.net',), ('root@example.org',)],
              'MAILTO unset: root, qualified; MAILTO=ops@example.net')
    for rc, m in by_rcpt.items():
        expect_eq(m['mail_from'], 'root@example.org', 'envelope sender')
        frm = header(m['data'], b'From') or ''
        expect('root@example.org' in frm and 'Cron Daemon' in frm,
               'From: root (Cron Daemon), qualified: %r' % frm)
        expect_eq(header(m['data'], b'To'), rc[0], 'To')
    expect_in(('cron-output-%s' % c.tok).encode(),
              by_rcpt[('root@example.org',)]['data'].split(b'\r\n\r\n', 1)[1],
              'the output in the body')
    expect_in(('cron-mailto-%s' % c.tok).encode(),
              by_rcpt[('ops@example.net',)]['data'].split(b'\r\n\r\n', 1)[1],
              'the output in the body')


@test
def cron_minute_job_smarthost_down():
    v = need_cron('down')
    c = CRON['down']
    facts = {}
    try:
        calls = c.finish()
        early = copies(c.srv, c.tok)
        k = c.s.kept()
        c.s.smarthost(c.srv.port)
        q = c.s.sh('smtpsend -q')
        after = copies(c.srv, c.tok)
        c.s.sh('smtpsend -q')
        again = copies(c.srv, c.tok)
        facts['argv'] = argvs(calls)
        facts['down'] = (
            "job %r, waited %.0f s; smtpsend exit %s, stderr %r; %s; root's "
            "smtpsend -q: %d cop%s (exit %d), again: %d, %s" % (
                c.schedule, time.monotonic() - c.started, exits(calls),
                deferred_line(calls, 'cron'), kept_text(k), len(after),
                'y' if len(after) == 1 else 'ies', q.rc, len(again),
                kept_text(c.s.kept())))
    finally:
        report('Debian cron (cron -f -L 15, /etc/cron.d)', v, facts)
    expect_eq(len(calls), 1, 'one job, one run of sendmail')
    expect_eq(exits(calls), '0', 'exit status as sendmail, kept')
    line = deferred_line(calls)
    expect(line and line.startswith('smtpsend: deferred:'), 'deferred: %r'
           % line)
    expect_eq(early, [], 'nothing delivered while down')
    expect_eq({p: len(x) for p, x in k.items()}, {'/var/spool/smtpsend': 1},
              "kept in root's outbox")
    expect_eq((q.rc, len(after), len(again)), (0, 1, 1),
              'one copy after -q, none more (%r)' % q)
    m = after[0]
    expect_eq(m['rcpts'], ['root@example.org'], 'root qualified')
    expect_in(('cron-output-%s' % c.tok).encode(), m['data'], 'the output')


@test
def deferred_says_why_in_the_systems_words():
    """What the callers pass on (PHP to the web server's error log, git
    send-email and mailx to the terminal): CONTRACT 9, system errors in
    their own words (`connection refused`), not libcurl's doubled text."""
    if not DEFERRED:
        skip('no caller ran with the smarthost down')
    for caller, line in DEFERRED:
        expect_in('connection refused', line.lower(), caller)
        expect("Couldn't connect to server" not in line and
               'Failed to connect to' not in line,
               "%s: libcurl's text: %r" % (caller, line))


# ------------------------------------------------------------- the machine --

@test
def machine_left_as_it_was():
    _stop_cron()
    after = snapshot()
    changed = [k for k in BEFORE if BEFORE[k] != after.get(k)]
    for k in changed:
        print('changed: %s\n  before %r\n  after  %r' % (k, BEFORE[k],
                                                         after.get(k)))
    expect_eq(changed, [], '/usr/sbin/sendmail, /usr/lib/sendmail, /etc, '
              '/var/spool, /var/lib/sudo, /run and the host name unchanged')
    left = set(daemons())
    expect_eq(left, set(), 'no cron or atd of ours left running')
    print('runtime: %.1f s' % (time.monotonic() - T0), flush=True)


if __name__ == '__main__':
    main()
