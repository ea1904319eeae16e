#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Interoperability with Exim (exim4-daemon-heavy): a private instance
(tests/servers/exim.py), extracted from the Debian package into
build/servers, never installed, started once for this program.  After
every case Exim's mainlog, rejectlog and paniclog must hold no protocol
complaint (smtp_enforce_sync is on).  Needs root; otherwise every case is
skipped."""
import re
import socket
import ssl
import time

from servers import common, cases, exim
from servers.common import test
from harness import expect, expect_eq, expect_in

SRV = exim.Exim()
WATCH = None


class Target:
    name = 'exim'
    newline = b'\n'

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
        return SRV.maildir.wait(tok, count=count, timeout=timeout)

    def dsn_for(self, tok, timeout=15):
        return SRV.sender_maildir.wait(tok, timeout=timeout)


T = Target()


def ehlo(port, implicit=False, starttls=False):
    """EHLO keywords of the server on port (after STARTTLS if asked)."""
    raw = socket.create_connection((common.HOST, port), timeout=10)
    ctx = ssl.create_default_context(cafile=SRV.certs.ca)
    s = ctx.wrap_socket(raw, server_hostname='localhost') if implicit else raw
    f = s.makefile('rwb')

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            lines.append(line.strip())
            if line[3:4] != '-':
                return lines

    reply()
    f.write(b'EHLO probe.test.example\r\n')
    f.flush()
    r = reply()
    if starttls:
        f.write(b'STARTTLS\r\n')
        f.flush()
        expect(reply()[-1].startswith('220'), 'STARTTLS accepted')
        s = ctx.wrap_socket(s, server_hostname='localhost')
        f = s.makefile('rwb')
        f.write(b'EHLO probe.test.example\r\n')
        f.flush()
        r = reply()
    f.write(b'QUIT\r\n')
    f.flush()
    reply()
    s.close()
    return [l[4:].split()[0].upper() for l in r[1:] if len(l) > 4] + \
        [l[4:] for l in r[1:] if l[4:].upper().startswith('AUTH')]


@test
def server_offers_the_extensions():
    before = ehlo(SRV.ports['submission'])
    for k in ('PIPELINING', 'CHUNKING', '8BITMIME', 'SIZE', 'DSN', 'SMTPUTF8',
              'STARTTLS'):
        expect_in(k, before, 'submission EHLO before STARTTLS')
    expect('AUTH' not in before, 'no AUTH before STARTTLS: %r' % before)
    after = ehlo(SRV.ports['submission'], starttls=True)
    expect_in('AUTH', after, 'AUTH after STARTTLS')
    expect_in('AUTH PLAIN LOGIN', after, 'mechanisms')
    implicit = ehlo(SRV.ports['smtps'], implicit=True)
    for k in ('AUTH', 'PIPELINING', 'CHUNKING', 'DSN', 'SMTPUTF8'):
        expect_in(k, implicit, 'smtps EHLO')


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


@test
def five_megabytes_byte_for_byte():
    cases.big_message(T)


@test
def three_recipients():
    cases.three_recipients(T)


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
def auth_goes_with_the_transaction():
    cases.auth_with_the_transaction(T)
    cases.auth_with_the_transaction(T, 'smtps', True)


@test
def wrong_password_77():
    cases.wrong_password(T)


@test
def dsn_success_failure():
    cases.dsn_success_failure(T)


@test
def smtputf8_recipient():
    cases.smtputf8_recipient(T)


@test
def bs_mode():
    cases.bs_mode(T)


@test
def queue_over_one_connection_and_421():
    # smtp_accept_max_per_connection 3: five kept messages go over two
    # connections, AUTH once each, the fourth after Exim's 421.
    err = cases.queue_over_one_connection(T, n=5)
    expect_eq(err.count('> AUTH PLAIN'), 2, 'AUTH once a connection: %s' % err[-1500:])
    expect_in('421', err, "Exim's 421 met")


@test
def recipient_limit():
    # recipients_max 20: RCPTs past it get 452.
    cases.recipient_limit(T, 'submission', exim.RCPT_LIMIT + 5, exim.RCPT_LIMIT)


COMPLAINTS = [r'synchronization error', r'lost connection', r'unexpected disconnection',
              r'SMTP protocol error', r'SMTP protocol violation', r'SMTP syntax error',
              r'SMTP command timeout', r'SMTP data timeout', r'too many',
              r'TLS error', r'panic', r'dropped:', r'incomplete transaction']


def start():
    global WATCH
    SRV.start()
    WATCH = common.LogWatch([SRV.mainlog, SRV.rejectlog, SRV.paniclog], COMPLAINTS,
                            ignore=[r'exim user lost privilege for using -C option'])
    common.log('%s (package %s, %s) in %s, ports %s' % (
        SRV.version_line, SRV.version, 'extracted' if SRV.root else 'installed',
        SRV.workdir, SRV.ports))


ALLOWED = {
    # 452 for the recipients past recipients_max is the point of the case
    'recipient_limit': [r'too many recipients'],
    # Exim's 421 to the fourth MAIL (smtp_accept_max_per_connection) is the
    # point of the case; nothing else may show (no synchronization error)
    'queue_over_one_connection_and_421': [r'rejected MAIL command .*: too many '
                                          r'messages in one connection$'],
    # smtpsend hangs up after the 535 without sending QUIT
    'wrong_password_77': [r'unexpected disconnection while reading SMTP command'
                          r'.*(D=|$)', r'authenticator failed'],
}


def after_each(name):
    if WATCH is None:
        return
    time.sleep(0.1)
    bad = WATCH.complaints()
    allowed = [re.compile(p, re.I) for p in ALLOWED.get(name, [])]
    bad = [l for l in bad if not any(a.search(l) for a in allowed)]
    expect(not bad, 'Exim logs: ' + ' | '.join(bad[:8]))


def stop():
    if SRV.workdir:
        SRV.stop()


if __name__ == '__main__':
    common.main(start, stop, after_each, name='Exim')
