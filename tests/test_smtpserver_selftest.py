#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Self-test of tests/smtpserver.py, using smtplib/ssl/raw sockets as clients.

Run: /usr/bin/python3 tests/test_smtpserver_selftest.py
Prints one line per check and 'N passed, N failed'; exit status 1 on failure.
"""

import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402,F401  (harness.TMP: removed at exit, even on SIGTERM)
import smtpserver  # noqa: E402
from smtpserver import Server  # noqa: E402

CHECKS = []
CERTS = None
CLIENT_NAME = 'client.example'   # avoids smtplib's slow getfqdn()


def check(func):
    CHECKS.append(func)
    return func


def smtp(port):
    return smtplib.SMTP('127.0.0.1', port, local_hostname=CLIENT_NAME, timeout=5)


def ca_context():
    return ssl.create_default_context(cafile=CERTS.ca)


class raw_connect:
    """Raw socket client: `with raw_connect(port) as (sock, f):`."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.f = self.sock.makefile('rb')

    def __enter__(self):
        return self.sock, self.f

    def __exit__(self, *exc):
        self.f.close()     # the socket stays open while its makefile is open
        self.sock.close()


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        assert line, 'connection closed while reading a reply'
        lines.append(line)
        if line[3:4] != b'-':
            return b''.join(lines)


def expect_code(f, code):
    reply = read_reply(f)
    assert reply.startswith(code), 'expected %r, got %r' % (code, reply)
    return reply


# ---------------------------------------------------------------------------

@check
def certs_fingerprint_matches_openssl():
    for path in (CERTS.cert, CERTS.ca, CERTS.selfsigned_cert):
        out = subprocess.run(['openssl', 'x509', '-in', path, '-noout', '-fingerprint',
                              '-sha256'], capture_output=True, text=True, check=True).stdout
        assert out.strip().split('=', 1)[1] == CERTS.sha256(path), (out, CERTS.sha256(path))


@check
def certs_are_cached():
    t = time.monotonic()
    before = os.path.getmtime(CERTS.cert)
    smtpserver.make_certs(CERTS.directory)
    assert os.path.getmtime(CERTS.cert) == before
    assert time.monotonic() - t < 0.2


@check
def plain_data_exact_with_dot_stuffing():
    body = b'Subject: t\r\n\r\nline1\r\n.\r\n..x\r\n.y\r\nend\r\n'
    with Server() as srv:
        with smtp(srv.port) as c:
            c.sendmail('a@b', ['c@d'], body)
        assert srv.wait()
        s = srv.sessions[0]
        m = s.messages[0]
        assert m['data'] == body, m['data']
        assert b'\r\n..\r\n...x\r\n..y\r\n' in s.raw, 'smtplib did not stuff on the wire?'
        assert (m['mail_from'], m['rcpts'], m['via']) == ('a@b', ['c@d'], 'DATA'), m
        assert m['mail_params'] == 'size=%d' % len(body), m['mail_params']
        assert s.quit and not s.pipelined and not s.bare_lf_or_cr and not s.aborted
        assert s.commands[0] == 'ehlo ' + CLIENT_NAME, s.commands


@check
def starttls_and_auth_plain():
    with Server(tls='starttls', cert=CERTS.cert, key=CERTS.key) as srv:
        with smtp(srv.port) as c:
            c.ehlo()
            assert c.has_extn('starttls') and not c.has_extn('auth'), c.esmtp_features
            code, _ = c.docmd('AUTH', 'PLAIN AHRlc3RlcgBzZWNyZXQ=')
            assert code == 538, code
            c.starttls(context=ca_context())
            c.ehlo()
            assert c.has_extn('auth') and not c.has_extn('starttls'), c.esmtp_features
            c.user, c.password = 'tester', 'secret'
            code, _ = c.auth('PLAIN', c.auth_plain)
            assert code == 235, code
            c.sendmail('a@b', ['c@d'], b'hi\r\n')
        assert srv.wait()
        s = srv.sessions[0]
        assert s.tls and s.auth == ('PLAIN', 'tester') and s.messages[0]['data'] == b'hi\r\n'
        assert s.tls_version in ('TLSv1.2', 'TLSv1.3'), s.tls_version


@check
def auth_login_cram_md5_and_wrong_password():
    with Server() as srv:
        with smtp(srv.port) as c:
            try:
                c.login('tester', 'wrong')
                raise AssertionError('wrong password accepted')
            except smtplib.SMTPAuthenticationError as e:
                assert e.smtp_code == 535, e
        for mech, method in (('LOGIN', 'auth_login'), ('CRAM-MD5', 'auth_cram_md5')):
            with smtp(srv.port) as c:
                c.ehlo()
                c.user, c.password = 'tester', 'secret'
                code, _ = c.auth(mech, getattr(c, method), initial_response_ok=False)
                assert code == 235, (mech, code)
        assert srv.wait(3)
        assert [s.auth for s in srv.sessions] == [None, ('LOGIN', 'tester'),
                                                  ('CRAM-MD5', 'tester')]


@check
def implicit_tls():
    with Server(tls='implicit', cert=CERTS.cert, key=CERTS.key) as srv:
        with smtplib.SMTP_SSL('127.0.0.1', srv.port, local_hostname=CLIENT_NAME,
                              context=ca_context(), timeout=5) as c:
            c.ehlo()
            assert c.has_extn('auth') and not c.has_extn('starttls')
            c.sendmail('a@b', ['c@d'], b'x\r\n')
        assert srv.wait()
        assert srv.sessions[0].tls and srv.sessions[0].messages[0]['data'] == b'x\r\n'


@check
def handshake_failures_do_not_kill_server():
    with Server(tls='implicit', cert=CERTS.cert, key=CERTS.key) as srv:
        try:   # the system trust store does not know our CA
            smtplib.SMTP_SSL('127.0.0.1', srv.port, local_hostname=CLIENT_NAME, timeout=5,
                             context=ssl.create_default_context())
            raise AssertionError('untrusted certificate accepted')
        except ssl.SSLCertVerificationError:
            pass
        with smtplib.SMTP_SSL('127.0.0.1', srv.port, local_hostname=CLIENT_NAME,
                              context=ca_context(), timeout=5) as c:
            c.noop()
        assert srv.wait(2)
        assert srv.sessions[0].tls_error and not srv.sessions[0].tls, srv.sessions[0].tls_error
        assert srv.sessions[1].tls and not srv.errors, srv.errors


@check
def bad_certificates_are_rejected_by_a_verifying_client():
    expected = {'expired': 'expired', 'wronghost': 'mismatch', 'selfsigned': 'self'}
    for name, reason in expected.items():
        cert, key = getattr(CERTS, name + '_cert'), getattr(CERTS, name + '_key')
        with Server(tls='implicit', cert=cert, key=key) as srv:
            try:
                smtplib.SMTP_SSL('127.0.0.1', srv.port, local_hostname=CLIENT_NAME,
                                 context=ca_context(), timeout=5)
                raise AssertionError('%s certificate accepted' % name)
            except ssl.SSLCertVerificationError as e:
                assert reason in e.verify_message, (name, e.verify_message)


@check
def rcpt_list_reply():
    with Server(replies={'RCPT': ['250 ok', '550 no']}) as srv:
        with smtp(srv.port) as c:
            refused = c.sendmail('a@b', ['ok@x', 'bad@x'], b'x\r\n')
            assert refused == {'bad@x': (550, b'no')}, refused
        assert srv.wait()
        assert srv.sessions[0].messages[0]['rcpts'] == ['ok@x']


@check
def data_without_recipients_gets_554():
    with Server(replies={'RCPT': '550 5.1.1 no such user'}) as srv:
        with smtp(srv.port) as c:
            c.ehlo()
            c.mail('a@b')
            assert c.rcpt('c@d')[0] == 550
            assert c.docmd('DATA')[0] == 554
        assert srv.wait()
        assert not srv.sessions[0].messages


@check
def drop_at_dot_leaves_aborted():
    with Server(drop_at='DOT') as srv:
        with smtp(srv.port) as c:
            try:
                c.sendmail('a@b', ['c@d'], b'partial\r\n')
                raise AssertionError('no disconnect')
            except smtplib.SMTPServerDisconnected:
                pass
        assert srv.wait()
        s = srv.sessions[0]
        assert not s.messages and s.aborted[0]['data'] == b'partial\r\n', s.aborted
        assert s.aborted[0]['rcpts'] == ['c@d']


@check
def bdat_pipelined():
    with Server() as srv:
        with raw_connect(srv.port) as (sock, f):
            expect_code(f, b'220')
            sock.sendall(b'EHLO x\r\n')
            assert b'CHUNKING' in expect_code(f, b'250')
            sock.sendall(b'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 5 LAST\r\nhello')
            for _ in range(3):
                expect_code(f, b'250')
            sock.sendall(b'QUIT\r\n')
            expect_code(f, b'221')
        assert srv.wait()
        s = srv.sessions[0]
        assert s.messages[0]['data'] == b'hello' and s.messages[0]['via'] == 'BDAT'
        assert s.pipelined == ['RCPT', 'BDAT'], s.pipelined
        assert 'hello' not in s.commands, s.commands


@check
def smuggling_and_long_lines_in_data():
    payload = (b'a\r\n\n.\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@x>\r\n'
               + b'y' * 65536 + b'\r\n')
    with Server() as srv:
        with raw_connect(srv.port) as (sock, f):
            expect_code(f, b'220')
            sock.sendall(b'HELO x\r\n')
            expect_code(f, b'250')
            sock.sendall(b'MAIL FROM:<a@b>\r\n')
            expect_code(f, b'250')
            sock.sendall(b'RCPT TO:<c@d>\r\n')
            expect_code(f, b'250')
            sock.sendall(b'DATA\r\n')
            expect_code(f, b'354')
            sock.sendall(payload + b'.\r\n')
            expect_code(f, b'250')
        assert srv.wait()
        s = srv.sessions[0]
        assert len(s.messages) == 1 and s.messages[0]['data'] == payload
        assert s.bare_lf_or_cr and not s.pipelined


@check
def starttls_inject_is_sent_with_220():
    inject = b'250 injected\r\n'
    with Server(tls='starttls', cert=CERTS.cert, key=CERTS.key,
                starttls_inject=inject) as srv:
        with raw_connect(srv.port) as (sock, f):
            expect_code(f, b'220')
            sock.sendall(b'EHLO x\r\n')
            assert b'STARTTLS' in expect_code(f, b'250')
            sock.sendall(b'STARTTLS\r\n')
            assert expect_code(f, b'220') == b'220 2.0.0 Ready to start TLS\r\n'
            assert read_reply(f) == inject


@check
def stop_is_fast_with_stalled_client():
    srv = Server(stall_at='MAIL')
    srv.start()
    c = smtp(srv.port)
    c.ehlo()
    c.sock.sendall(b'MAIL FROM:<a@b>\r\n')
    time.sleep(0.3)
    t = time.monotonic()
    srv.stop()
    elapsed = time.monotonic() - t
    c.close()
    assert elapsed < 2, elapsed
    assert srv.sessions[0].done.is_set()


@check
def cli_once():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'smtpserver.py')
    proc = subprocess.Popen(['/usr/bin/python3', script, '--port', '0', '--once'],
                            stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith('listening on 127.0.0.1:'), first
        port = int(first.rsplit(':', 1)[1])
        with smtp(port) as c:
            c.sendmail('a@b', ['c@d'], b'Subject: demo\r\n\r\nhello demo\r\n')
        out, _ = proc.communicate(timeout=5)
        assert proc.returncode == 0 and 'hello demo' in out and 'RCPT TO:<c@d>' in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    global CERTS
    start = time.monotonic()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix='smtpserver-selftest-') as tmp:
        t = time.monotonic()
        CERTS = smtpserver.make_certs(tmp)   # everything else needs it: not caught
        passed += 1
        print('ok   make_certs (%.2f s)' % (time.monotonic() - t))
        for func in CHECKS:
            try:
                t = time.monotonic()
                func()
                passed += 1
                print('ok   %s (%.2f s)' % (func.__name__, time.monotonic() - t))
            except Exception:
                failed += 1
                print('FAIL %s\n%s' % (func.__name__, traceback.format_exc()))
    print('(%.2f s)' % (time.monotonic() - start))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
