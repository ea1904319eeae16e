#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What a calling program can make smtpsend do (CONTRACT section 8) and who
holds the message (sections 6, 7): one test per finding of the security
audit (issue 12) and of the real callers (issue 13), against the scripted
server."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from harness import (test, expect, expect_eq, expect_in, expect_not_in, main,
                     read_pty)
from e2e import BINARY, run, account, server, write_config

MAIL = b'Subject: s\n\nbody\n'


def outbox_of(cfg):
    return re.search(r'^outbox (\S+)$', cfg, re.M).group(1)


def entries(box):
    return sorted(n for n in os.listdir(box) if not n.startswith('.')) \
        if os.path.isdir(box) else []


def down_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------- issue 12: the findings --

@test
def attach_never_rides_along_with_stdin_flags():
    secret = os.path.join(tempfile.mkdtemp(), 'secret')
    with open(secret, 'w') as f:
        f.write('top secret\n')
    srv = server()
    cfg = account(srv.port)
    for flags in (['-t', '-i'], ['-t'], ['-oi'], ['-bs']):
        r = run(flags + ['--attach=%s' % secret, '--to=attacker@example.net'],
                stdin=b'To: x@example.net\n\nhi\n', config=cfg)
        expect_eq(r.rc, 64, '%s with --attach %r' % (flags, r))
        expect_in('cannot be used with', r.err, 'says why')
    r = run(['--to=a@example.net', '--subject=hi'], stdin=b'hello\n',
            config=cfg, argv0='sendmail')
    expect_eq(r.rc, 64, 'no compose option for a program calling sendmail')
    r = run(['--to=a@example.net', '--attach=%s' % secret], stdin=b'report\n',
            config=cfg)
    srv.stop()
    expect_eq(r.rc, 0, 'smtpsend --to --attach from a script works %r' % r)
    msgs = [m for s in srv.sessions for m in s.messages]
    expect_eq(len(msgs), 1, 'only the legitimate compose run sent anything')


@test
def tls_and_destination_options_cannot_weaken_an_account_with_a_password():
    srv = server()
    cfg = account(srv.port)
    for opt in ('--tls-certcheck=off', '--tls-fingerprint=' + ':'.join(
            ['AB'] * 32), '--tls-trust-file=/etc/ssl/certs/ca-certificates.crt',
            '--tls=off', '--tls-starttls=off', '--port=%d' % srv.port,
            '--auth=off'):
        r = run([opt, 'a@example.net'], stdin=MAIL, config=cfg)
        expect_eq(r.rc, 78, '%s from a program %r' % (opt, r))
        expect_in('credentials', r.err, 'says why for %s' % opt)
    srv.stop()
    expect_eq(len(srv.sessions), 0, 'nothing connected')


@test
def account_name_cannot_inject_into_an_entry():
    cfg = account(down_port())
    r = run(['-a', 'default\nstate: temporary\nrecipient: evil@example.net',
             'a@example.net'], stdin=MAIL, config=cfg)
    expect_eq(r.rc, 64, 'a line break in -a %r' % r)
    expect_eq(entries(outbox_of(cfg)), [], 'nothing saved')


def planted_entry(box, body=b'\r\nx\r\n', size=None, extra=b'',
                  rcpt=b'a@example.net'):
    os.makedirs(box, mode=0o700, exist_ok=True)
    name = '20200101T000000Z-%08x' % (len(os.listdir(box)) + 1)
    size = len(body) if size is None else size
    with open(os.path.join(box, name), 'wb') as f:
        f.write(b'smtpsend-outbox: 1\ncreated: 1\nattempts: 0\n'
                b'last-attempt: 0\nstate: temporary\nexit: 75\nerror: x\n'
                b'sender: a@example.org\nrecipient: ' + rcpt + b'\n' + extra +
                b'body-8bitmime: no\neight-bit: no\nlongest-line: 2\n'
                b'header-bytes: 2\nsize: %d\n\n' % size + body)
    os.chmod(os.path.join(box, name), 0o600)
    return name


@test
def damaged_entries_are_never_sent():
    srv = server()
    cfg = account(srv.port)
    box = outbox_of(cfg)
    truncated = planted_entry(box, size=4096)
    bare_cr = planted_entry(box, rcpt=b'a@example.net\rRCPT TO:<evil@x.org>')
    injected = planted_entry(box, extra=b'account: x y\n')
    fifo = os.path.join(box, '20200101T000000Z-000000ff')
    os.mkfifo(fifo, 0o600)
    t0 = time.monotonic()
    r = run(['-q'], config=cfg, timeout=30)
    expect(time.monotonic() - t0 < 20, 'no hang on a FIFO')
    srv.stop()
    expect_eq(r.rc, 75, 'damaged entries are reported %r' % r)
    for name in (truncated, bare_cr, injected):
        expect_in('%s is damaged' % name, r.err, 'reported: %s' % name)
        expect(os.path.exists(os.path.join(box, name)), 'left: %s' % name)
    expect_in('not a regular file', r.err, 'the FIFO')
    expect_eq(len(srv.sessions), 0, 'nothing sent')
    r = run(['-bp'], config=cfg, timeout=30)
    expect_eq(r.rc, 0, '-bp does not hang on the FIFO %r' % r)


@test
def stale_temporary_files_are_removed_by_q():
    cfg = account(down_port())
    box = outbox_of(cfg)
    os.makedirs(box, mode=0o700)
    old, new = os.path.join(box, '.tmp-old'), os.path.join(box, '.tmp-new')
    for p in (old, new):
        with open(p, 'wb') as f:
            f.write(b'x' * 1000)
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    run(['-q'], config=cfg)
    expect(not os.path.exists(old), 'a crashed save of days ago is removed')
    expect(os.path.exists(new), 'a save under way is left alone')


@test
def log_file_never_followed_through_a_symlink():
    d = tempfile.mkdtemp()
    target = os.path.join(d, 'target')
    with open(target, 'w') as f:
        f.write('untouched\n')
    os.symlink(target, os.path.join(d, 'log'))
    srv = server()
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port, extra='logfile %s/log\n' % d))
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    expect_eq(open(target).read(), 'untouched\n', 'not written through it')
    expect_in('cannot write the log file', r.err, 'warned')


@test
def proxy_does_not_escape_the_cleartext_rule():
    r = run(['--pretend', 'a@x.org'], stdin=MAIL,
            config='host 127.0.0.1\ntls off\nuser u\npassword p\nsyslog off\n'
                   'proxy_host 192.0.2.1\nmaildomain example.org\n')
    expect_eq(r.rc, 78, 'cleartext through a remote proxy %r' % r)


@test
def obsolete_bcc_syntax_is_a_recipient_and_removed():
    r = run(['--pretend', '-t'], stdin=b'To: a@x.org\nBcc : hidden@y.org\n\nb\n',
            config='host h.example\nsyslog off\nmaildomain example.org\n')
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_in(b'RCPT TO:<hidden@y.org>', r.out, 'a recipient')
    expect_not_in(b'Bcc', r.out.split(b'bytes\n', 1)[1], 'removed')


@test
def huge_greeting_is_not_smtp():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)

    def serve():
        c, _ = s.accept()
        try:
            c.sendall(b'220 ' + b'x' * (20 * 1024 * 1024) + b'\r\n')
            c.recv(100)
        except OSError:
            pass
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    r = run(['a@example.net'], stdin=MAIL,
            config=account(s.getsockname()[1], tls=None, user=None))
    s.close()
    expect_eq(r.rc, 76, 'a 20 MB greeting %r' % r)


@test
def refused_auth_logs_what_was_reached():
    d = tempfile.mkdtemp()
    srv = server(users={'tester': 'right'}, require_auth=True)
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port, password='wrong',
                           extra='logfile %s/log\n' % d))
    srv.stop()
    expect_eq(r.rc, 77, 'refused %r' % r)
    line = open(os.path.join(d, 'log')).read()
    expect_in('tls=on', line, 'the session was encrypted')
    expect_in('exitcode=EX_NOPERM', line, 'exit code name')


@test
def ehlo_name_cannot_be_url_decoded():
    r = run(['--domain=x%20y', 'a@example.net'], stdin=MAIL,
            config=account(down_port()))
    expect_eq(r.rc, 64, '--domain=x%%20y %r' % r)


@test
def serverinfo_escapes_the_server():
    srv = server(tls=None, extensions=['SIZE 1000', 'X\x1b[2JEVIL'])
    r = run(['--serverinfo'], config=account(srv.port, tls=None, user=None))
    srv.stop()
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_not_in(b'\x1b', r.out, 'no raw escape sequence')


@test
def passwordeval_timeouts():
    """Its 30 s hold for a command that keeps running with a child of its
    own (killed too), and (issue 22 L4) for one that prints, closes its
    output and keeps running, which made smtpsend wait past the 30 s. Both
    wait at once: one 30 s for the suite, not two."""
    d = tempfile.mkdtemp()
    pidfile = os.path.join(d, 'pid')
    child = account(down_port(), password='x').replace(
        'password x', 'passwordeval sh -c \'sleep 300 & echo $! > %s; wait\''
        % pidfile)
    closed = account(down_port(), password='x').replace(
        'password x', 'passwordeval echo pw; exec >&-; sleep 45')
    done = {}

    def one(name, cfg):
        t0 = time.monotonic()
        r = run(['a@example.net'], stdin=MAIL, config=cfg, timeout=90)
        done[name] = (r, time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=a)
               for a in (('child', child), ('closed', closed))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, (r, took) in sorted(done.items()):
        expect_eq(r.rc, 78, '%s: passwordeval timed out %r' % (name, r))
        expect_in('timed out', r.err, '%s: says so' % name)
        expect(took < 35, '%s: within its 30 s (took %.1f s)' % (name, took))
    pid = int(open(pidfile).read())
    time.sleep(0.2)
    alive = os.path.exists('/proc/%d' % pid) and \
        'Z' not in open('/proc/%d/stat' % pid).read().split()[2]
    expect(not alive, 'its child was killed too')
    shutil.rmtree(d, ignore_errors=True)


# ----------------------------------------- issue 13: who holds the message --

@test
def exit_status_tells_who_holds_the_message():
    cfg = account(down_port())
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    expect_eq(r.rc, 75, 'as smtpsend: 75 %r' % r)
    expect(r.err.startswith('smtpsend: deferred: '), 'deferred: %r' % r.err)
    # Its own -C: the entry goes with its configuration (CONTRACT 7).
    expect(re.search(r'smtpsend -q -C /\S+/config sends it', r.err),
           'says what next, with the -C that sends it %r' % r.err)
    expect_eq(r.err.count('\n'), 1, 'one line')
    r = run(['a@example.net'], stdin=MAIL, config=cfg, argv0='sendmail')
    expect_eq(r.rc, 0, 'as sendmail: accepted for delivery %r' % r)
    expect_in('deferred: ', r.err, 'still said')
    r = run(['a@example.net'], stdin=MAIL, argv0='sendmail',
            config=cfg + 'deferred_status 75\n')
    expect_eq(r.rc, 75, 'deferred_status 75 %r' % r)
    r = run(['a@example.net'], stdin=MAIL, config=cfg + 'deferred_status 0\n')
    expect_eq(r.rc, 0, 'deferred_status 0 as smtpsend %r' % r)
    expect_eq(len(entries(outbox_of(cfg))), 4, 'every one kept')
    r = run(['a@example.net'], stdin=MAIL, argv0='sendmail',
            config=cfg.replace('outbox ' + outbox_of(cfg), 'outbox off'))
    expect_eq(r.rc, 75, 'outbox off: always 75 %r' % r)
    srv = server(replies={'RCPT': '550 5.1.1 no such user'})
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port),
            argv0='sendmail')
    srv.stop()
    expect_eq(r.rc, 67, 'a permanent failure is never 0 %r' % r)


@test
def bs_answers_queued_under_deferred_status_0():
    cfg = account(down_port())
    conv = (b'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>'
            b'\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n.\r\nQUIT\r\n')
    for argv0, want in (('sendmail', b'250 2.0.0 Ok: queued as 2'),
                        (None, b'451 4.3.0 ')):
        p = subprocess.run([argv0 or BINARY, '-C', write_config(cfg), '-bs'],
                           executable=BINARY, input=conv, capture_output=True,
                           timeout=60)
        expect_in(want, p.stdout, 'the reply to the dot as %s' % argv0)


@test
def q_selects_with_qI_qR_qS_and_remove_forgets():
    cfg = account(down_port())
    box = outbox_of(cfg)
    for rcpt, sender in (('one@example.net', 'x@example.org'),
                         ('two@example.net', 'y@example.org')):
        run(['-f', sender, rcpt], stdin=MAIL, config=cfg)
    ids = entries(box)
    expect_eq(len(ids), 2, 'two kept')
    srv = server()
    live = cfg.replace('port %d' % int(re.search(r'port (\d+)', cfg).group(1)),
                       'port %d' % srv.port)
    r = run(['-qR', 'two@'], config=live)
    expect_eq(r.rc, 0, 'what was chosen was sent %r' % r)
    expect_eq(len(entries(box)), 1, 'the other one is left')
    sent = [m['rcpts'] for s in srv.sessions for m in s.messages]
    expect_eq(sent, [['two@example.net']], '-qR chose by recipient')
    r = run(['-qS', 'nobody@'], config=live)
    expect_eq(len(srv.sessions), 1, '-qS matching nothing sends nothing')
    left = entries(box)
    r = run(['--remove', left[0], 'no-such-id'], config=live)
    expect_eq(r.rc, 64, 'one unknown id %r' % r)
    expect_eq(entries(box), [], 'removed')
    srv.stop()


@test
def q_sends_a_cancelled_message_only_when_named():
    srv = server(replies={'RCPT': '550 5.1.1 nope'})
    cfg = account(srv.port)
    run(['a@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    box = outbox_of(cfg)
    (name,) = entries(box)
    srv = server()
    cfg2 = cfg.replace('port %d' % srv.port, 'port %d' % srv.port)
    cfg2 = re.sub(r'port \d+', 'port %d' % srv.port, cfg)
    run(['-q'], config=cfg2)
    expect_eq(len(srv.sessions), 0, 'a permanent entry is not sent by -q')
    r = run(['-qI', name], config=cfg2)
    srv.stop()
    expect_eq(r.rc, 0, '-qI ID sends it %r' % r)
    expect_eq(len([m for s in srv.sessions for m in s.messages]), 1, 'sent')


@test
def senders_are_qualified_never_aliased():
    d = tempfile.mkdtemp()
    aliases = os.path.join(d, 'aliases')
    with open(aliases, 'w') as f:
        f.write('root: admin@example.com\ndefault: catchall@example.com\n')
    r = run(['--pretend', '-f', 'fail2ban', 'root'], stdin=MAIL,
            config='host h.example\nsyslog off\nmaildomain example.org\n'
                   'aliases %s\n' % aliases)
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_in(b'MAIL FROM:<fail2ban@example.org>', r.out, 'not caught by '
              'default:')
    expect_in(b'RCPT TO:<admin@example.com>', r.out, 'recipients aliased')


@test
def t_without_recipients_is_a_usage_error():
    cfg = account(down_port())
    r = run(['-t'], stdin=b'Subject: nobody\n\nx\n', config=cfg)
    expect_eq(r.rc, 64, 'as Postfix %r' % r)



@test
def tilde_in_file_keys_is_the_home():
    import shutil
    from e2e import certs
    home = tempfile.mkdtemp()
    shutil.copy(certs().ca, os.path.join(home, 'ca.pem'))
    srv = server()
    cfg = account(srv.port).replace('tls_trust_file %s' % certs().ca,
                                    'tls_trust_file ~/ca.pem')
    r = run(['a@example.net'], stdin=MAIL, config=cfg, env={'HOME': home})
    srv.stop()
    expect_eq(r.rc, 0, '~/ca.pem as in msmtp %r' % r)


@test
def words_with_spaces_are_not_an_address():
    r = run(['--to', 'you example.org', '--body', 'x'], config=account(1))
    expect_eq(r.rc, 65, 'refused %r' % r)
    expect_in('words separated by spaces', r.err, 'says why')



# ------------------------------- issue 18: real servers' limits --

@test
def recipients_in_batches_of_rcptmax():
    from smtpserver import DEFAULT_EXTENSIONS
    srv = server(extensions=list(DEFAULT_EXTENSIONS) + ['LIMITS RCPTMAX=2'])
    rcpts = ['r%d@example.net' % i for i in range(5)]
    r = run(rcpts, stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 0, 'delivered %r' % r)
    msgs = srv.sessions[0].messages
    expect_eq([m['rcpts'] for m in msgs], [rcpts[0:2], rcpts[2:4], rcpts[4:]],
              'three transactions on one connection')
    expect_eq(len(srv.sessions), 1, 'one connection')


@test
def too_many_recipients_go_in_the_next_transaction():
    srv = server(replies={'RCPT': ['250 ok', '250 ok',
                                   '452 4.5.3 Too many recipients'] * 3})
    rcpts = ['r%d@example.net' % i for i in range(3)]
    r = run(rcpts, stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 0, 'delivered %r' % r)
    got = [m['rcpts'] for m in srv.sessions[0].messages]
    expect_eq(got, [rcpts[0:2], rcpts[2:]], 'the third went next time')


@test
def a_refused_large_message_is_not_uploaded():
    srv = server(replies={'RCPT': '550 5.1.1 no such user'})
    big = b'Subject: big\n\n' + (b'x' * 76 + b'\n') * 70000   # 5 MB
    r = run(['nobody@example.net'], stdin=big, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 67, 'refused %r' % r)
    cmds = srv.sessions[0].commands
    expect(not any(c.startswith('BDAT') or c == 'DATA' for c in cmds),
           'no body sent before the RCPT reply: %r' % cmds[-4:])



# ------------------------------------------- AUTH is ours (issues 15, 18) --

@test
def auth_plain_goes_with_the_transaction():
    # RFC 4954 section 4: one write for AUTH PLAIN, MAIL, RCPT and BDAT.
    srv = server()
    r = run(['-v', 'a@example.net'], stdin=MAIL, config=account(srv.port))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    s = srv.sessions[0]
    expect_eq(s.auth, ('PLAIN', 'tester'), 'authenticated with PLAIN')
    expect_in('MAIL', s.pipelined, 'MAIL sent before the AUTH reply')
    expect_in('BDAT', s.pipelined, 'BDAT in the same flight')
    expect_eq(len(s.messages), 1, 'delivered once')
    expect_in('AUTH PLAIN <redacted>', r.err, '-v shows the mechanism only')
    expect_not_in('dGVzdGVy', r.err, 'no secret in -v')


@test
def auth_waits_when_the_peer_is_not_verified():
    from e2e import certs
    c = certs()
    srv = server(cert=c.selfsigned_cert, key=c.selfsigned_key)
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port) + 'tls_certcheck off\n')
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    expect_not_in('MAIL', srv.sessions[0].pipelined,
                  'no mail before the unverified peer took the password')


@test
def auth_waits_for_a_mechanism_of_several_exchanges():
    srv = server(extensions=['PIPELINING', 'CHUNKING', 'AUTH LOGIN'])
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    expect_eq(srv.sessions[0].auth[0], 'LOGIN', 'LOGIN')
    expect_not_in('MAIL', srv.sessions[0].pipelined, 'MAIL after 235')


def with_wrong_password(stdin=MAIL, **kw):
    """A run with the wrong password against a scripted server (kw): the
    result and the server's session."""
    srv = server(users={'tester': 'right'}, **kw)
    r = run(['a@example.net'], stdin=stdin,
            config=account(srv.port, password='wrong'))
    srv.wait()
    srv.stop()
    expect_eq(len(srv.sessions), 1, 'one connection, no second try')
    return r, srv.sessions[0]


@test
def quit_after_a_refused_auth_and_nothing_delivered():
    r, s = with_wrong_password(require_auth=True)
    expect_eq(r.rc, 77, 'refused %r' % r)
    expect_in('MAIL', s.pipelined, 'the early path was taken')
    expect_eq(len(s.messages), 0, 'nothing delivered')
    expect_eq(s.commands[-1], 'QUIT', 'QUIT after the drained replies')
    expect_eq(r.err.count('\n'), 1, 'one line %r' % r.err)


@test
def refused_early_auth_on_a_server_that_takes_mail_anyway():
    # A server that takes mail without AUTH (mynetworks) took it: the
    # caller is told it was delivered, once, and why the warning.
    r, s = with_wrong_password()
    expect_eq(r.rc, 0, 'delivered, so 0 (a retry would duplicate) %r' % r)
    expect_eq(len(s.messages), 1, 'delivered once')
    expect_in('took the message without authentication', r.err, r.err)
    expect_in('535', r.err, 'the refusal is named')


@test
def refused_early_auth_with_data_on_a_server_that_takes_mail_anyway():
    # Without CHUNKING, DATA goes with the envelope; after a refused AUTH
    # the server that relays anyway answers 354 and reads data: the
    # message follows (CONTRACT 8: delivered, exit 0, warned), and no
    # command is ever sent where the server reads message data.
    r, s = with_wrong_password(hide=('CHUNKING',))
    expect_eq(r.rc, 0, 'delivered, so 0 (a retry would duplicate) %r' % r)
    expect_in('DATA', s.pipelined, 'DATA went with the envelope')
    expect_eq(len(s.messages), 1, 'delivered once')
    expect(s.messages[0]['data'].endswith(b'\r\n\r\nbody\r\n'),
           'the message itself: %r' % s.messages[0]['data'])
    expect(not any(b'QUIT' in m['data'] for m in s.messages + s.aborted),
           'no QUIT taken for data: %r' % s.messages)
    expect_in('took the message without authentication', r.err, r.err)
    expect_in('535', r.err, 'the refusal is named')
    expect_eq(s.commands[-1], 'QUIT', 'QUIT after the end of data')


@test
def refused_early_auth_never_sends_a_large_body():
    # Over 256 KiB the body waits for the envelope's replies: after a
    # refused AUTH it is never sent, even to a server that takes MAIL.
    r, s = with_wrong_password(b'Subject: big\n\n' + (b'y' * 79 + b'\n') * 5000)
    expect_eq(r.rc, 77, 'refused %r' % r)
    expect_eq(len(s.messages), 0, 'nothing delivered')
    expect_not_in('BDAT', s.commands, 'no body sent')


@test
def a_refused_early_auth_and_a_hang_up_still_exit_77():
    # The server answers 535 and closes while the first flight (a body
    # just under 256 KiB) may still be going out: AUTH's reply explains it.
    import smtpserver
    orig = smtpserver.Session._auth_result

    def refuse_and_close(self, default, who=None):
        self._send(b'535 5.7.8 Error: authentication failed\r\n', expect=None)
        raise smtpserver._Closed()
    smtpserver.Session._auth_result = refuse_and_close
    try:
        srv = server(users={'tester': 'right'}, require_auth=True)
        big = b'Subject: s\n\n' + (b'y' * 79 + b'\n') * 3200
        r = run(['a@example.net'], stdin=big,
                config=account(srv.port, password='wrong'))
        srv.wait()
        srv.stop()
    finally:
        smtpserver.Session._auth_result = orig
    expect_eq(r.rc, 77, 'refused %r' % r)
    expect_in('535 5.7.8', r.err, 'the server\'s words')
    expect_eq(sum(len(x.messages) for x in srv.sessions), 0, 'nothing delivered')


@test
def a_file_on_stdin_rewritten_meanwhile_is_not_sent():
    # Read in place: a caller that changes its file between the check and
    # the sending (here while RCPT is answered) gets an error, and the
    # server gets no message, not one of another size or content.
    import smtpserver
    orig = smtpserver.Session.cmd_RCPT
    for how in ('shorter', 'same size'):
        d = tempfile.mkdtemp()
        path = os.path.join(d, 'msg')
        with open(path, 'wb') as fh:
            fh.write(b'Subject: s\n\n' + (b'x' * 62 + b'\n') * 17000)

        def cmd_RCPT(self, arg, how=how, path=path):
            if how == 'shorter':
                os.truncate(path, os.path.getsize(path) - 1)
            else:
                time.sleep(0.02)    # past a coarse clock's tick
                with open(path, 'r+b') as fh:
                    fh.seek(-5, 2)
                    fh.write(b'y')
            return orig(self, arg)
        smtpserver.Session.cmd_RCPT = cmd_RCPT
        try:
            srv = server(tls=None)
            with open(path, 'rb') as fh:
                r = run(['a@example.net'], stdin=fh,
                        config=account(srv.port, tls=None, user=None))
            srv.wait()
            srv.stop()
        finally:
            smtpserver.Session.cmd_RCPT = orig
        expect(r.rc not in (0, 75), '%s: an error %r' % (how, r))
        expect_in('did it change?', r.err, how + ': says why')
        expect_eq(len(srv.sessions[0].messages), 0, how + ': nothing delivered')
        expect_eq(srv.sessions[0].commands[-1], 'QUIT', how + ': QUIT')


@test
def quit_when_auth_is_not_offered():
    srv = server(extensions=['PIPELINING', '8BITMIME'])
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 69, 'not offered %r' % r)
    expect_eq(srv.sessions[-1].commands[-1], 'QUIT', 'QUIT before closing')
    expect(all(not c.startswith('MAIL') for c in srv.sessions[-1].commands),
           'no MAIL without AUTH')


@test
def no_second_connection_when_plain_is_not_offered():
    srv = server(extensions=['PIPELINING', 'AUTH LOGIN CRAM-MD5'])
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 0, 'sent with LOGIN %r' % r)
    expect_eq(len(srv.sessions), 1, 'one connection, no probe')
    expect_eq(srv.sessions[0].auth[0], 'LOGIN', 'auto chose LOGIN')


@test
def cram_md5_works():
    srv = server(extensions=['PIPELINING', 'AUTH CRAM-MD5'])
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port, extra='auth cram-md5\n'))
    srv.stop()
    expect_eq(r.rc, 0, 'CRAM-MD5 %r' % r)


def oauth_config(port, mech, token):
    return account(port, password=token, extra='auth %s\n' % mech)


@test
def xoauth2_and_oauthbearer_with_a_good_and_a_bad_token():
    for mech in ('xoauth2', 'oauthbearer'):
        srv = server(extensions=['PIPELINING', 'AUTH %s' % mech.upper()],
                     users={'tester': 'ya29.good-token'})
        r = run(['-v', 'a@example.net'], stdin=MAIL,
                config=oauth_config(srv.port, mech, 'ya29.good-token'))
        expect_eq(r.rc, 0, '%s with a good token %r' % (mech, r))
        expect_not_in('ya29.good-token', r.err, 'token hidden in -v')
        r = run(['a@example.net'], stdin=MAIL,
                config=oauth_config(srv.port, mech, 'ya29.expired'))
        srv.stop()
        expect_eq(r.rc, 77, '%s error challenge: refused, 77 %r' % (mech, r))
        expect_in('"status":"401"', r.err, 'the decoded status reported')
        expect_eq(srv.sessions[-1].commands[-1], 'QUIT', 'and QUIT')


@test
def a_token_too_long_for_the_line_goes_after_the_challenge():
    token = 'ya29.' + 'x' * 2000
    srv = server(extensions=['PIPELINING', 'AUTH XOAUTH2'],
                 users={'tester': token})
    r = run(['a@example.net'], stdin=MAIL,
            config=oauth_config(srv.port, 'xoauth2', token))
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    auth = [c for c in srv.sessions[0].commands if c.startswith('AUTH')]
    expect_eq(auth, ['AUTH XOAUTH2'], 'no initial response on the AUTH line')



@test
def non_ascii_domain_as_its_a_label_without_smtputf8():
    srv = server(hide='SMTPUTF8')
    r = run(['user@b\u00fccher.example'], stdin=MAIL, config=account(srv.port))
    expect_eq(r.rc, 0, 'an A-label needs no extension %r' % r)
    expect_eq(srv.sessions[-1].messages[0]['rcpts'],
              ['user@xn--bcher-kva.example'], 'IDNA 2008 A-label')
    r = run(['j\u00fcrgen@example.org'], stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 69, 'a non-ASCII local part needs SMTPUTF8 %r' % r)
    srv = server()
    r = run(['user@b\u00fccher.example'], stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(srv.sessions[-1].messages[0]['rcpts'], ['user@b\u00fccher.example'],
              'with SMTPUTF8: as written')



@test
def the_next_host_when_one_cannot_be_reached():
    d = tempfile.mkdtemp()
    srv = server()
    cfg = account(srv.port).replace('host 127.0.0.1',
                                    'host 127.0.0.2 127.0.0.1')
    r = run(['-v', 'a@example.net'], stdin=MAIL,
            config=cfg + 'logfile %s/log\n' % d)
    expect_eq(r.rc, 0, 'the second host took it %r' % r)
    expect_in('127.0.0.1 took the message', r.err, '-v says which')
    expect_in('host=127.0.0.1 ', open(d + '/log').read(), 'the log too')
    refusing = server(replies={'MAIL': '550 5.7.1 not you'})
    cfg = account(refusing.port).replace(
        'host 127.0.0.1', 'host 127.0.0.1 127.0.0.3')
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    refusing.stop()
    expect_eq(r.rc, 69, 'a 5xx is final, no next host %r' % r)



# ----------------------------------- issue 16: a person at a terminal --

def silent_server():
    """Accepts and says nothing, as an implicit-TLS port does to a client
    that waits for a greeting."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(5)
    conns = []

    def serve():
        while True:
            try:
                conns.append(s.accept()[0])
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    return s


@test
def hints_for_the_classic_mistakes():
    port = down_port()
    r = run(['a@example.net'], stdin=MAIL, config=account(port))
    expect_in('cannot connect to 127.0.0.1, port %d: Connection refused'
              % port, r.err, 'the system\'s words, as msmtp writes them')
    expect_not_in("Couldn't connect", r.err, "not libcurl's doubled text")
    s = silent_server()
    r = run(['a@example.net'], stdin=MAIL,
            config=account(s.getsockname()[1], extra='timeout 2\n'))
    s.close()
    expect_in('accepted the connection but sent no greeting: an implicit-TLS '
              'port such as 465? set tls_starttls off', r.err, '465 + STARTTLS')
    srv = server()
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port, tls='implicit'))
    expect_in('the server did not answer TLS: a STARTTLS port such as 587? '
              'set tls_starttls on', r.err, '587 + implicit TLS %r' % r)
    from e2e import certs
    cfg = account(srv.port).replace('tls_trust_file %s\n' % certs().ca, '')
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    expect_in('the certificate is not trusted: see it with smtpsend '
              '--serverinfo --tls-certcheck=off and set tls_fingerprint',
              r.err, 'an untrusted certificate %r' % r)
    pin = ':'.join(['AB'] * 32)
    r = run(['a@example.net'], stdin=MAIL,
            config=cfg + 'tls_fingerprint %s\n' % pin)
    srv.stop()
    m = re.search(r"fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2}), not the "
                  r"tls_fingerprint %s" % pin, r.err)
    expect(m is not None, 'both fingerprints %r' % r)
    expect_eq(r.rc, 75, 'a pin mismatch defers')


@test
def no_configuration_names_the_paths():
    r = run(['--pretend', 'a@x.org'], stdin=MAIL, config='')
    expect_eq(r.rc, 78, 'exit %r' % r)
    expect(re.search(r'no smarthost: write host \(and from, user\) in '
                     r'(/\S+)/\.config/smtpsend/config \(see smtpsend\(1\), '
                     r'CONFIGURATION\); searched /etc/smtpsend.conf, then '
                     r'\1/\.config/smtpsend/config, \1/\.smtpsendrc, or the '
                     r'file of -C', r.err), 'every path searched, the '
           'recommended one first: %r' % r.err)


@test
def verbose_says_configuration_account_tls_and_units():
    srv = server()
    r = run(['-v', 'a@example.net'], stdin=MAIL, config=account(srv.port))
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    expect(re.search(r'configuration: /etc/smtpsend.conf( \(absent\))?, '
                     r'/\S+/config; account default', r.err), 'files and '
           'account: %r' % r.err[:400])
    expect(re.search(r'TLS TLSv1\.[23], cipher \S+, certificate \S+ verified',
                     r.err), 'TLS version and verified subject')
    expect(re.search(r'\[ *\d+\.\d{3} ms\]', r.err), 'timings in ms')


@test
def progress_line_on_a_terminal_only():
    import pty
    srv = server()
    cfg = write_config(account(srv.port))
    big = os.path.join(tempfile.mkdtemp(), 'big')
    with open(big, 'wb') as f:
        f.write(b'Subject: big\n\n' + (b'y' * 70 + b'\n') * 40000)  # 2.8 MB
    master, slave = pty.openpty()
    with open(big, 'rb') as stdin:
        p = subprocess.Popen([BINARY, '-C', cfg, 'a@example.net'],
                             stdin=stdin, stdout=slave, stderr=slave)
        os.close(slave)
        out = read_pty(master)
        p.wait(timeout=60)
    os.close(master)
    expect_eq(p.returncode, 0, 'sent')
    expect(re.search(rb'sent [\d.]+ of 2\.\d MiB \([\d.]+ MiB/s\)', out),
           'a progress line: %r' % out[-300:])
    with open(big, 'rb') as stdin:
        r = subprocess.run([BINARY, '-C', cfg, 'a@example.net'], stdin=stdin,
                           capture_output=True, timeout=60)
    srv.stop()
    expect_not_in(b'MiB/s', r.stderr, 'nothing when stderr is not a terminal')


if __name__ == '__main__':
    main()
