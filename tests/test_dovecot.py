#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Interoperability with Dovecot submission (dovecot-submissiond): a
private instance (tests/servers/dovecot.py) extracted from the Debian
packages into build/servers, never installed, relaying to a capture
server of ours; what reached the capture server is compared with what
smtpsend was given.  Dovecot offers DSN only in its EHLO after AUTH:
smtpsend sends EHLO again after AUTH when the message needs it (then
AUTH has a round trip of its own).  Needs root; otherwise every case is
skipped."""
import base64
import re
import socket
import ssl
import time

from servers import common, cases, dovecot
from servers.common import test
from harness import expect, expect_eq, expect_in

SRV = dovecot.Dovecot()
WATCH = None


class Target:
    name = 'dovecot'
    newline = b'\r\n'

    @property
    def ca(self):
        return SRV.certs.ca

    @property
    def ports(self):
        return SRV.ports

    @property
    def size_limit(self):
        return SRV.size_limit

    def delivered(self, tok, count=1, timeout=15):
        found = SRV.capture.wait_for(tok, count=count, timeout=timeout)
        return [m['data'] for m in found]

    def recipients_reached(self, tok, n, timeout=15):
        """The recipients of the relayed transactions holding tok, once n
        of them are there (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            rcpts = [r for m in SRV.capture.wait_for(tok, timeout=0.05)
                     for r in m['rcpts']]
            if len(rcpts) >= n or time.monotonic() > deadline:
                return rcpts
            time.sleep(0.05)

    def dsn_for(self, tok, timeout=15):
        return None      # the capture server does not deliver: see dsn_success_failure


T = Target()


def reply_lines(f):
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if line[3:4] != '-':
            return lines


def ehlo_words(f):
    return [l[4:] for l in reply_lines(f)[1:]]


def kw(words):
    return [w.split()[0].upper() for w in words if w]


def ehlo_replies():
    """Dovecot's EHLO keywords and parameters before STARTTLS, after it,
    and after AUTH."""
    raw = socket.create_connection((common.HOST, SRV.ports['submission']), timeout=10)
    f = raw.makefile('rwb')
    f.readline()

    def cmd(c):
        f.write(c + b'\r\n')
        f.flush()
        return ehlo_words(f)
    plain = cmd(b'EHLO probe.test.example')
    f.write(b'STARTTLS\r\n')
    f.flush()
    r = reply_lines(f)
    expect(r[-1].startswith('220'), 'STARTTLS: %r' % r)
    ctx = ssl.create_default_context(cafile=SRV.certs.ca)
    s = ctx.wrap_socket(raw, server_hostname='localhost')
    f = s.makefile('rwb')
    tls = cmd(b'EHLO probe.test.example')
    f.write(b'AUTH PLAIN ' + base64.b64encode(b'\0tester\0testpass') + b'\r\n')
    f.flush()
    r = f.readline()
    expect(r.startswith(b'235'), 'AUTH PLAIN: %r' % r)
    authed = cmd(b'EHLO probe.test.example')
    f.write(b'QUIT\r\n')
    f.flush()
    f.readline()
    s.close()
    return plain, tls, authed


@test
def ehlo_before_and_after_auth():
    """What Dovecot's EHLO says before and after AUTH (recorded with
    VERBOSE=1): DSN, and SIZE with a number, only after AUTH."""
    plain, tls, authed = ehlo_replies()
    common.log('Dovecot EHLO before STARTTLS: %s' % ' | '.join(plain))
    common.log('Dovecot EHLO after STARTTLS, before AUTH: %s' % ' | '.join(tls))
    common.log('Dovecot EHLO after AUTH: %s' % ' | '.join(authed))
    expect_in('STARTTLS', kw(plain), 'STARTTLS offered')
    expect_in('AUTH', kw(tls), 'AUTH after STARTTLS')
    expect('DSN' not in kw(tls), 'no DSN before AUTH (Dovecot 2.3 and 2.4): %r' % tls)
    expect_in('DSN', kw(authed), 'DSN after AUTH (the relay offers it)')
    for k in ('PIPELINING', 'CHUNKING', '8BITMIME', 'SIZE'):
        expect_in(k, kw(tls), 'before AUTH')


@test
def submission_starttls_auth():
    cases.starttls_auth(T)


@test
def smtps_implicit_tls():
    cases.implicit_tls_auth(T)


@test
def dot_lines():
    cases.dot_lines(T)


@test
def smuggling_and_line_endings():
    cases.smuggling_and_line_endings(T)


@test
def eight_bit_body():
    cases.eight_bit_body(T)
    m = SRV.capture.messages[-1]
    expect_in('BODY=8BITMIME', m['mail_params'].upper(), 'BODY=8BITMIME relayed')


@test
def five_megabytes_byte_for_byte():
    cases.big_message(T)


@test
def three_recipients():
    tok = common.token()
    r = cases.run(['a@test.example', 'b@test.example', 'tester@localhost'],
                  stdin=b'Subject: ' + tok.encode() + b'\n\nthree\n', cfg=cases.config(T))
    expect_eq(r.rc, 0, 'exit of `%s` %r' % (r.command(), r))
    got = SRV.capture.wait_for(tok)
    expect_eq(len(got), 1, 'one relayed transaction')
    expect_eq(got[0]['rcpts'], ['a@test.example', 'b@test.example', 'tester@localhost'],
              'three recipients relayed')


@test
def refused_recipient_67():
    cases.refused_recipient(T)


@test
def deferred_recipient_75():
    cases.deferred_recipient(T)


@test
def size_exceeded_69():
    cases.size_exceeded(T)


@test
def dsn_success_failure():
    cases.dsn_success_failure(T, issue18=True)
    m = SRV.capture.messages[-1]
    expect_eq([p.upper() for p in m['rcpt_params']], ['NOTIFY=SUCCESS,FAILURE'],
              'NOTIFY relayed')


@test
def smtputf8_as_offered():
    # Dovecot 2.4 submission offers SMTPUTF8 after AUTH (as DSN: smtpsend
    # asks again after AUTH when the message needs it): a non-ASCII address
    # is delivered. 2.3 does not offer it: it cannot go (exit 69), and
    # nothing is relayed.
    if 'SMTPUTF8' in kw(ehlo_replies()[2]):
        cases.smtputf8_recipient(T)
        return
    tok = common.token()
    r = cases.run(['j\u00f6rg@test.example'],
                  stdin=b'Subject: ' + tok.encode() + b'\n\nUTF-8 envelope\n',
                  cfg=cases.config(T))
    expect_eq(r.rc, 69, 'exit of `%s` %r' % (r.command(), r))
    expect_eq(T.delivered(tok, timeout=1.0), [], 'nothing relayed')


@test
def bs_mode():
    cases.bs_mode(T)


@test
def recipient_limit():
    # the relay takes 20 per transaction (452 past it), Dovecot passes that on
    cases.recipient_limit(T, 'submission', dovecot.RCPT_LIMIT + 5, dovecot.RCPT_LIMIT)


@test
def auth_goes_with_the_transaction():
    cases.auth_with_the_transaction(T)
    cases.auth_with_the_transaction(T, 'smtps', True)


@test
def wrong_password_77():
    # last: Dovecot slows down the logins from an address after a failed one
    cases.wrong_password(T)


COMPLAINTS = [r'Error:', r'Fatal:', r'Panic:', r'Warning:', r'Connection closed',
              r'Disconnected: (?!Logged out)(?!Aborted login by logging out)']
# smtpsend sends QUIT and closes the connection without waiting for the
# 221 (src/conn.c conn_quit()); Dovecot, depending on timing, logs that as
# "unfinished QUIT command".  Not what the cases are about.
IGNORE = [r'Disconnected: Connection closed \(unfinished QUIT command\)']


def start():
    global WATCH
    SRV.start()
    WATCH = common.LogWatch([SRV.log], COMPLAINTS, ignore=IGNORE)
    common.log('%s (package %s, %s) in %s, ports %s, relay capture on %d' % (
        SRV.version_line, SRV.version, 'extracted' if SRV.root else 'installed',
        SRV.workdir, SRV.ports, SRV.capture.port))


ALLOWED = {
    'wrong_password_77': [r'auth failed', r'Disconnected: .*auth'],
    'recipient_limit': [r'[Tt]oo many recipients'],
    'size_exceeded_69': [r'too big|size'],
}


def after_each(name):
    if WATCH is None:
        return
    time.sleep(0.1)
    bad = WATCH.complaints()
    allowed = [re.compile(p, re.I) for p in ALLOWED.get(name, [])]
    bad = [l for l in bad if not any(a.search(l) for a in allowed)]
    expect(not bad, 'Dovecot log: ' + ' | '.join(bad[:8]))


def stop():
    if SRV.workdir:
        SRV.stop()


if __name__ == '__main__':
    common.main(start, stop, after_each, name='Dovecot')
