#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""sendmail -bs: SMTP on stdin and stdout, relayed to the scripted smarthost."""
import subprocess

from harness import test, expect, expect_eq, expect_in, main
from e2e import BINARY, BsClient as Client, account, server, write_config


def transaction(c, data=b'Subject: bs\r\n\r\nhello\r\n'):
    expect_eq(c.code('MAIL FROM:<sender@example.org>'), 250, 'MAIL')
    expect_eq(c.code('RCPT TO:<rcpt@example.net>'), 250, 'RCPT')
    expect_eq(c.code('DATA'), 354, 'DATA')
    c.p.stdin.write(data + b'.\r\n')
    c.p.stdin.flush()
    return c.reply()


@test
def one_message_then_quit():
    srv = server()
    c = Client(account(srv.port))
    greeting = c.reply()
    expect(greeting[0].startswith('220 '), 'greeting %r' % greeting)
    ehlo = c.cmd('EHLO client.example')
    for ext in ('PIPELINING', '8BITMIME', 'SIZE', 'SMTPUTF8', 'DSN',
                'ENHANCEDSTATUSCODES'):
        expect(any(l[4:].startswith(ext) for l in ehlo), 'EHLO offers ' + ext)
    r = transaction(c, b'Subject: bs\r\n\r\n..leading dot\r\nhello\r\n')
    expect(r[-1].startswith('250 '), 'final reply %r' % r)
    expect_in('relayed: 250', r[-1], "smarthost's outcome")
    expect_eq(c.code('QUIT'), 221, 'QUIT')
    rc, err = c.close()
    srv.wait()
    srv.stop()
    expect_eq(rc, 0, 'exit after QUIT')
    m = srv.sessions[0].messages[0]
    expect_eq(m['mail_from'], 'sender@example.org', 'sender relayed')
    expect_eq(m['rcpts'], ['rcpt@example.net'], 'recipient relayed')
    expect_in(b'\r\n\r\n.leading dot\r\nhello\r\n', m['data'], 'unstuffed once')


@test
def pipelined_two_messages():
    srv = server()
    p = subprocess.run([BINARY, '-C', write_config(account(srv.port)), '-bs'],
                       input=b'EHLO c\r\nMAIL FROM:<a@example.org>\r\n'
                       b'RCPT TO:<b@example.net>\r\nDATA\r\nSubject: 1\r\n\r\n'
                       b'one\r\n.\r\nMAIL FROM:<a@example.org>\r\n'
                       b'RCPT TO:<c@example.net>\r\nRCPT TO:<d@example.net>\r\n'
                       b'DATA\r\nSubject: 2\r\n\r\ntwo\r\n.\r\nQUIT\r\n',
                       capture_output=True, timeout=60)
    srv.wait()
    srv.stop()
    expect_eq(len(srv.sessions), 1, 'one smarthost connection for both')
    codes = [l[:3] for l in p.stdout.decode().split('\r\n') if l and l[3:4] != '-']
    expect_eq(codes, ['220', '250', '250', '250', '354', '250', '250', '250',
                      '250', '354', '250', '221'], 'replies in order')
    expect_eq(p.returncode, 0, 'exit')
    msgs = [m for s in srv.sessions for m in s.messages]
    expect_eq([m['rcpts'] for m in msgs],
              [['b@example.net'], ['c@example.net', 'd@example.net']],
              'two messages relayed')


@test
def smarthost_refusal_is_the_reply():
    srv = server(replies={'RCPT': '550 5.1.1 no such user'})
    c = Client(account(srv.port))
    c.reply()
    c.cmd('EHLO c')
    r = transaction(c)
    expect(r[-1].startswith('550 '), 'smarthost 5xx carried: %r' % r)
    expect_in('no such user', r[-1], 'its text')
    c.cmd('QUIT')
    c.close()
    srv.stop()
    srv = server(replies={'RCPT': '450 4.2.0 greylisted'})
    c = Client(account(srv.port))
    c.reply()
    c.cmd('EHLO c')
    r = transaction(c)
    expect(r[-1].startswith('451 4.3.0 '), '4xx: kept, 451: %r' % r)
    expect_in('kept in the outbox as', r[-1], 'the entry named')
    c.cmd('QUIT')
    rc, err = c.close()
    srv.stop()
    expect_eq(rc, 0, 'QUIT: exit 0 whatever the messages did')


@test
def protocol_errors():
    c = Client(account(1))
    c.reply()
    expect_eq(c.code('MAIL FROM:<a@b.org>'), 503, 'MAIL before EHLO')
    expect_eq(c.code('EHLO c'), 250, 'EHLO')
    expect_eq(c.code('RCPT TO:<x@y.org>'), 503, 'RCPT before MAIL')
    expect_eq(c.code('DATA'), 503, 'DATA before MAIL')
    expect_eq(c.code('AUTH PLAIN AGEAYg=='), 502, 'AUTH not offered')
    expect_eq(c.code('STARTTLS'), 502, 'STARTTLS not offered')
    expect_eq(c.code('BDAT 5 LAST'), 502, 'BDAT not offered')
    expect_eq(c.code('XYZZY'), 500, 'unknown command')
    expect_eq(c.code('MAIL FROM:<a@b.org> FOO=BAR'), 555, 'unknown parameter')
    expect_eq(c.code('MAIL FROM:a@b.org'), 501, 'syntax')
    expect_eq(c.code('MAIL FROM:<a@b.org>'), 250, 'MAIL')
    expect_eq(c.code('MAIL FROM:<a@b.org>'), 503, 'nested MAIL')
    expect_eq(c.code('RCPT TO:<bad address@x>'), 553, 'bad recipient')
    expect_eq(c.code('DATA'), 554, 'DATA without a valid recipient')
    expect_eq(c.code('RSET'), 250, 'RSET')
    expect_eq(c.code('NOOP'), 250, 'NOOP')
    expect_eq(c.code('x' * 3000), 500, 'line too long')
    c.p.stdin.write(b'NOOP\n')
    c.p.stdin.flush()
    expect_eq(int(c.reply()[-1][:3]), 500, 'bare LF in a command')
    expect_eq(c.code('MAIL FROM:<a@b.org>'), 250, 'MAIL again')
    expect_eq(c.code('RCPT TO:<x@y.org>'), 250, 'RCPT')
    for data, want in ((b'Subject: x\r\n\r\nbare\nlf\r\n', 550),
                       (b'Subject: x\r\n\r\nnul\x00\r\n', 554),
                       (b'Subject: x\r\n\r\n' + b'y' * 1200 + b'\r\n', 552)):
        expect_eq(c.code('DATA'), 354, 'DATA')
        c.p.stdin.write(data + b'.\r\n')
        c.p.stdin.flush()
        expect_eq(int(c.reply()[-1][:3]), want, 'bad data %r' % data[:30])
        c.code('MAIL FROM:<a@b.org>')
        c.code('RCPT TO:<x@y.org>')
    expect_eq(c.code('QUIT'), 221, 'QUIT')
    rc, err = c.close()
    expect_eq(rc, 0, 'exit')


@test
def eof_inside_data_and_without_quit():
    p = subprocess.run([BINARY, '-C', write_config(account(1)), '-bs'],
                       input=b'EHLO c\r\n', capture_output=True, timeout=30)
    expect_eq(p.returncode, 0, 'EOF without QUIT ends cleanly')
    p = subprocess.run([BINARY, '-C', write_config(account(1)), '-bs'],
                       input=b'EHLO c\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>'
                       b'\r\nDATA\r\nSubject: x\r\n\r\npartial',
                       capture_output=True, timeout=30)
    expect_eq(p.returncode, 65, 'EOF inside DATA')
    expect_in(b'ended inside DATA', p.stderr, 'said')


@test
def symfony_sendmail_transport_conversation():
    # Symfony\Component\Mailer\Transport\SendmailTransport with -bs runs an
    # SmtpTransport over the process pipes: it reads the greeting, sends
    # "EHLO [127.0.0.1]", then each command waiting for its reply, the data
    # with lines starting with "." doubled, "\r\n.\r\n", and QUIT at the end.
    srv = server()
    c = Client(account(srv.port))
    expect_eq(int(c.reply()[-1][:3]), 220, 'greeting')
    expect_eq(c.code('EHLO [127.0.0.1]'), 250, 'EHLO')
    expect_eq(c.code('MAIL FROM:<app@example.org>'), 250, 'MAIL')
    expect_eq(c.code('RCPT TO:<user@example.net>'), 250, 'RCPT')
    expect_eq(c.code('DATA'), 354, 'DATA')
    body = (b'From: app@example.org\r\nTo: user@example.net\r\nSubject: Symfony'
            b'\r\nMIME-Version: 1.0\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n'
            b'Message-ID: <abc@example.org>\r\nContent-Type: text/plain; '
            b'charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n'
            b'\r\n..\r\nHello\r\n')
    c.p.stdin.write(body + b'\r\n.\r\n')
    c.p.stdin.flush()
    expect_eq(int(c.reply()[-1][:3]), 250, 'accepted')
    expect_eq(c.code('QUIT'), 221, 'QUIT')
    rc, _ = c.close()
    srv.wait()
    srv.stop()
    expect_eq(rc, 0, 'exit')
    m = srv.sessions[0].messages[0]
    expect_eq(m['data'], body.replace(b'\r\n..\r\n', b'\r\n.\r\n') + b'\r\n',
              'relayed byte for byte')


if __name__ == '__main__':
    main()
