#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A person at a terminal (CONTRACT sections 2 and 9, issue 25): a typo never
mails a stranger, and what smtpsend says is true. The terminal is a real
pty; the server is the scripted one on 127.0.0.1."""
import os
import pty
import re
import select
import socket
import subprocess
import tempfile
import time

from harness import (test, expect, expect_eq, expect_in, expect_not_in, main,
                     read_pty)
from e2e import BINARY, run, account, server, write_config

UTF8 = {'LANG': 'C.UTF-8'}


class Tty:
    def __init__(self, rc, out, took):
        self.rc, self.out, self.took = rc, out.decode(errors='replace'), took

    def __repr__(self):
        return 'rc=%r output=%r' % (self.rc, self.out[-800:])


def tty(args, config=None, env=None, timeout=30, stdin=None, kill_after=None):
    """Run smtpsend with stdout and stderr on a pty (and stdin too unless
    `stdin` is given); everything it wrote comes back, with the exit
    status. `kill_after`: Ctrl-C (SIGINT) after that many seconds."""
    home = tempfile.mkdtemp(prefix='smtpsend-home-')
    e = {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': home, 'LC_ALL': '',
         'TERM': 'dumb'}
    e.update(env or {})
    argv = [BINARY] + (['-C', write_config(config, directory=home)]
                       if config is not None else []) + list(args)
    master, slave = pty.openpty()
    start = time.monotonic()
    p = subprocess.Popen(argv, env=e, stdin=stdin if stdin is not None
                         else slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b''
    while True:
        left = timeout - (time.monotonic() - start)
        if kill_after is not None and p.poll() is None and \
                time.monotonic() - start >= kill_after:
            p.send_signal(2)
            kill_after = None
        wait = min(left, 0.2)
        if left <= 0:
            p.kill()
            break
        r, _, _ = select.select([master], [], [], wait)
        if not r:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    rc = p.wait(timeout=10)
    os.close(master)
    return Tty(rc, out.replace(b'\r\n', b'\n'), time.monotonic() - start)


def outbox_account(port, outbox, extra='', **kw):
    text = account(port, **kw)
    return re.sub(r'outbox \S+', 'outbox %s' % outbox, text) + extra


def entries(outbox):
    if not os.path.isdir(outbox):
        return []
    return [n for n in os.listdir(outbox) if not n.startswith('.')]


def aliases_file(text):
    d = tempfile.mkdtemp(prefix='smtpsend-aliases-')
    path = os.path.join(d, 'aliases')
    with open(path, 'w') as f:
        f.write(text)
    return path


# -- 1. compose mode parsing ------------------------------------------------

@test
def stray_word_in_compose_sends_nothing():
    """`--to bob gmail.com --subject test --body hello`: an @ typed as a
    space. Nothing reaches the server, 64, the reason named."""
    srv = server()
    r = run(['--to', 'bob', 'gmail.com', '--subject', 'test', '--body',
             'hello'], config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 64, 'usage error %r' % r)
    expect_in('options come before the recipients: --subject after '
              'gmail.com', r.err, 'the reason')
    expect_eq(len(srv.sessions), 0, 'no connection at all')


@test
def option_after_a_recipient_is_never_a_recipient():
    for args in (['you@example.org', '--subject', 'hi'],
                 ['--subject', 'hi', 'you@example.org', '-v'],
                 ['--body', 'x', 'you@example.org', '--', '-x@example.org'],
                 ['you@example.org', '--from=me@example.org']):
        r = run(['--pretend'] + args, config=account(1))
        expect_eq(r.rc, 64, '%s: %r' % (args, r))
        expect_in('options come before the recipients', r.err, str(args))
    # sendmail's own rule stays: outside compose mode a recipient that
    # starts with '-' is a recipient (CONTRACT 2).
    r = run(['--pretend', 'you@example.org', '-odd@example.org'],
            stdin=b'Subject: x\n\nbody\n', config=account(1))
    expect_eq(r.rc, 0, 'a -word recipient outside compose %r' % r)
    expect_in(b'-odd@example.org', r.out, 'kept as a recipient')


@test
def bare_word_must_be_alias_or_account():
    cfg = account(1) + 'maildomain example.com\n'
    r = run(['--pretend', '--subject', 'hi', '--body', 'x', 'gmail.com'],
            config=cfg)
    expect_eq(r.rc, 65, 'not an address %r' % r)
    expect_in("recipient 'gmail.com' has no @ and is neither an alias nor a "
              "local account", r.err, 'names the word')
    r = run(['--pretend', '--to', 'nosuchuser-xyz', '--body', 'x'], config=cfg)
    expect_eq(r.rc, 65, '--to a bare unknown name %r' % r)
    # A local account and an alias are what a bare name may be.
    al = aliases_file('bob: bob@example.com\n')
    r = run(['--pretend', '--to', 'bob', '--cc', 'root', '--body', 'x'],
            config=cfg + 'aliases %s\n' % al)
    expect_eq(r.rc, 0, 'alias and account %r' % r)
    expect_in(b'bob@example.com', r.out, 'alias expanded')
    expect_in(b'root@example.com', r.out, 'account qualified')
    # Outside compose mode cron's `root` and any local name still work.
    r = run(['--pretend', 'nosuchuser-xyz'], stdin=b'Subject: x\n\nbody\n',
            config=cfg)
    expect_eq(r.rc, 0, 'sendmail mode qualifies %r' % r)


@test
def compose_at_terminal_shows_mapping_and_one_line():
    srv = server()
    al = aliases_file('bob: bob@example.com\n')
    cfg = account(srv.port) + 'maildomain example.com\naliases %s\n' % al
    t = tty(['--to', 'bob', '--subject', 'hi', '--body', 'hello'],
            config=cfg, env=UTF8)
    srv.stop()
    expect_eq(t.rc, 0, 'sent %r' % t)
    expect_in('smtpsend: bob \u2192 bob@example.com\n', t.out, 'the mapping')
    expect(re.search(r'smtpsend: sent to bob@example.com via 127\.0\.0\.1: '
                     r'250 \S+', t.out), 'one line at the end %r' % t)
    lines = [l for l in t.out.splitlines() if l]
    expect_eq(len(lines), 2, 'nothing else %r' % t)
    # Not at a terminal, a script hears nothing on success.
    srv = server()
    r = run(['--to', 'bob@example.com', '--body', 'x'],
            config=account(srv.port))
    srv.stop()
    expect_eq((r.rc, r.err), (0, ''), 'silent for a script')


@test
def compose_error_at_terminal_keeps_nothing():
    outbox = os.path.join(tempfile.mkdtemp(), 'outbox')
    cfg = outbox_account(1, outbox) + 'maildomain example.com\n'
    t = tty(['--to', 'gmail.com', '--body', 'x'], config=cfg)
    expect_eq(t.rc, 65, 'address error %r' % t)
    expect_not_in('kept', t.out, 'no word of keeping')
    expect_eq(entries(outbox), [], 'nothing kept')
    t = tty(['--to', 'a@example.com', '--body', 'x', '-a', 'nosuch'],
            config=cfg)
    expect_eq(t.rc, 78, 'configuration error %r' % t)
    expect_eq(entries(outbox), [], 'nothing kept')
    # From a script the same command is kept: nobody is there to retype it.
    r = run(['--to', 'gmail.com', '--body', 'x'], config=cfg)
    expect_eq(r.rc, 65, 'address error, script %r' % r)
    expect_eq(len(entries(outbox)), 1, 'kept for a script')


@test
def type_the_message_once():
    srv = server()
    master, slave = pty.openpty()
    home = tempfile.mkdtemp()
    p = subprocess.Popen([BINARY, '-C', write_config(account(srv.port),
                          directory=home), 'a@example.net'],
                         stdin=slave, stdout=slave, stderr=slave,
                         env={'HOME': home, 'PATH': '/usr/bin:/bin'})
    os.close(slave)
    time.sleep(0.5)
    os.write(master, b'Subject: typed\n\nhello\n\x04')
    out = read_pty(master)
    p.wait(timeout=30)
    srv.stop()
    expect_eq(p.returncode, 0, 'sent %r' % out)
    expect_eq(out.count(b'type the message, end with Ctrl-D'), 1,
              'said once %r' % out)
    r = run(['a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=account(1))
    expect_not_in('type the message', r.err, 'not to a pipe')


# -- 2. --from and --check --------------------------------------------------

@test
def from_is_dash_f():
    r = run(['--pretend', '--from', 'other@example.org', 'a@example.net'],
            stdin=b'Subject: x\n\ny\n', config=account(1))
    expect_eq(r.rc, 0, '%r' % r)
    expect(re.search(rb'(?m)^envelope from: <?other@example\.org', r.out) or
           b'MAIL FROM:<other@example.org>' in r.out or
           b'other@example.org' in r.out.split(b'\n\n')[0],
           'the sender %r' % r.out[:300])
    r = run(['--pretend', '--from=other@example.org', '--to',
             'a@example.net', '--body', 'x'], config=account(1))
    expect_eq(r.rc, 0, 'glued, with compose %r' % r)
    expect_in(b'other@example.org', r.out, 'sender')


@test
def check_right_password_sends_no_mail():
    srv = server()
    r = run(['--check'], config=account(srv.port))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'works %r' % r)
    expect(re.match(rb'smtpsend: account default works: 127\.0\.0\.1 port '
                    rb'\d+, STARTTLS TLSv1\.[23], AUTH PLAIN as tester, '
                    rb'\d+ ms\n$', r.out), 'one line %r' % r.out)
    s = srv.sessions[0]
    expect_eq(len(srv.sessions), 1, 'one connection')
    expect_eq(s.auth, ('PLAIN', 'tester'), 'authenticated')
    expect(s.quit, 'QUIT')
    expect_eq(s.messages, [], 'no mail')
    expect(not any(c.upper().startswith(('MAIL', 'RCPT', 'DATA', 'BDAT'))
                   for c in s.commands), 'no transaction %r' % s.commands)


@test
def check_wrong_password_is_77_as_a_send():
    srv = server()
    r = run(['--check'], config=account(srv.port, password='wrong'))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 77, 'refused %r' % r)
    expect_in('authentication refused by 127.0.0.1: 535', r.err, 'the reason')
    expect_in('; check the credentials (user, password', r.err, 'what to do')
    expect_eq(r.out, b'', 'no claim that it works')
    expect_eq(srv.sessions[0].messages, [], 'no mail')
    r = run(['--check'], config=account(1))
    expect_eq(r.rc, 75, 'refused connection %r' % r)
    expect_in('Connection refused', r.err, 'in the system words')


@test
def check_verbose_says_configuration_and_timings():
    srv = server()
    r = run(['--check', '-v'], config=account(srv.port, extra='auth plain\n'))
    srv.stop()
    expect_eq(r.rc, 0, '%r' % r)
    expect(re.search(r'smtpsend: configuration: /etc/smtpsend.conf( \(absent\))?'
                     r', /\S+/config; account default\n', r.err),
           'which files and account %r' % r.err[:300])
    expect(re.search(r'timings: connect [\d.]+ ms, tls [\d.]+ ms, greeting '
                     r'and EHLO [\d.]+ ms, auth [\d.]+ ms\n', r.err),
           'the phases of a check, no transfer %r' % r.err[-300:])


@test
def check_takes_no_recipients():
    r = run(['--check', 'a@example.net'], config=account(1))
    expect_eq(r.rc, 64, '%r' % r)
    expect_in('--check sends no mail', r.err, 'why')


@test
def check_cannot_redirect_credentials():
    srv = server()
    r = run(['--check', '--host=127.0.0.2'], config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 78, 'as for a send (CONTRACT 8) %r' % r)
    expect_eq(len(srv.sessions), 0, 'nothing sent')


# -- 3. -v true when it is needed --------------------------------------------

class Silent:
    """Accepts connections and says nothing: a 465 port reached with
    STARTTLS looks like this (it waits for a TLS ClientHello)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        import threading
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def stop(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def silent_config(port, timeout=8):
    return ('account default\nhost 127.0.0.1\nport %d\nfrom a@example.org\n'
            'syslog off\ntimeout %d\noutbox off\n' % (port, timeout))


NOTICE = ('no greeting after 5 s: an implicit-TLS port such as 465? set '
          'tls_starttls off')


@test
def greeting_wait_named_after_5_s_at_a_terminal():
    srv = Silent()
    t = tty(['a@example.net'], config=silent_config(srv.port),
            stdin=subprocess.DEVNULL, timeout=30)
    srv.stop()
    expect_eq(t.rc, 75, 'no greeting %r' % t)
    expect_eq(t.out.count(NOTICE), 1, 'said once, before the end %r' % t)
    expect(t.out.index(NOTICE) < t.out.index('sent no greeting'), 'first')
    # Not to a pipe: a program reads the one error line.
    srv = Silent()
    r = run(['a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=silent_config(srv.port, timeout=7))
    srv.stop()
    expect_not_in('no greeting after 5 s', r.err, 'nothing extra for a pipe')


@test
def verbose_connect_greeting_and_true_timings():
    srv = Silent()
    t = tty(['-v', 'a@example.net'], config=silent_config(srv.port, 6),
            stdin=subprocess.DEVNULL, timeout=30)
    srv.stop()
    expect(re.search(r'\* connecting to 127\.0\.0\.1 port %d\n' % srv.port,
                     t.out), 'a connecting line %r' % t)
    expect(re.search(r'\* connected to 127\.0\.0\.1 port %d; waiting for '
                     r'the greeting\n' % srv.port, t.out), 'waiting line')
    m = re.search(r'timings: (.*)\n', t.out)
    expect(m, 'a closing line %r' % t)
    # The 6 s limit runs from the start of the connection: the wait for
    # the greeting is 6 s less the connect time (5996.6 ms, say).
    expect(re.match(r'connect [\d.]+ ms, no greeting after (59|6\d)\d\d\.\d '
                    r'ms$',
                    m.group(1)), 'no auth, no tls: %r' % m.group(1))
    # Ctrl-C while waiting: still no phase that did not happen.
    srv = Silent()
    t = tty(['-v', 'a@example.net'], config=silent_config(srv.port, 30),
            stdin=subprocess.DEVNULL, timeout=30, kill_after=2)
    srv.stop()
    m = re.search(r'timings: (.*)\n', t.out)
    expect(m and 'auth' not in m.group(1) and 'no greeting after' in
           m.group(1), 'after Ctrl-C %r' % t)
    # Refused: the attempt only.
    r = run(['-v', 'a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=silent_config(1))
    expect_eq(r.rc, 75, '%r' % r)
    expect(re.search(r'timings: connect failed after [\d.]+ ms\n', r.err),
           'refused: %r' % r.err)
    # A send that worked: each phase.
    srv = server()
    r = run(['-v', 'a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=account(srv.port, extra='auth plain\n'))
    srv.stop()
    expect(re.search(r'timings: connect [\d.]+ ms, tls [\d.]+ ms, greeting '
                     r'and EHLO [\d.]+ ms, (auth [\d.]+ ms, )?transfer '
                     r'[\d.]+ ms\n', r.err), 'all phases %r' % r.err[-400:])


@test
def verbose_shows_the_refused_certificate():
    import smtpserver
    from e2e import certs
    srv = server()
    cfg = account(srv.port).replace('tls_trust_file', '# tls_trust_file')
    r = run(['-v', 'a@example.net'], stdin=b'Subject: x\n\ny\n', config=cfg)
    srv.stop()
    expect_eq(r.rc, 75, '%r' % r)
    fp = smtpserver.fingerprint_sha256(certs().cert)
    expect_in('* refused certificate: subject /CN=localhost, issuer /CN='
              'smtpsend test CA, SHA-256 %s\n' % fp, r.err, 'the certificate')
    r = run(['a@example.net'], stdin=b'Subject: x\n\ny\n', config=cfg)
    expect_not_in('refused certificate', r.err, 'only under -v')


# -- 4. did you mean ------------------------------------------------------------

@test
def did_you_mean_for_options():
    for typed, meant in (('--subjet', '--subject'), ('--form=a@b.example',
                         '--from'), ('--tls-trustfile=x', '--tls-trust-file'),
                         ('--serverinf', '--serverinfo')):
        r = run([typed, 'a@example.net'], config=account(1))
        expect_eq(r.rc, 64, typed)
        expect_in('unknown option %s (did you mean %s?' % (typed, meant),
                  r.err, typed)
    r = run(['--frobnicate', 'a@example.net'], config=account(1))
    expect_eq((r.rc, r.err), (64, 'smtpsend: unknown option --frobnicate\n'),
              'no wild guess')


@test
def did_you_mean_for_configuration_keys():
    r = run(['--pretend', 'a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=account(1) + 'tls_trustfile /x\nsylog off\nfrobnicate 1\n')
    expect_eq(r.rc, 78, '%r' % r)
    expect(re.search(r'config:\d+: unknown key tls_trustfile \(did you mean '
                     r'tls_trust_file\?\)\n', r.err), 'tls_trustfile %r' % r)
    expect_in('unknown key sylog (did you mean syslog?)', r.err, 'sylog')
    expect(re.search(r'unknown key frobnicate\n', r.err), 'no wild guess')


# -- 5. words ---------------------------------------------------------------------

@test
def error_lines_hint_first_and_80_columns_at_a_terminal():
    srv = server()
    logdir = tempfile.mkdtemp()
    log = os.path.join(logdir, 'log')
    cfg = account(srv.port).replace('tls_trust_file', '# tls_trust_file') + \
        'logfile %s\n' % log
    t = tty(['a@example.net'], config=cfg, stdin=subprocess.DEVNULL)
    expect_eq(t.rc, 75, '%r' % t)
    lines = t.out.splitlines()
    expect(all(len(l) <= 80 for l in lines), '80 columns %r' % t)
    expect(lines[0].startswith('smtpsend: deferred: TLS with 127.0.0.1 '
                               'failed: the certificate is not trusted'),
           'the hint first %r' % lines[0])
    expect_not_in('SSL certificate problem', t.out, 'no library text')
    expect_in('kept as ', t.out, 'where the message is')
    # A program reads one line, the library's words after the hint.
    r = run(['a@example.net'], stdin=b'Subject: x\n\ny\n', config=cfg)
    srv.stop()
    expect_eq(r.err.count('\n'), 1, 'one line %r' % r)
    expect(r.err.index('the certificate is not trusted') <
           r.err.index('(SSL certificate problem'), 'hint, then detail')
    # -v and the log keep the whole text.
    with open(log) as f:
        text = f.read()
    expect_in('SSL certificate problem', text, 'in the log')
    srv = server()
    cfg = account(srv.port).replace('tls_trust_file', '# tls_trust_file')
    t = tty(['-v', 'a@example.net'], config=cfg, stdin=subprocess.DEVNULL)
    srv.stop()
    expect_in('SSL certificate problem', t.out, 'under -v')


@test
def a_kept_message_is_named_once_at_a_terminal():
    srv = server(require_auth=True)
    t = tty(['a@example.net'], config=account(srv.port, password='wrong'),
            stdin=subprocess.DEVNULL)
    srv.stop()
    expect_eq(t.rc, 77, '%r' % t)
    text = ' '.join(t.out.split())
    m = re.search(r'kept as (\S+) for you, never sent on its own: check the '
                  r'credentials \(user, password, passwordeval or the OAuth2 '
                  r'grant\), then smtpsend -C \S+ -qI (\S+) sends it, smtpsend '
                  r'--remove (\S+) forgets it$', text)
    expect(m is not None, 'one clause %r' % text)
    expect(m and m.group(1) == m.group(2) == m.group(3), 'one id %r' % text)
    expect_eq(text.count('kept'), 1, '"kept" once %r' % text)


@test
def private_file_wording_names_what_it_holds():
    for key, words in (('password secret', 'holds a password'),
                       ('passwordeval echo secret', 'holds passwordeval')):
        home = tempfile.mkdtemp()
        path = write_config('account default\nhost h.example\nuser u\n'
                            'from a@h.example\n%s\n' % key, mode=0o644,
                            directory=home)
        r = run(['-C', path, '--pretend', 'a@example.net'],
                stdin=b'Subject: x\n\ny\n', env={'HOME': home})
        expect_eq(r.rc, 78, key)
        expect_in('%s but others can access it' % words, r.err, key)
        if 'eval' in key:
            expect_not_in('password but', r.err, 'not said of passwordeval')


@test
def compose_encodes_display_names_everywhere():
    import email.header
    r = run(['--pretend', '--to', 'Jürgen Müller <j@example.org>, b@example.org',
             '--cc', '"Zoë, Q." <z@example.org>', '-F', 'Ærlig Åse', '--from',
             'me@example.org', '--subject', 'hi', '--body', 'x'],
            config=account(1))
    expect_eq(r.rc, 0, '%r' % r)
    head = r.out.split(b'\r\n\r\n')[0] if b'\r\n\r\n' in r.out else r.out
    expect(all(b < 0x80 for b in head.split(b'MIME-Version')[0]),
           'no raw 8-bit in the header %r' % head)

    def field(name):
        m = re.search(rb'(?m)^' + name + rb': (.*(?:\r?\n[ \t].*)*)', r.out)
        expect(m, name.decode())
        return str(email.header.make_header(email.header.decode_header(
            m.group(1).decode().replace('\r\n', ''))))
    expect_in('Jürgen Müller <j@example.org>', field(b'To'), 'To')
    expect_in('b@example.org', field(b'To'), 'the second of To')
    expect_in('Zoë, Q. <z@example.org>', field(b'Cc'), 'Cc')
    expect_in('Ærlig Åse <me@example.org>', field(b'From'), 'From')


@test
def utf8_text_attachment_has_its_charset():
    d = tempfile.mkdtemp()
    files = {'notes.txt': 'Grüße aus Köln\n'.encode(), 'plain.txt': b'hello\n',
             'latin1.txt': 'Gr\xfc\xdfe'.encode('latin-1')}
    for name, data in files.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    r = run(['--pretend', '--to', 'a@example.org', '--body', 'x'] +
            ['--attach=%s' % os.path.join(d, n) for n in files],
            config=account(1))
    expect_eq(r.rc, 0, '%r' % r)
    types = re.findall(rb'Content-Type: (text/plain[^\r\n]*)\r\n'
                       rb'Content-Transfer-Encoding: base64\r\n'
                       rb'Content-Disposition: attachment; filename="(\S+)"',
                       r.out)
    expect_eq(dict((n.decode(), t.decode()) for t, n in types),
              {'notes.txt': 'text/plain; charset=utf-8',
               'plain.txt': 'text/plain; charset=us-ascii',
               'latin1.txt': 'text/plain'}, 'charsets')


class Slow:
    """A plain SMTP server that takes message data at about 1 MB/s, so a
    person has time to press Ctrl-C while the progress line runs."""

    def __init__(self):
        import threading
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        f = c.makefile('rb')
        c.sendall(b'220 slow ESMTP\r\n')
        try:
            for line in f:
                verb = line[:4].upper()
                if verb == b'EHLO':
                    c.sendall(b'250-slow\r\n250 8BITMIME\r\n')
                elif verb == b'DATA':
                    c.sendall(b'354 go\r\n')
                    while f.read(65536):
                        time.sleep(0.05)
                    return
                elif verb == b'QUIT':
                    c.sendall(b'221 bye\r\n')
                    return
                else:
                    c.sendall(b'250 ok\r\n')
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


@test
def ctrl_c_message_on_its_own_line():
    srv = Slow()
    big = os.path.join(tempfile.mkdtemp(), 'big')
    with open(big, 'wb') as f:
        f.write(b'Subject: big\n\n' + (b'z' * 76 + b'\n') * (12 * 1024 * 1024 // 77))
    with open(big, 'rb') as stdin:
        t = tty(['a@example.net'], config=account(srv.port, tls=None,
                                                   user=None),
                stdin=stdin, timeout=60, kill_after=2.5)
    srv.stop()
    os.unlink(big)
    expect_in('MiB/s', t.out, 'a progress line %r' % t)
    expect_in('interrupted by signal 2', t.out, 'cancelled %r' % t)
    expect(not any('MiB/s' in l and 'interrupted' in l
                   for l in t.out.split('\n')),
           'not on the progress line %r' % t.out[-400:])

@test
def a_465_server_that_gives_up_is_named_too():
    """A 465 server closes a connection that never starts TLS: the same
    hint as for a greeting that never comes, not libcurl's words."""
    srv = server(tls='implicit', timeout=2)
    r = run(['a@example.net'], stdin=b'Subject: x\n\ny\n',
            config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 75, '%r' % r)
    expect_in('127.0.0.1:%d closed the connection without a greeting: an '
              'implicit-TLS port such as 465? set tls_starttls off' % srv.port,
              r.err, 'the hint first')


if __name__ == '__main__':
    main()
