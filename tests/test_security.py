#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""CONTRACT section 8 and the review's findings, end to end: secrets, option
injection, fail-closed behaviour, hostile servers and hostile input."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import BINARY, run, account, server, write_config

MAIL = b'Subject: s\n\nbody\n'


@test
def auth_login_secret_never_shown_whatever_it_looks_like():
    # base64("iKamaru...") starts with "aUth": it must not pass for AUTH.
    pw = 'iKamaru-secret'
    srv = server(extensions=['AUTH LOGIN'], users={'tester': pw})
    r = run(['-v', 'a@example.net'], stdin=MAIL,
            config=account(srv.port, password=pw) + 'auth login\n')
    srv.stop()
    expect_eq(r.rc, 0, 'exit %r' % r)
    import base64
    expect_not_in(base64.b64encode(pw.encode()).decode(), r.err, 'hidden')
    expect_not_in(pw, r.err, 'hidden')


@test
def injected_options_refused():
    marker = os.path.join(tempfile.mkdtemp(), 'pwned')
    for opt in ('--passwordeval=touch %s' % marker,
                '--logfile=%s' % marker):
        r = run([opt, 'a@example.net'], stdin=MAIL, config=account(1))
        expect_eq(r.rc, 64, 'refused without a terminal: %s' % opt)
        expect(not os.path.exists(marker), 'nothing run or written')
    srv = server()
    r = run(['--host=127.0.0.1', '--port=%d' % srv.port, 'a@example.net'],
            stdin=MAIL, config=account(1))
    srv.stop()
    expect_eq(r.rc, 78, '--host with stored credentials %r' % r)
    expect_eq(len(srv.sessions), 0, 'no connection to the other host')


@test
def proxy_only_from_the_configuration():
    """The binding of stored credentials names the proxy (CONTRACT 8): a
    proxy libcurl would take from the environment (all_proxy, smtp_proxy)
    is not one the configuration chose, and is not used."""
    srv = server()
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))
    hole.listen(1)
    proxy = 'socks5h://127.0.0.1:%d' % hole.getsockname()[1]
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port),
            env={'all_proxy': proxy, 'smtp_proxy': proxy,
                 'ALL_PROXY': proxy}, timeout=30)
    srv.stop()
    hole.settimeout(0.1)
    try:
        hole.accept()[0].close()
        reached = True
    except OSError:
        reached = False
    hole.close()
    expect_eq(r.rc, 0, 'sent directly %r' % r)
    expect(not reached, 'the proxy of the environment was not contacted')


@test
def cleartext_credentials_only_to_loopback_addresses():
    for host, want in (('127.mail.example.com', 78), ('::1', 0),
                       ('127.0.0.2', 0), ('localhost', 0)):
        r = run(['--pretend', 'a@x.org'], stdin=MAIL,
                config='host %s\ntls off\nuser u\npassword p\nsyslog off\n'
                'maildomain example.org\n' % host)
        expect_eq(r.rc, want, 'cleartext AUTH to %s' % host)


@test
def not_an_smtp_server_fails_at_once():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(5)

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.sendall(b'SSH-2.0-OpenSSH_9.2p1\r\n')
            threading.Timer(5, c.close).start()
    threading.Thread(target=serve, daemon=True).start()
    for tls in (None, 'starttls'):
        start = time.monotonic()
        r = run(['a@example.net'], stdin=MAIL,
                config=account(s.getsockname()[1], tls=tls,
                               user=None if tls is None else 'tester'))
        expect_eq(r.rc, 76, 'exit %r' % r)
        expect(time.monotonic() - start < 3, 'no wait for the timeout')
    s.close()


@test
def smtp_bs_stops_on_sigterm():
    p = subprocess.Popen([BINARY, '-C', write_config(account(1)), '-bs'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    expect_eq(p.wait(timeout=5), 75, 'interrupted')


@test
def partial_delivery_keeps_the_deferred():
    srv = server(replies={'RCPT': ['250 ok', '451 4.3.0 try later']})
    box = os.path.join(tempfile.mkdtemp(), 'ob')
    cfg = account(srv.port, extra='partial_delivery on\noutbox %s\n' % box)
    r = run(['a@example.net', 'b@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    expect_eq(r.rc, 75, 'the refusal is reported %r' % r)
    expect_in('for the deferred recipients: message kept', r.err, 'kept')
    names = os.listdir(box)
    expect_eq(len(names), 1, 'one entry')
    text = open(os.path.join(box, names[0]), 'rb').read()
    expect_in(b'recipient: b@example.net\n', text, 'the deferred one')
    expect_not_in(b'recipient: a@example.net\n', text, 'not the delivered one')


@test
def refusal_then_hangup_during_the_first_write():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)

    def serve():
        c, _ = s.accept()
        f = c.makefile('rb')
        c.sendall(b'220 hi\r\n')
        f.readline()
        c.sendall(b'250-hi\r\n250-PIPELINING\r\n250 CHUNKING\r\n')
        f.readline()
        f.readline()
        c.sendall(b'250 ok\r\n550 5.1.1 no such user\r\n')
        time.sleep(0.2)
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    big = MAIL + b'x' * (14 << 20)
    r = run(['a@example.net'], stdin=big,
            config=account(s.getsockname()[1], tls=None, user=None))
    s.close()
    expect_eq(r.rc, 67, 'the refusal, not the lost connection %r' % r)
    expect_in('no such user', r.err, 'server text')


@test
def big_outbox_entry_is_retried():
    box = os.path.join(tempfile.mkdtemp(), 'ob')
    rcpts = ['r%d@example.net' % i for i in range(3000)]
    r = run(rcpts, stdin=MAIL, config=account(1, extra='outbox %s\n' % box))
    expect_eq(r.rc, 75, 'kept %r' % r)
    r = run(['-bp'], config=account(1, extra='outbox %s\n' % box))
    expect_not_in(b'damaged', r.out, 'readable')
    expect_in(b'r2999@example.net', r.out, 'every recipient')


@test
def smtputf8_survives_the_outbox():
    box = os.path.join(tempfile.mkdtemp(), 'ob')
    r = run(['j\u00f6rg@example.net'], stdin=MAIL,
            config=account(1, extra='outbox %s\n' % box))
    expect_eq(r.rc, 75, 'kept')
    for name in os.listdir(box):
        p = os.path.join(box, name)
        data = open(p, 'rb').read()
        open(p, 'wb').write(re.sub(rb'last-attempt: \d+', b'last-attempt: 0',
                                   data))
    srv = server()
    r = run(['-q'], config=account(srv.port, extra='outbox %s\n' % box))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, 'delivered %r' % r)
    expect_in('SMTPUTF8', srv.sessions[0].messages[0]['mail_params'], 'flag')


if __name__ == '__main__':
    main()
