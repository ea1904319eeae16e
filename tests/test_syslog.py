#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What smtpsend writes to syslog (CONTRACT sections 6, 8, 10 and 11), read
from a syslog of the test's own: a Unix datagram socket the test binds and
reads, seen by smtpsend as /dev/log in a private mount namespace.

The machine may have no syslog daemon and no /dev/log (or a /dev/log that
is a symlink to journald's socket, absent in a container or chroot): inside
the namespace /dev is a tmpfs holding the devices every container gets
(bound from the machine's /dev) and /dev/log bound to the test's socket.
The machine's own /dev and /run never change (checked at the end).

Each datagram is parsed as glibc's syslog(3) writes it, `<PRI>TIMESTAMP
IDENT[PID]: TEXT`; PRI is the facility and the level, the pid is that of
the smtpsend the test ran.
"""
import base64
import os
import re
import shlex
import shutil
import socket
import tempfile
import threading
import time

import harness
import ns
import oauth2server
from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from harness import skip
from e2e import BINARY, server

# <syslog.h>
LOG_USER, LOG_MAIL = 1 << 3, 2 << 3
LOG_LOCAL3 = 19 << 3
LOG_ERR, LOG_WARNING, LOG_INFO = 3, 4, 6
LEVELS = {LOG_ERR: 'LOG_ERR', LOG_WARNING: 'LOG_WARNING', LOG_INFO: 'LOG_INFO'}

MAIL = b'Subject: s\n\nbody\n'
# The secrets of this file: none may reach syslog, in any form.
PASSWORD = 'pw-Zq81-never-logged'
EVAL_PASSWORD = 'ev-Kx42-never-logged'
CLIENT_SECRET = 'cs-Vb93-never-logged'
REFRESH_TOKEN = 'rt-Hn27-never-logged'
SECRETS = [PASSWORD, EVAL_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN]

# The devices every container gets (the OCI runtime's defaults): what a
# program may expect in /dev besides /dev/log.
DEVICES = ('null', 'zero', 'full', 'random', 'urandom', 'tty')
DEV_DIRS = ('shm', 'mqueue')
DATAGRAM = re.compile(r'<(\d{1,3})>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d |'
                      r'\S+ )?([^\s\[\]]+)\[(\d+)\]: (.*)\Z', re.S)


class Line:
    def __init__(self, raw):
        self.raw = raw
        text = raw.decode(errors='replace')
        m = DATAGRAM.match(text)
        if m is None:
            self.pri, self.ident, self.pid, self.text = -1, '', 0, text
        else:
            self.pri, self.ident = int(m.group(1)), m.group(2)
            self.pid, self.text = int(m.group(3)), m.group(4)
        self.facility, self.level = self.pri & ~7, self.pri & 7

    def __repr__(self):
        return '%s.%s %s[%d]: %s' % (
            self.facility >> 3, LEVELS.get(self.level, self.level),
            self.ident, self.pid, self.text)


class Syslog:
    """The test's syslog: a datagram socket, read by a thread so that a
    sender never waits on a full queue."""

    def __init__(self, directory):
        self.path = os.path.join(directory, 'log')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)	# any user's smtpsend may log
        self.sock.settimeout(0.1)
        self.got = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            with self.lock:
                self.got.append(data)

    def take(self):
        """The lines that came since the last take (all of a finished
        run's: syslog(3) has sent them before the process exits)."""
        time.sleep(0.05)
        with self.lock:
            got, self.got = self.got, []
        return [Line(d) for d in got]

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def dev_setup(d, log):
    """Shell lines, run inside the namespace: /dev a tmpfs with the
    container devices bound from the machine's, and /dev/log the test's
    socket. `d` is a directory of the test's for the machine's /dev.
    mount -n: Debian 13's mount would make /run/mount on the machine."""
    lines = ['mount -n --rbind /dev %s' % d,
             'mount -n -t tmpfs -o mode=0755,nosuid tmpfs /dev']
    for n in DEVICES:
        lines.append('if [ -e %s/%s ]; then : >/dev/%s && mount -n --bind '
                     '%s/%s /dev/%s; fi' % (d, n, n, d, n, n))
    for n in DEV_DIRS:
        lines.append('if [ -d %s/%s ]; then mkdir /dev/%s && mount -n '
                     '--rbind %s/%s /dev/%s; fi' % (d, n, n, d, n, n))
    # Terminals: a devpts of its own, as a container has (the machine's
    # ptmx, bound, would not find its pts beside it).
    lines += ['mkdir /dev/pts', 'mount -n -t devpts -o newinstance,'
              'ptmxmode=0666,mode=0620 devpts /dev/pts',
              'ln -s pts/ptmx /dev/ptmx', 'ln -s /proc/self/fd /dev/fd']
    lines += ['ln -s /proc/self/fd/%d /dev/%s' % (i, n) for i, n in
              enumerate(('stdin', 'stdout', 'stderr'))]
    lines += [': >/dev/log', 'mount -n --bind %s /dev/log' % log]
    return lines


class Logged(ns.System):
    """ns.System (a private /etc and /var/spool) with the test's syslog as
    /dev/log; run() also records the pid smtpsend runs as (unshare, bash
    and setpriv each exec the next)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        os.makedirs(os.path.join(self.dir, 'hostdev'))
        # Root's OAuth2 token store, /var/lib/smtpsend/oauth2.
        self.varlib = os.path.join(self.dir, 'varlib')
        os.makedirs(self.varlib, mode=0o755)
        self.syslog = Syslog(self.dir)
        self.pidfile = os.path.join(self.dir, 'pid')

    def __exit__(self, *exc):
        self.syslog.close()
        return super().__exit__(*exc)

    def _setup(self):
        return (super()._setup() + dev_setup(os.path.join(self.dir, 'hostdev'),
                                             self.syslog.path) +
                ['mount -n --bind %s /var/lib' % self.varlib,
                 'echo $$ >%s' % self.pidfile])

    def tokens(self, account, **kv):
        """Root's token file for `account`, as --authorize leaves it."""
        d = os.path.join(self.varlib, 'smtpsend', 'oauth2')
        os.makedirs(d, mode=0o700, exist_ok=True)
        path = os.path.join(d, account)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(''.join('%s %s\n' % i for i in kv.items()))

    def send(self, args, **kw):
        """Run smtpsend: its result, and the lines it logged."""
        self.syslog.take()
        r = self.run(args, **kw)
        with open(self.pidfile) as f:
            r.pid = int(f.read())
        r.lines = self.syslog.take()
        for line in r.lines:
            check_line(line, r)
        return r


def check_line(line, r):
    """What every line must be: glibc's form, ident smtpsend with the pid
    of the run, one line, no secret in any form."""
    expect(line.pri >= 0, 'a syslog(3) datagram: %r' % line.raw)
    expect_eq(line.ident, 'smtpsend', 'ident of %r' % line)
    expect_eq(line.pid, r.pid, 'the pid of the run (LOG_PID) in %r' % line)
    expect('\n' not in line.text and '\r' not in line.text,
           'one line: %r' % line)
    for s in SECRETS:
        for form in (s, base64.b64encode(s.encode()).decode(),
                     base64.b64encode(b'\0tester\0' + s.encode()).decode()):
            expect_not_in(form, line.text, 'a secret in syslog')


def need():
    why = ns.available()
    if why:
        skip(why)


def config(port, extra='', user='tester', password=PASSWORD):
    lines = ['host 127.0.0.1', 'port %d' % port, 'tls off',
             'from sender@example.org', 'timeout 10']
    if user:
        lines += ['user %s' % user, 'password %s' % password]
    return '\n'.join(lines) + '\n' + extra


def machine():
    """What the machine's own /dev and /run hold where this file's
    namespaces could touch them, and what is mounted there: the tests must
    leave all of it as it was. (Only there: other programs on the machine
    may change the rest meanwhile.)"""
    def state(path):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        return (st.st_mode, st.st_ino, os.readlink(path)
                if os.path.islink(path) else None)
    with open('/proc/self/mountinfo') as f:
        mounts = sorted(' '.join(l.split()[3:5]) for l in f
                        if l.split()[4].startswith(('/dev', '/run')))
    paths = ['/dev', '/dev/log', '/run', '/run/mount', '/run/systemd',
             '/run/systemd/journal', '/run/systemd/journal/dev-log']
    paths += ['/dev/' + n for n in DEVICES + DEV_DIRS +
              ('pts', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr')]
    return dict([(p, state(p)) for p in paths] + [('mounts', mounts)])


BEFORE = machine()
KEPT = re.compile(r'(?:kept in the outbox as|queued in the system maildrop '
                  r'as) (?:\S*/)?([0-9]{8}T[0-9]{6}Z-[0-9a-f]+)')


def only(lines, level, what):
    """The one line at `level`; LOG_MAIL unless said."""
    got = [l for l in lines if l.level == level]
    expect_eq(len(got), 1, '%s: one line at %s in %r' % (
        what, LEVELS[level], lines))
    return got[0]


def kept_id(r):
    m = KEPT.search(r.err)
    expect(m is not None, 'a kept message named on stderr: %r' % r)
    return m.group(1)


def state_of(s, ident):
    with open(os.path.join(s.root_outbox(), ident), 'rb') as f:
        head = f.read(4096).split(b'\n\n', 1)[0].decode(errors='replace')
    m = re.search(r'^state: (\S+)', head, re.M)
    return m.group(1) if m else None


def msmtp_line(line, what, **fields):
    """msmtp's log line (CONTRACT 10) with these fields."""
    expect(re.match(r"host=\S+ tls=(on|off) auth=(on|off) ", line.text),
           '%s: the log file\'s line: %r' % (what, line))
    for k, v in fields.items():
        expect_in(' %s=%s' % (k, v), ' ' + line.text, what)


@test
def delivered_at_info_in_mail_as_smtpsend_with_its_pid():
    need()
    srv = server(tls=None, users={'tester': PASSWORD})
    with Logged() as s:
        r = s.send(['a@example.net'], stdin=MAIL, config=config(srv.port))
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    expect_eq(len(r.lines), 1, 'one line: %r' % r.lines)
    line = only(r.lines, LOG_INFO, 'delivered')
    expect_eq(line.facility, LOG_MAIL, 'LOG_MAIL by default')
    msmtp_line(line, 'delivered', user='tester', exitcode='EX_OK',
               recipients='a@example.net', smtpstatus='250')
    expect(re.search(r' mailsize=\d+ ', line.text), 'mailsize: %r' % line)
    expect_in(" smtpmsg='250 ", line.text, "the server's reply")


@test
def facility_from_the_key_and_the_option_and_off():
    need()
    srv = server(tls=None, users={'tester': PASSWORD})
    cases = [  # (the key, the option, facility or None for no line)
        ('syslog on\n', [], LOG_MAIL),
        ('syslog LOG_LOCAL3\n', [], LOG_LOCAL3),
        ('syslog log_user\n', [], LOG_USER),
        ('syslog LOG_LOCAL3\n', ['--syslog=LOG_USER'], LOG_USER),
        ('syslog off\n', ['--syslog'], LOG_MAIL),
        ('syslog off\n', [], None),
        ('', ['--syslog=off'], None),
        ('syslog LOG_LOCAL3\n', ['--syslog=off'], None),
    ]
    with Logged() as s:
        for key, opt, facility in cases:
            r = s.send(opt + ['a@example.net'], stdin=MAIL,
                       config=config(srv.port, key))
            what = '%r %r' % (key, opt)
            expect_eq(r.rc, 0, '%s: sent %r' % (what, r))
            if facility is None:
                expect_eq(r.lines, [], '%s: nothing logged' % what)
                continue
            line = only(r.lines, LOG_INFO, what)
            expect_eq(line.facility, facility, '%s: facility' % what)
    srv.stop()


@test
def refused_recipient_at_err_and_kept_for_a_person():
    need()
    srv = server(tls=None, users={'tester': PASSWORD},
                 replies={'RCPT': ['550 5.1.1 no such user']})
    with Logged() as s:
        r = s.send(['a@example.net'], stdin=MAIL, config=config(srv.port),
                   argv0='sendmail')
        expect_eq(r.rc, 67, 'refused %r' % r)
        expect_eq(state_of(s, kept_id(r)), 'permanent', 'kept for a person')
    srv.stop()
    line = only(r.lines, LOG_ERR, 'refused recipient')
    expect_eq(line.facility, LOG_MAIL, 'LOG_MAIL')
    msmtp_line(line, 'refused recipient', exitcode='EX_NOUSER',
               smtpstatus='550')
    expect_in('550 5.1.1 no such user', line.text, "the server's reply")
    expect_eq(len(r.lines), 1, 'nothing else: %r' % r.lines)


@test
def deferral_at_warning_with_where_it_waits_and_q_logs_ok():
    """CONTRACT 6: the smarthost down, under both names and both
    deferred_status values: the log line (EX_TEMPFAIL) and the deferred:
    line with the queue id and what sends it, both at LOG_WARNING; the -q
    that later delivers it logs EX_OK at LOG_INFO."""
    need()
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))		# bound, not listening: refused
    srv = server(tls=None, users={'tester': PASSWORD})
    with Logged() as s:
        home = tempfile.mkdtemp(prefix='smtpsend-home-', dir=s.dir)
        for argv0, rc in (('smtpsend', 75), ('sendmail', 0)):
            r = s.send(['a@example.net'], stdin=MAIL, argv0=argv0, home=home,
                       config=config(hole.getsockname()[1]))
            what = 'down, as %s' % argv0
            expect_eq(r.rc, rc, '%s: %r' % (what, r))
            ident = kept_id(r)
            expect_eq(state_of(s, ident), 'temporary', what)
            expect_eq(len(r.lines), 2, '%s: two lines %r' % (what, r.lines))
            expect(all(l.level == LOG_WARNING and l.facility == LOG_MAIL
                       for l in r.lines), '%s: LOG_WARNING %r' % (what,
                                                                 r.lines))
            msmtp_line(r.lines[0], what, exitcode='EX_TEMPFAIL')
            d = r.lines[1].text
            expect(d.startswith('deferred: cannot connect to 127.0.0.1'),
                   '%s: what failed %r' % (what, d))
            expect_in('Connection refused', d, what)
            expect_in(ident, d, '%s: the queue id' % what)
            expect_in('smtpsend -q -C ', d, '%s: what sends it' % what)
            expect_eq(d, r.err.strip()[len('smtpsend: '):],
                      '%s: the line stderr has' % what)
        # The smarthost is back: -q sends both and logs each at LOG_INFO.
        r = s.send(['-q'], home=home, config=config(srv.port))
        expect_eq(r.rc, 0, '-q %r' % r)
        expect_eq(sum(len(x.messages) for x in srv.sessions), 2, 'both sent')
        expect_eq([l.level for l in r.lines], [LOG_INFO] * 2, '-q %r'
                  % r.lines)
        for line in r.lines:
            msmtp_line(line, '-q', exitcode='EX_OK')
    srv.stop()
    hole.close()


@test
def failures_before_any_attempt_at_err_with_where_the_message_is():
    """CONTRACT 10: failures are visible even when the caller sends stderr
    to /dev/null. A failure met before any attempt has no log line; syslog
    gets the line of stderr at LOG_ERR, with the queue id and what sends
    it: a typo in the configuration (as smtpsend: 78, for a person), an
    address that is not one, a NUL byte (65 under both names)."""
    need()
    srv = server(tls=None, users={'tester': PASSWORD})
    cases = [('config typo', [], config(srv.port, 'timeuot 9\n'), 'smtpsend',
              78, 'unknown key timeuot'),
             ('invalid recipient', ['a b@example.net'], config(srv.port),
              'sendmail', 65, "invalid recipient 'a b@example.net'"),
             ('invalid sender', ['-f', 'x y'], config(srv.port), 'smtpsend',
              65, "invalid sender (-f) 'x y'"),
             ('NUL byte', [], config(srv.port), 'sendmail', 65,
              'the message holds a NUL byte')]
    with Logged() as s:
        for what, args, text, argv0, rc, said in cases:
            stdin = MAIL.replace(b'body', b'bo\0dy') if 'NUL' in what \
                else MAIL
            r = s.send(args + ['a@example.net'], stdin=stdin, config=text,
                       argv0=argv0)
            expect_eq(r.rc, rc, '%s: %r' % (what, r))
            ident = kept_id(r)
            expect_eq(state_of(s, ident), 'permanent', what)
            line = only(r.lines, LOG_ERR, what)
            expect_eq(line.facility, LOG_MAIL, what)
            expect_in(said, line.text, '%s: what failed' % what)
            # With its -C, as the entry goes with it (CONTRACT 7).
            expect(re.search(r'smtpsend -C /\S+ -qI %s sends it' % ident,
                             line.text),
                   '%s: the queue id, what sends it %r' % (what, line.text))
            expect_eq(len(r.lines), 1, '%s: one line %r' % (what, r.lines))
    srv.stop()
    expect_eq(sum(len(x.messages) for x in srv.sessions), 0, 'nothing sent')


@test
def at_a_terminal_syslog_still_gets_the_whole_line():
    """At a terminal stderr names a kept message by its id alone (CONTRACT
    9); syslog gets the whole line all the same: where the message is
    kept, what sends it. stderr is a pty of util-linux's script(1)."""
    need()
    if not shutil.which('script'):
        skip('no script(1)')
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))
    with Logged() as s:
        home = tempfile.mkdtemp(prefix='smtpsend-home-', dir=s.dir)
        path = os.path.join(home, 'config')
        with open(path, 'w') as f:
            f.write(config(hole.getsockname()[1]))
        os.chmod(path, 0o600)
        msg = os.path.join(home, 'msg')
        with open(msg, 'wb') as f:
            f.write(MAIL)
        inner = 'echo $$ >%s; exec %s -C %s a@example.net <%s' % (
            s.pidfile, BINARY, path, msg)
        r = s.send([], home=home, shell='exec script -qec %s /dev/null'
                   % shlex.quote(inner))
        said = r.out.decode(errors='replace')
        m = re.search(r'kept as ([0-9]{8}T[0-9]{6}Z-[0-9a-f]+)', said)
        expect(m is not None, 'at a terminal: kept as ID %r' % said)
        ident = m.group(1)
        expect_eq(state_of(s, ident), 'temporary', 'kept %r' % said)
    hole.close()
    expect_not_in('/var/spool/smtpsend/', said, 'at a terminal: the id alone')
    d = [l for l in r.lines if l.text.startswith('deferred: ')]
    expect_eq(len(d), 1, 'the deferred: line %r' % r.lines)
    expect_in('message kept in the outbox as /var/spool/smtpsend/' + ident,
              d[0].text, 'the full place')
    expect_in('smtpsend -q -C %s sends it' % path, d[0].text, 'what sends it')
    expect_in('smtpsend --remove %s forgets it' % ident, d[0].text,
              'at a terminal, how to forget it')


def refused_but_relayed(**kw):
    srv = server(tls=None, users={'tester': 'the-right-one'}, **kw)
    with Logged() as s:
        r = s.send(['a@example.net'], stdin=MAIL, config=config(srv.port))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'delivered, so 0 %r' % r)
    expect_eq(sum(len(x.messages) for x in srv.sessions), 1, 'delivered once')
    warn = only(r.lines, LOG_WARNING, 'refused credentials')
    expect_eq(warn.facility, LOG_MAIL, 'LOG_MAIL')
    expect(warn.text.startswith('warning: authentication refused by '
                                '127.0.0.1: 535 '), 'what failed: %r' % warn)
    expect_in('127.0.0.1 took the message without authentication: check '
              'user and password', warn.text, 'what happened, what to do')
    expect_eq('smtpsend: ' + warn.text, r.err.strip(), 'as on stderr')
    msmtp_line(only(r.lines, LOG_INFO, 'delivered'), 'delivered',
               exitcode='EX_OK')
    expect_eq(len(r.lines), 2, 'nothing else: %r' % r.lines)


@test
def refused_credentials_relayed_anyway_warns_with_chunking():
    """Issue 25 item 9, CONTRACT 8: delivered, exit 0, warned in syslog."""
    need()
    refused_but_relayed()


@test
def refused_credentials_relayed_anyway_warns_with_data():
    need()
    refused_but_relayed(hide=('CHUNKING',))


def nsswitch():
    """Host names from /etc/hosts only: an unknown name fails at once."""
    with open('/etc/nsswitch.conf') as f:
        lines = [l for l in f.read().splitlines()
                 if not l.startswith('hosts:')]
    return ('\n'.join(lines + ['hosts: files']) + '\n', 0o644)


def setup_failures(srv, tls_srv):
    """Each failure of the set-up (CONTRACT 6), in a -C file with syslog
    LOG_LOCAL3: (what, the file, the fix the line names, the facility, the
    exit status as smtpsend, the log line's exitcode as smtpsend)."""
    good = config(srv.port, 'syslog LOG_LOCAL3\n')
    return [
        # The configuration could not be read, nor its syslog key: LOG_MAIL,
        # and no log line (no settings to write it with).
        ('config typo', good.replace('timeout', 'timeuot'),
         'fix the configuration', LOG_MAIL, 78, None),
        ('wrong password (535)', good.replace(PASSWORD, 'pw-old'),
         'check the credentials', LOG_LOCAL3, 77, 'EX_NOPERM'),
        ('passwordeval refused (535)', good.replace(
            'password %s' % PASSWORD, 'passwordeval echo %s' % EVAL_PASSWORD),
         'check the credentials', LOG_LOCAL3, 77, 'EX_NOPERM'),
        ('unknown smarthost name', config(srv.port, 'syslog LOG_LOCAL3\n',
                                          user=None).replace(
            '127.0.0.1', 'smtp.nosuch.invalid'),
         "check the smarthost's name (host)", LOG_LOCAL3, 68, 'EX_NOHOST'),
        # Temporary under both names (as Postfix defers), yet a person
        # must act: LOG_ERR for the deferred: line under both.
        ('untrusted certificate', config(tls_srv.port, 'syslog LOG_LOCAL3\n')
         .replace('tls off\n', ''), 'check the TLS set-up', LOG_LOCAL3, 75,
         'EX_TEMPFAIL'),
    ]


def deferred_line(r, what, facility, fix):
    """The deferred: line at LOG_ERR, naming the fix and the queue id."""
    ident = kept_id(r)
    line = only(r.lines, LOG_ERR, what)
    expect_eq(line.facility, facility, '%s: facility' % what)
    expect(line.text.startswith('deferred: '), '%s: %r' % (what, line))
    expect_in(fix, line.text, '%s: the fix' % what)
    expect_in(ident, line.text, '%s: the queue id' % what)
    expect_in('sends it', line.text, '%s: what sends it' % what)
    return ident


@test
def setup_failures_defer_at_err_naming_the_fix_and_the_queue_id():
    """Issue 26, CONTRACT 6: called as sendmail, a failure of the set-up
    defers the message (exit 0, kept temporary) and syslog gets the
    deferred: line naming the fix and the queue id at LOG_ERR, after the
    log line of a deferred message (EX_TEMPFAIL at LOG_WARNING); as
    smtpsend, the log line at LOG_ERR with the failure's status."""
    need()
    srv = server(tls=None, users={'tester': PASSWORD}, require_auth=True)
    tls_srv = server(users={'tester': PASSWORD}, require_auth=True)
    with Logged(etc={'nsswitch.conf': nsswitch()}) as s:
        for what, text, fix, facility, rc, name in setup_failures(srv,
                                                                  tls_srv):
            r = s.send(['a@example.net'], stdin=MAIL, config=text,
                       argv0='sendmail')
            expect_eq(r.rc, 0, '%s: deferred, exit 0 %r' % (what, r))
            ident = deferred_line(r, what, facility, fix)
            expect_eq(state_of(s, ident), 'temporary', what)
            if name is not None:
                log = only(r.lines, LOG_WARNING, what)
                msmtp_line(log, what, exitcode='EX_TEMPFAIL')
            expect_eq(len(r.lines), 1 if name is None else 2,
                      '%s: nothing else %r' % (what, r.lines))
            what += ', as smtpsend'
            r = s.send(['a@example.net'], stdin=MAIL, config=text)
            expect_eq(r.rc, rc, '%s: %r' % (what, r))
            if rc == 75:
                deferred_line(r, what, facility, fix)
                msmtp_line(only(r.lines, LOG_WARNING, what), what,
                           exitcode=name)
            elif name is not None:
                line = only(r.lines, LOG_ERR, what)
                expect_eq(line.facility, facility, '%s: facility' % what)
                msmtp_line(line, what, exitcode=name)
                expect_eq(len(r.lines), 1, '%s: one line %r' % (what,
                                                               r.lines))
    srv.stop()
    tls_srv.stop()
    expect_eq(sum(len(x.messages) for x in srv.sessions + tls_srv.sessions), 0,
              'nothing delivered')


@test
def setup_failure_of_the_system_file_at_err_in_mail():
    """A typo in /etc/smtpsend.conf, cron's sendmail root: LOG_ERR in
    LOG_MAIL although the file's syslog key could not be read."""
    need()
    srv = server(tls=None, users={'tester': PASSWORD})
    conf = config(srv.port, 'syslog LOG_LOCAL3\nmaildomian example.org\n')
    with Logged(etc={'smtpsend.conf': (conf, 0o600)}) as s:
        r = s.send(['root'], stdin=MAIL, argv0='sendmail')
        expect_eq(r.rc, 0, 'deferred %r' % r)
        ident = kept_id(r)
        expect_eq(state_of(s, ident), 'temporary', 'kept as temporary')
    srv.stop()
    line = only(r.lines, LOG_ERR, 'system file typo')
    expect_eq(line.facility, LOG_MAIL, 'LOG_MAIL')
    expect_in('/etc/smtpsend.conf:', line.text, 'the file and line')
    expect_in('maildomian', line.text, 'the error itself, not its count')
    expect_in('fix the configuration', line.text, 'the fix')
    expect_in(ident, line.text, 'the queue id')
    expect_eq(len(r.lines), 1, 'one line %r' % r.lines)


@test
def a_service_account_logs_where_the_maildrop_keeps_it():
    """www-data (a home it cannot write) with a 0644 system file, PHP's
    sendmail: the message waits in the maildrop, and syslog says so, with
    the fix of a set-up failure at LOG_ERR."""
    need()
    srv = server(tls=None)
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))
    cases = [('unknown smarthost name', config(srv.port, user=None).replace(
                 '127.0.0.1', 'smtp.nosuch.invalid'), LOG_ERR,
              "check the smarthost's name (host), then root's smtpsend -q "
              'sends it'),
             ('smarthost down', config(hole.getsockname()[1], user=None),
              LOG_WARNING, "; root's smtpsend -q sends it")]
    for what, conf, level, tail in cases:
        with Logged(etc={'smtpsend.conf': (conf, 0o644),
                         'nsswitch.conf': nsswitch()}) as s:
            home = os.path.join(s.dir, 'var-www')
            os.makedirs(home, mode=0o755)
            r = s.send(['a@example.net'], stdin=MAIL, argv0='sendmail', uid=33,
                       home=home, env={'USER': 'www-data'})
            expect_eq(r.rc, 0, '%s: %r' % (what, r))
            ident = kept_id(r)
            expect_in(ident, os.listdir(s.maildrop()), '%s: in the maildrop'
                      % what)
        line = [l for l in r.lines if l.text.startswith('deferred: ')]
        expect_eq([l.level for l in line], [level], '%s: %r' % (what,
                                                                 r.lines))
        expect_eq(line[0].facility, LOG_MAIL, what)
        expect_in('queued in the system maildrop as ' + ident, line[0].text,
                  '%s: the queue id' % what)
        expect(line[0].text.endswith(tail), '%s: what next %r' % (what, line))
        expect_eq('smtpsend: ' + line[0].text, r.err.strip(), 'as on stderr')
    srv.stop()
    hole.close()


def oauth2_config(srv, auth, grant):
    base = 'http://127.0.0.1:%d' % auth.port
    return config(srv.port, user=None) + (
        'user tester\nauth xoauth2\noauth2_client_id smtpsend-test\n'
        'oauth2_client_secret %s\noauth2_token_endpoint %s/token\n'
        'oauth2_device_endpoint %s/devicecode\noauth2_grant %s\n'
        'oauth2_scope offline_access https://outlook.office.com/SMTP.Send\n'
        % (CLIENT_SECRET, base, base, grant))


@test
def oauth2_tokens_never_logged_and_a_revoked_grant_names_authorize():
    """CONTRACT 8 and 11: no client secret, refresh or access token in
    syslog; a revoked refresh token (invalid_grant), or none yet, keeps the
    message and syslog names smtpsend --authorize -a NAME, at LOG_ERR (a
    grant revoked is a failure of the set-up, CONTRACT 6)."""
    need()
    srv = server(tls=None, extensions=['PIPELINING', 'AUTH XOAUTH2'],
                 users={'tester': 'none yet'})
    auth = oauth2server.AuthServer(
        client_secret=CLIENT_SECRET,
        on_issue=lambda token: srv.users.__setitem__('tester', token))
    auth.start()
    try:
        with Logged() as s:
            r = s.send(['a@example.net'], stdin=MAIL, config=oauth2_config(
                srv, auth, 'client_credentials'))
            expect_eq(r.rc, 0, 'sent with a fetched token %r' % r)
            expect_eq(len(auth.issued), 1, 'one token issued')
            msmtp_line(only(r.lines, LOG_INFO, 'oauth2'), 'oauth2',
                       exitcode='EX_OK')
            for line in r.lines:
                for t in auth.issued:
                    expect_not_in(t, line.text, 'the access token')
        auth.invalid_grant = True
        for argv0, rc, revoked in (('smtpsend', 75, True),
                                   ('sendmail', 0, True),
                                   ('sendmail', 0, False)):
            what = '%s as %s' % ('invalid_grant' if revoked else
                                 'not authorized yet', argv0)
            with Logged() as s:
                if revoked:
                    s.tokens('work', token_endpoint='http://127.0.0.1:%d/'
                             'token' % auth.port, client_id='smtpsend-test',
                             host='127.0.0.1', port=str(srv.port),
                             refresh_token=REFRESH_TOKEN)
                r = s.send(['-a', 'work', 'a@example.net'], stdin=MAIL,
                           argv0=argv0, config='account work\n' +
                           oauth2_config(srv, auth, 'device'))
                expect_eq(r.rc, rc, '%s: %r' % (what, r))
                ident = kept_id(r)
                expect_eq(state_of(s, ident), 'temporary', what)
            # A person must act: LOG_ERR, as a failure of the set-up.
            d = [l for l in r.lines if l.text.startswith('deferred: ')]
            expect_eq([l.level for l in d], [LOG_ERR], '%s: the deferred: '
                      'line %r' % (what, r.lines))
            expect_in('smtpsend --authorize -a work', d[0].text, what)
            expect_in(ident, d[0].text, '%s: the queue id' % what)
    finally:
        srv.stop()
        auth.stop()
    expect_eq(sum(len(x.messages) for x in srv.sessions), 1, 'one delivered')


@test
def the_secret_check_catches_each_form():
    # check_line() is what keeps every test above from passing with a
    # secret in syslog: it must see one in each form it looks for.
    class R:
        pid = 7
    clean = b'<22>Dec  7 02:27:15 smtpsend[7]: host=x'
    check_line(Line(clean), R)
    for s in SECRETS:
        for form in (s.encode(), base64.b64encode(s.encode()),
                     base64.b64encode(b'\0tester\0' + s.encode())):
            try:
                check_line(Line(clean + b' ' + form), R)
            except harness.Failure:
                continue
            expect(False, 'not caught: %r' % form)
    for bad in (b'<22>Dec  7 02:27:15 smtpsend[8]: x',
                b'<22>Dec  7 02:27:15 msmtp[7]: x',
                b'<22>Dec  7 02:27:15 smtpsend[7]: two\nlines', b'junk'):
        try:
            check_line(Line(bad), R)
        except harness.Failure:
            continue
        expect(False, 'not caught: %r' % bad)


@test
def syslog_off_holds_for_the_setup_line_too():
    need()
    srv = server(tls=None, users={'tester': PASSWORD}, require_auth=True)
    with Logged() as s:
        on = s.send(['a@example.net'], stdin=MAIL, argv0='sendmail',
                    config=config(srv.port, password='pw-old'))
        off = s.send(['a@example.net'], stdin=MAIL, argv0='sendmail',
                     config=config(srv.port, 'syslog off\n',
                                   password='pw-old'))
    srv.stop()
    expect_eq(sorted(l.level for l in on.lines), [LOG_ERR, LOG_WARNING],
              'with syslog on: the log line and the deferred: line %r'
              % on.lines)
    expect_eq((off.rc, off.lines), (0, []), 'syslog off: deferred, no line')


@test
def the_machines_dev_and_run_are_unchanged():
    # Last: after every namespace of this file has come and gone.
    need()
    after = machine()
    for k in BEFORE:
        expect_eq(after[k], BEFORE[k], "the machine's %s" % k)



if __name__ == '__main__':
    main()
