#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What real servers taught us (CONTRACT section 5): per-connection
recipient caps (smtp-server's 452 4.5.3 met again, Haraka's 450 'Too many
recipient attempts'), and a server that refuses the EHLO after AUTH
(qpsmtpd's 503)."""
import os

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import run, account, server

MAIL = b'Subject: caps\n\nbody\n'
RCPTS = ['r%d@example.net' % i for i in range(5)]


def delivered(srv):
    return sorted(r for s in srv.sessions for m in s.messages
                  for r in m['rcpts'])


def capped(reply):
    srv = server(rcpt_limit=(2, reply))
    r = run(RCPTS, stdin=MAIL, config=account(srv.port))
    srv.wait(count=3)
    srv.stop()
    expect_eq(r.rc, 0, 'all delivered %r' % r)
    expect_eq(delivered(srv), RCPTS, 'each recipient once')
    expect_eq(len(srv.sessions), 3, 'two a connection: three connections')
    expect_not_in('refused', r.err, 'no refusal named %r' % r.err)


@test
def per_connection_cap_452_continues_on_a_new_connection():
    capped('452 4.5.3 Error: too many recipients')


@test
def harakas_too_many_recipient_attempts_continues_too():
    capped('450 Too many recipient attempts')


@test
def a_server_that_takes_no_recipient_is_deferred_not_76():
    srv = server(rcpt_limit=(0, '452 4.5.3 Error: too many recipients'))
    r = run(RCPTS[:2], stdin=MAIL, config=account(srv.port))
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 75, 'deferred, kept %r' % r)
    expect_eq(len(srv.sessions), 1, 'no new connection for nothing taken')
    expect_not_in('refused: ;', r.err, 'never an empty list %r' % r.err)
    expect_not_in('refused:  ', r.err, 'never an empty list %r' % r.err)
    expect_in('452 4.5.3', r.err, 'the reply named %r' % r.err)
    expect_in('kept in the outbox', r.err, 'kept %r' % r.err)


EHLO_FIRST = ('250-test.example\n250-PIPELINING\n250-8BITMIME\n'
              '250 AUTH PLAIN')
QPSMTPD = '503 5.5.1 but you already said HELO ...'


def qpsmtpd():
    # No TLS on loopback: EHLO, AUTH, then EHLO again, refused.
    return server(tls=None, replies={'EHLO': [EHLO_FIRST, QPSMTPD]})


@test
def refused_second_ehlo_a_labels_still_go():
    srv = qpsmtpd()
    r = run(['user@b\u00fccher.example'], stdin=MAIL,
            config=account(srv.port, tls=None))
    srv.stop()
    expect_eq(r.rc, 0, 'an A-label needs no extension %r' % r)
    s = srv.sessions[0]
    expect_eq(sum(1 for c in s.commands if c.upper().startswith('EHLO')), 2,
              'EHLO asked again after AUTH %r' % s.commands)
    expect_eq(s.messages[0]['rcpts'], ['user@xn--bcher-kva.example'],
              'the A-label')


@test
def refused_second_ehlo_names_the_extension_truly_needed():
    srv = qpsmtpd()
    r = run(['-N', 'success', 'a@example.net'], stdin=MAIL,
            config=account(srv.port, tls=None))
    srv.stop()
    expect_eq(r.rc, 69, 'DSN is truly needed %r' % r)
    expect_in('DSN', r.err, 'the extension named %r' % r.err)
    expect_not_in('503', r.err, 'not the 503 %r' % r.err)
    expect_eq(len(srv.sessions[0].messages), 0, 'nothing sent')


def idn_from(srv):
    cfg = account(srv.port).replace('from sender@example.org',
                                    'from sender@b\u00fccher.example')
    r = run(['--subject', 'idn', '--body', 'hello', 'a@m\u00fcnchen.example'],
            config=cfg)
    srv.stop()
    expect_eq(r.rc, 0, 'sent %r' % r)
    return srv.sessions[0].messages[0]


@test
def headers_smtpsend_writes_carry_a_labels_without_smtputf8():
    m = idn_from(server(hide='SMTPUTF8'))
    head = m['data'].split(b'\r\n\r\n')[0]
    expect_eq(m['mail_from'], 'sender@xn--bcher-kva.example', 'envelope')
    for name in (b'From:', b'Message-ID:'):
        line = [l for l in head.split(b'\r\n') if l.startswith(name)]
        expect(line and b'@xn--' in line[0], '%s as A-label: %r' % (name, line))
    expect(not any(b >= 0x80 for b in head), '7-bit header: %r' % head)


@test
def headers_keep_utf8_with_smtputf8():
    m = idn_from(server())
    head = m['data'].split(b'\r\n\r\n')[0]
    expect_in('b\u00fccher.example'.encode(), head, 'as written')


if __name__ == '__main__':
    main()
