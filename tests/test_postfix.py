#!/usr/bin/python3
"""Interoperability with a real MTA: Debian's Postfix on 127.0.0.1, set up
by tests/postfix/setup.sh (STARTTLS+SASL on 10587, implicit TLS on 10465).
What Postfix delivered to the Maildir is compared byte for byte."""
import glob
import os
import socket
import tempfile
import time
import uuid

from harness import test, expect, expect_eq, expect_in, main
from e2e import run, normalise

HOST, SUBMISSION, SMTPS = '127.0.0.1', 10587, 10465
CA = '/etc/postfix/smtpsend-test/ca.pem'
MAILDIR = '/home/smtptest/Maildir'


def postfix_up():
    try:
        socket.create_connection((HOST, SUBMISSION), timeout=2).close()
        return os.path.exists(CA)
    except OSError:
        return False


def config(port, implicit=False):
    return ('account default\nhost %s\nport %d\nuser tester\npassword testpass\n'
            'tls_trust_file %s\nfrom sender@test.example\nsyslog off\n'
            'outbox %s/outbox\n%s'
            % (HOST, port, CA, tempfile.mkdtemp(),
               'tls_starttls off\n' if implicit else ''))


def delivered(token, timeout=10, count=1):
    """Files in the Maildir holding `token`, waiting for local delivery of
    `count` of them (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for path in glob.glob(os.path.join(MAILDIR, 'new', '*')):
            with open(path, 'rb') as f:
                data = f.read()
            if token.encode() in data:
                found.append(data)
        if len(found) >= count:
            time.sleep(0.2)
            return found
        time.sleep(0.05)
    return []


def body_of(data):
    return data.split(b'\n\n', 1)[1]


def send_and_compare(port, implicit, body, args=()):
    token = uuid.uuid4().hex
    mail = b'Subject: ' + token.encode() + b'\n\n' + body
    r = run(list(args) + ['-i', 'tester@test.example'], stdin=mail,
            config=config(port, implicit))
    expect_eq(r.rc, 0, 'exit %r' % r)
    got = delivered(token)
    expect_eq(len(got), 1, 'one delivery')
    # Postfix's local delivery stores LF line ends.
    want = normalise(body).replace(b'\r\n', b'\n')
    expect_eq(body_of(got[0]), want, 'delivered body')
    return got[0]


@test
def submission_587_starttls_auth():
    if skip():
        return
    # Port 10587 requires AUTH after STARTTLS: a delivery proves both.
    send_and_compare(SUBMISSION, False, b'Hello.\n.\n..\n.x\nend')


@test
def smtps_465_implicit_tls():
    if skip():
        return
    send_and_compare(SMTPS, True, b'Over implicit TLS.\r\nline two\r\n')


@test
def smuggling_and_line_endings_through_postfix():
    if skip():
        return
    send_and_compare(SUBMISSION, False,
                     b'a\n.\nMAIL FROM:<evil@x>\r\nb\r\r\nc\rd\n.\r\n')


@test
def eight_bit_body():
    if skip():
        return
    send_and_compare(SUBMISSION, False, 'caf\u00e9 \u00fcber\n'.encode())


@test
def three_recipients_and_refusals():
    if skip():
        return
    token = uuid.uuid4().hex
    mail = b'Subject: ' + token.encode() + b'\n\nthree\n'
    r = run(['a@test.example', 'b@test.example', 'tester@localhost'],
            stdin=mail, config=config(SUBMISSION))
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_eq(len(delivered(token, count=3)), 3, 'three deliveries')
    token = uuid.uuid4().hex
    mail = b'Subject: ' + token.encode() + b'\n\nrefused\n'
    r = run(['a@test.example', 'x@reject.example'], stdin=mail,
            config=config(SUBMISSION))
    expect_eq(r.rc, 67, 'one refused: all or nothing %r' % r)
    expect_in('x@reject.example: 550', r.err, 'refusal named')
    r = run(['a@test.example', 'x@defer.example'], stdin=mail,
            config=config(SMTPS, True))
    expect_eq(r.rc, 75, 'deferred %r' % r)
    expect_eq(delivered(token, timeout=1.5), [], 'nobody got it')
    # (count=1 with a timeout: returns early only if something arrived)


@test
def wrong_password():
    if skip():
        return
    r = run(['a@test.example'], stdin=b'S: x\n\nx\n',
            config=config(SUBMISSION).replace('testpass', 'wrong'))
    expect_eq(r.rc, 77, 'exit %r' % r)


def skip():
    if postfix_up():
        return False
    if os.environ.get('CI'):
        raise AssertionError('Postfix is not running on 127.0.0.1:10587 '
                             '(tests/postfix/setup.sh)')
    print('skipped: Postfix not set up (run tests/postfix/setup.sh as root)')
    return True


if __name__ == '__main__':
    main()
