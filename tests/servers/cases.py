# SPDX-License-Identifier: ISC
"""The interoperability cases, the same for every server: smtpsend (env
SMTPSEND) submits with a config file of the test's own, and what the
server delivered (a Maildir, or what Dovecot relayed to our capture
server) is compared with what was sent.

A Target describes one running server:
    name, ca                   display name, the test CA (PEM)
    ports                      {'submission': n, 'smtps': n, ...}
    delivered(tok, count, timeout) -> [raw messages holding tok]
    dsn_for(tok, timeout)      -> [delivery status notifications] or None
                                  when the server cannot tell
    newline                    line end of a delivered message (b'\\n'
                               in a Maildir, b'\\r\\n' over SMTP)
    size_limit                 the server's SIZE
    recipients_reached(tok, n, timeout) -> [recipients], optional: for a
                               target where one message serves several
"""
import os
import shutil
import subprocess
import tempfile

from servers import common
from servers.common import Skip, token
from harness import expect, expect_eq, expect_in
from e2e import BINARY, normalise

USER, PASSWORD = 'tester', 'testpass'
SENDER = 'sender@test.example'


class Result:
    def __init__(self, rc, out, err, argv):
        self.rc, self.out, self.err, self.argv = rc, out, err, argv

    def __repr__(self):
        return 'rc=%d stderr=%r' % (self.rc, self.err[-800:])

    def command(self):
        return ' '.join(self.argv)


def config(t, port='submission', implicit=False, auth=True, tls=True,
           password=PASSWORD, extra=''):
    lines = ['account default', 'host %s' % common.HOST,
             'port %d' % t.ports[port], 'from %s' % SENDER, 'syslog off',
             'timeout 30']
    if tls:
        lines.append('tls_trust_file %s' % t.ca)
        if implicit:
            lines.append('tls_starttls off')
    else:
        lines.append('tls off')
    if auth:
        lines += ['user %s' % USER, 'password %s' % password]
    return '\n'.join(lines) + '\n' + extra


# As root, smtpsend runs with a tmpfs over /var/spool in a mount namespace
# of its own (as tests/e2e.py does): whatever it might keep, the machine's
# spool (/var/spool/smtpsend, root's default outbox) never sees it.
_SPOOL_WRAP = ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
               'mount -t tmpfs -o mode=0755 smtpsend-test /var/spool && exec "$@"',
               'smtpsend-spool']
_wrap = None


def wrapped(argv):
    global _wrap
    if _wrap is None:
        _wrap = []
        if os.geteuid() == 0:
            p = subprocess.run(_SPOOL_WRAP + ['true'], capture_output=True)
            if p.returncode == 0:
                _wrap = _SPOOL_WRAP
    return _wrap + list(argv)


def run(args, stdin=b'', cfg='', timeout=120):
    """smtpsend with a private HOME, the config cfg (-C, mode 0600) and an
    outbox in the same temporary directory, removed afterwards."""
    d = tempfile.mkdtemp(prefix='smtpsend-interop-')
    try:
        path = os.path.join(d, 'config')
        with open(path, 'w') as f:
            f.write(cfg + 'outbox %s/outbox\n' % d)
        os.chmod(path, 0o600)
        argv = [BINARY, '-C', path] + list(args)
        env = {'PATH': '/usr/bin:/bin', 'HOME': d, 'LC_ALL': 'C'}
        p = subprocess.run(wrapped(argv), input=stdin, env=env, capture_output=True,
                           timeout=timeout)
        shown = ['smtpsend', '-C', 'CONFIG'] + [a if len(a) < 80 else a[:77] + '...'
                                               for a in args]
        return Result(p.returncode, p.stdout, p.stderr.decode(errors='replace'), shown)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def body_of(t, data):
    sep = t.newline * 2
    expect(sep in data, 'a blank line after the header in %r' % data[:300])
    return data.split(sep, 1)[1]


def wanted_body(t, body):
    want = normalise(body)
    return want.replace(b'\r\n', t.newline) if t.newline != b'\r\n' else want


def send_and_compare(t, port, implicit, body, args=(), rcpt='tester@test.example'):
    tok = token()
    mail = b'Subject: ' + tok.encode() + b'\n\n' + body
    r = run(list(args) + ['-i', rcpt], stdin=mail, cfg=config(t, port, implicit))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    got = t.delivered(tok)
    expect_eq(len(got), 1, 'one delivery of %s' % tok)
    got_body = body_of(t, got[0])
    want = wanted_body(t, body)
    if got_body != want:
        n = next((i for i, (a, b) in enumerate(zip(got_body, want)) if a != b),
                 min(len(got_body), len(want)))
        raise common.harness.Failure(
            'delivered body differs from the one sent (%d vs %d bytes), first at '
            'byte %d: got %r, want %r' % (len(got_body), len(want), n,
                                          got_body[max(0, n - 40):n + 40],
                                          want[max(0, n - 40):n + 40]))
    return got[0]


# -- the cases -------------------------------------------------------------

def starttls_auth(t):
    # The submission port needs AUTH after STARTTLS: a delivery proves both.
    send_and_compare(t, 'submission', False, b'Hello.\nline two\n')


def implicit_tls_auth(t):
    send_and_compare(t, 'smtps', True, b'Over implicit TLS.\r\nline two\r\n')


def dot_lines(t):
    # Lines holding only "." and "..", and others starting with dots:
    # stuffed by the client, unstuffed by the server.
    send_and_compare(t, 'submission', False,
                     b'.\n..\n...\n.x\n..x\n \n.\r\n..\r\nend\n.')


def smuggling_and_line_endings(t):
    send_and_compare(t, 'submission', False,
                     b'a\n.\nMAIL FROM:<evil@x>\r\nb\r\r\nc\rd\n.\r\n')


def eight_bit_body(t):
    got = send_and_compare(t, 'submission', False,
                           'caf\u00e9 \u00fcber \u00e6\u00f8\u00e5\n\u20ac 5\n'.encode())
    return got


def big_message(t, size=5 * 1024 * 1024):
    """size bytes of text (lines up to 76 octets, some starting with a
    dot), compared byte for byte after delivery."""
    lines, n, i = [], 0, 0
    while n < size:
        i += 1
        if i % 97 == 0:
            line = b'.'
        elif i % 89 == 0:
            line = b'..dot-started line %d' % i
        elif i % 83 == 0:
            line = b''
        else:
            line = (b'%08d ' % i + b'abcdefghijklmnopqrstuvwxyz0123456789'
                    b'ABCDEFGHIJKLMNOPQRSTUVWXYZ-+')[:10 + (i * 7) % 67]
        lines.append(line)
        n += len(line) + 1
    body = b'\n'.join(lines) + b'\n'
    send_and_compare(t, 'submission', False, body)


def refused_recipient(t, port='submission', implicit=False):
    tok = token()
    mail = b'Subject: ' + tok.encode() + b'\n\nrefused\n'
    r = run(['a@test.example', 'x@reject.example'], stdin=mail,
            cfg=config(t, port, implicit))
    expect_eq(r.rc, 67, 'one refused, all or nothing: `%s` %r' % (r.command(), r))
    expect_in('x@reject.example: 550', r.err, 'refusal named with the reply')
    expect_eq(t.delivered(tok, timeout=1.0), [], 'nobody got it')


def deferred_recipient(t, port='smtps', implicit=True):
    tok = token()
    mail = b'Subject: ' + tok.encode() + b'\n\ndeferred\n'
    r = run(['a@test.example', 'x@defer.example'], stdin=mail,
            cfg=config(t, port, implicit))
    expect_eq(r.rc, 75, 'deferred: `%s` %r' % (r.command(), r))
    expect_in('x@defer.example', r.err, 'deferral named')
    expect_eq(t.delivered(tok, timeout=1.0), [], 'nobody got it')


def three_recipients(t):
    tok = token()
    mail = b'Subject: ' + tok.encode() + b'\n\nthree\n'
    r = run(['a@test.example', 'b@test.example', 'tester@localhost'],
            stdin=mail, cfg=config(t))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    expect_eq(len(t.delivered(tok, count=3)), 3, 'three deliveries')


def wrong_password(t):
    # AUTH PLAIN went with MAIL, RCPT and BDAT: the server refuses the
    # transaction of a client that did not authenticate.
    tok = token()
    r = run(['-v', 'tester@test.example'], stdin=b'Subject: %s\n\nx\n' %
            tok.encode(), cfg=config(t, password='wrong'))
    expect_eq(r.rc, 77, 'wrong password: `%s` %r' % (r.command(), r))
    expect_eq(t.delivered(tok, timeout=3), [], 'nothing delivered')


def auth_with_the_transaction(t, port='submission', implicit=False):
    """AUTH PLAIN, MAIL, RCPT and the message in one write (RFC 4954
    section 4): MAIL is on its way before the 235 is read."""
    tok = token()
    r = run(['-v', 'tester@test.example'], stdin=b'Subject: %s\n\nx\n' %
            tok.encode(), cfg=config(t, port, implicit))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    lines = r.err.splitlines()
    mail = next((i for i, l in enumerate(lines) if '] > MAIL FROM:' in l), None)
    ok = next((i for i, l in enumerate(lines) if '] < 235' in l), None)
    expect(mail is not None and ok is not None and mail < ok,
           'MAIL sent before the 235: %r' % lines[-25:])
    expect_eq(len(t.delivered(tok)), 1, 'one delivery of %s' % tok)


def size_exceeded(t, port='submission', implicit=False):
    tok = token()
    line = b'x' * 75 + b'\n'
    body = line * (t.size_limit // len(line) + 2000)     # ~150 KB over
    mail = b'Subject: ' + tok.encode() + b'\n\n' + body
    r = run(['tester@test.example'], stdin=mail, cfg=config(t, port, implicit))
    expect_eq(r.rc, 69, 'larger than SIZE %d: `%s` (%d bytes) %r'
              % (t.size_limit, r.command(), len(mail), r))
    expect_eq(t.delivered(tok, timeout=1.0), [], 'not delivered')
    return r


def dsn_success_failure(t, port='submission', implicit=False, issue18=False):
    """-N success,failure: delivered, and (where the server can tell) a
    success notification comes back to the sender."""
    tok = token()
    mail = b'Subject: ' + tok.encode() + b'\n\nDSN please\n'
    r = run(['-N', 'success,failure', 'tester@test.example'], stdin=mail,
            cfg=config(t, port, implicit))
    if r.rc == 69 and issue18 and 'DSN' in r.err:
        raise Skip('needs EHLO after AUTH (issue 18): the server offers DSN only '
                   'after AUTH; `%s` exit %d: %s' % (r.command(), r.rc,
                                                     r.err.strip()[-300:]))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    expect_eq(len(t.delivered(tok)), 1, 'delivered')
    notes = t.dsn_for(tok)
    if notes is not None:
        expect(notes, 'a success notification for %s reached the sender' % tok)
        expect(any(b'delivered' in n.lower() or b'success' in n.lower()
                   or b'action: delivered' in n.lower() for n in notes),
               'the notification says delivered: %r' % notes[0][:1500])
    return r


def smtputf8_recipient(t):
    """A non-ASCII local part: MAIL ... SMTPUTF8, delivered."""
    tok = token()
    r = run(['j\u00f6rg@test.example'],
            stdin=b'Subject: ' + tok.encode() + b'\n\nUTF-8 envelope\n', cfg=config(t))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    expect_eq(len(t.delivered(tok)), 1, 'delivered')


def bs_mode(t, port='submission', implicit=False):
    """An SMTP conversation piped into smtpsend -bs, relayed to the server."""
    tok = token()
    d = tempfile.mkdtemp(prefix='smtpsend-interop-bs-')
    try:
        path = os.path.join(d, 'config')
        with open(path, 'w') as f:
            f.write(config(t, port, implicit) + 'outbox %s/outbox\n' % d)
        os.chmod(path, 0o600)
        p = subprocess.Popen(wrapped([BINARY, '-C', path, '-bs']), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={'PATH': '/usr/bin:/bin', 'HOME': d, 'LC_ALL': 'C'})
        transcript = []

        def reply():
            lines = []
            while True:
                line = p.stdout.readline().decode(errors='replace')
                if not line:
                    break
                lines.append(line.rstrip('\r\n'))
                if len(line) < 4 or line[3] != '-':
                    break
            transcript.append(lines)
            return lines

        def cmd(text, want):
            p.stdin.write(text + b'\r\n')
            p.stdin.flush()
            r = reply()
            expect(r and r[-1][:3] == want, '-bs: %r -> %r, want %s (so far %r)'
                   % (text[:60], r, want, transcript))
            return r
        try:
            g = reply()
            expect(g and g[0].startswith('220'), '-bs greeting %r' % g)
            cmd(b'EHLO client.test.example', '250')
            cmd(b'MAIL FROM:<%s>' % SENDER.encode(), '250')
            cmd(b'RCPT TO:<tester@test.example>', '250')
            cmd(b'DATA', '354')
            final = cmd(b'Subject: ' + tok.encode() + b'\r\n\r\nvia -bs\r\n..dot\r\n.',
                        '250')
            cmd(b'QUIT', '221')
            p.stdin.close()
            rc = p.wait(timeout=60)
            err = p.stderr.read().decode(errors='replace')
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        expect_eq(rc, 0, 'smtpsend -bs exit (stderr %r)' % err[-500:])
        got = t.delivered(tok)
        expect_eq(len(got), 1, 'one delivery via -bs (final reply %r)' % final)
        expect_eq(body_of(t, got[0]), b'via -bs' + t.newline + b'.dot' + t.newline,
                  'delivered body')
    finally:
        shutil.rmtree(d, ignore_errors=True)


def queue_over_one_connection(t, port='submission', implicit=False, n=5):
    """n messages kept (the server unreachable), then `smtpsend -q` with the
    same configuration file: every one delivered once, AUTH once a
    connection, the outbox empty.  A server that limits the messages of a
    connection (Exim's smtp_accept_max_per_connection: 421 to MAIL) gets a
    new connection for the rest."""
    toks = [token() for _ in range(n)]
    d = tempfile.mkdtemp(prefix='smtpsend-interop-q-')
    try:
        path = os.path.join(d, 'config')
        env = {'PATH': '/usr/bin:/bin', 'HOME': d, 'LC_ALL': 'C'}

        def write(cfg):
            with open(path, 'w') as f:
                f.write(cfg + 'outbox %s/outbox\n' % d)
            os.chmod(path, 0o600)
        dead = dict(t.ports)
        dead[port] = common.free_ports(1)[0]

        class Dead:
            ca, ports = t.ca, dead
        write(config(Dead, port, implicit))
        for tok in toks:
            p = subprocess.run(wrapped([BINARY, '-C', path, 'tester@test.example']),
                               input=b'Subject: ' + tok.encode() + b'\n\nkept\n',
                               env=env, capture_output=True, timeout=60)
            expect_eq(p.returncode, 75, 'kept while the server is away: %r' % p.stderr)
        write(config(t, port, implicit))
        p = subprocess.run(wrapped([BINARY, '-C', path, '-q', '-v']), env=env,
                           capture_output=True, timeout=120)
        err = p.stderr.decode(errors='replace')
        expect_eq(p.returncode, 0, '-q exit (stderr %r)' % err[-800:])
        for tok in toks:
            expect_eq(len(t.delivered(tok)), 1, 'one delivery of %s' % tok)
        left = [x for x in os.listdir(os.path.join(d, 'outbox')) if not x.startswith('.')]
        expect_eq(left, [], 'every entry removed')
        return err
    finally:
        shutil.rmtree(d, ignore_errors=True)


def recipient_limit(t, port, n, limit, implicit=False, tls=True, auth=True):
    """More recipients than the server takes in one transaction.  Passes
    when every recipient gets the message; when smtpsend exits non-zero,
    the case is skipped (the client's batching is not there yet)."""
    tok = token()
    rcpts = ['r%02d@test.example' % i for i in range(1, n + 1)]
    mail = b'Subject: ' + tok.encode() + b'\n\n%d recipients\n' % n
    r = run(rcpts, stdin=mail, cfg=config(t, port, implicit, auth=auth, tls=tls))
    if hasattr(t, 'recipients_reached'):    # a relay target: who was in the envelopes
        got = t.recipients_reached(tok, n, timeout=10 if r.rc == 0 else 2)
    else:                                   # a Maildir: one file per recipient
        got = t.delivered(tok, count=n, timeout=10 if r.rc == 0 else 2)
    if r.rc != 0:
        raise Skip('client does not batch recipients yet: %d recipients, server '
                   'limit %d: `%s` exit %d, %d delivered; stderr: %s'
                   % (n, limit, r.command(), r.rc, len(got),
                      ' | '.join(r.err.strip().splitlines()[-4:])))
    expect_eq(len(got), n, 'all %d recipients got it once (limit %d per transaction; '
              '`%s` exit 0, stderr %r; recipients reached: %s)'
              % (n, limit, r.command(), r.err[-500:], ' '.join(sorted(
                  g if isinstance(g, str) else '<message>' for g in got))))
    if hasattr(t, 'recipients_reached'):
        expect_eq(sorted(got), rcpts, 'each recipient in one of the envelopes')
