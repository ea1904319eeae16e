#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Interoperability with Postfix: a private instance of our own
(tests/servers/postfix.py) on free 127.0.0.1 ports, started once for this
program and stopped at the end; the machine's Postfix is never touched
(checked: /etc/postfix hashed and the system Postfix's listeners compared
before and after).  What Postfix delivered to the Maildir is compared
byte for byte.  Needs root; otherwise every case is skipped."""
import os
import subprocess
import time

from servers import common, cases, postfix
from servers.common import test
from harness import expect, expect_eq

SRV = postfix.Postfix()
WATCH = None


class Target:
    name = 'postfix'
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


@test
def server_self_check():
    """tests/postfix/verify.py against the instance: ports, EHLO, TLS
    certificate, AUTH PLAIN/LOGIN/CRAM-MD5, policy, delivery."""
    env = dict(os.environ, **SRV.env())
    p = subprocess.run(['/usr/bin/python3', os.path.join(common.TESTS, 'postfix',
                                                         'verify.py')],
                       env=env, capture_output=True, text=True, timeout=120)
    expect_eq(p.returncode, 0, 'verify.py: %s' % (p.stderr + p.stdout).strip())


@test
def submission_starttls_auth():
    # The submission port needs AUTH after STARTTLS: a delivery proves both.
    cases.send_and_compare(T, 'submission', False, b'Hello.\n.\n..\n.x\nend')


@test
def smtps_implicit_tls():
    cases.implicit_tls_auth(T)


@test
def dot_lines():
    cases.dot_lines(T)


@test
def smuggling_and_line_endings_through_postfix():
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
def queue_over_one_connection():
    # Five kept messages: one connection, AUTH once, no RSET needed.
    for port, implicit in (('submission', False), ('smtps', True)):
        err = cases.queue_over_one_connection(T, port, implicit, n=5)
        expect_eq(err.count('> AUTH PLAIN'), 1, 'AUTH once: %s' % err[-1500:])
        expect_eq(err.count('> RSET'), 0, 'no RSET: %s' % err[-1500:])


@test
def recipient_limit():
    # A listener with smtpd_recipient_limit 3 (452 4.5.3 past it).
    cases.recipient_limit(T, 'rcptlimit', 5, postfix.RCPT_LIMIT, tls=False,
                          auth=False)


# Postfix logs what it thinks of a client: none of this may appear.
COMPLAINTS = [r'improper command pipelining', r'lost connection after',
              r'timeout after', r'warning: .*(non-SMTP|bare <LF>|pipelining)',
              r'fatal:', r'panic:', r'SSL_accept error', r'too many errors',
              r'message has bare', r'warning: .*TLS']


def start():
    global WATCH
    SRV.start()
    WATCH = common.LogWatch([SRV.log], COMPLAINTS,
                            ignore=[r'SASL .* authentication failed'])
    common.log('Postfix %s (%s) in %s, ports %s' % (SRV.version, SRV.source,
                                                   SRV.workdir, SRV.ports))


def after_each(name):
    if WATCH is None:
        return
    time.sleep(0.1)
    bad = WATCH.complaints()
    if name == 'wrong_password_77':
        # smtpsend hangs up after the 535 without sending QUIT: not
        # a protocol error, but visible in the log
        bad = [l for l in bad if 'lost connection after AUTH' not in l]
    expect(not bad, 'Postfix log: ' + ' | '.join(bad[:8]))


def stop():
    if SRV.workdir:
        SRV.stop()


if __name__ == '__main__':
    common.main(start, stop, after_each, name='Postfix')
