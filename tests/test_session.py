#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The SMTP session against our scripted server on 127.0.0.1: every stage,
every extension on and off, and the exit status each outcome gets."""
import re

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import run, account, server, certs, normalise

MAIL = b'Subject: test\nFrom: sender@example.org\n\nHello.\n'


def send(srv, args=('rcpt@example.net',), stdin=MAIL, tls='starttls',
         extra='', user='tester', password='secret', wait=True, **kw):
    r = run(list(args), stdin=stdin,
            config=account(srv.port, tls=tls, user=user, password=password,
                           extra=extra), **kw)
    if wait:
        srv.wait()
    srv.stop()
    return r


def only_session(srv):
    expect_eq(len(srv.sessions), 1, 'one connection')
    return srv.sessions[0]


@test
def starttls_auth_pipelined_bdat():
    srv = server()
    r = send(srv, args=['-i', 'rcpt@example.net'])
    expect_eq(r.rc, 0, 'exit %r' % r)
    s = only_session(srv)
    expect(s.tls, 'TLS on')
    expect_eq(s.auth, ('PLAIN', 'tester'), 'AUTH PLAIN')
    expect_eq(len(s.messages), 1, 'one message')
    m = s.messages[0]
    expect_eq(m['via'], 'BDAT', 'CHUNKING used')
    expect_eq(m['rcpts'], ['rcpt@example.net'], 'recipient')
    expect_in('SIZE=%d' % len(m['data']), m['mail_params'], 'SIZE declared')
    expect_in('RCPT', s.pipelined, 'RCPT sent before the MAIL reply')
    expect_in('BDAT', s.pipelined, 'BDAT sent with the envelope')
    expect(m['data'].startswith(b'Subject: test\r\nFrom: sender@example.org'
                                b'\r\n'), 'data %r' % m['data'][:60])
    expect(m['data'].endswith(b'\r\n\r\nHello.\r\n'), 'body')
    expect(s.quit, 'QUIT sent')
    expect(not s.bare_lf_or_cr, 'no bare CR or LF')


@test
def implicit_tls():
    srv = server(tls='implicit')
    r = send(srv, tls='implicit')
    expect_eq(r.rc, 0, 'exit %r' % r)
    s = only_session(srv)
    expect(s.tls and s.auth is not None and len(s.messages) == 1, 'sent')


@test
def plain_without_auth():
    srv = server(tls=None)
    r = send(srv, tls=None, user=None)
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_eq(only_session(srv).auth, None, 'no AUTH')


DOT_CASES = [
    b'S: x\n\n.\n',
    b'S: x\n\n..\n',
    b'S: x\n\n.leading\n..two\n',
    b'S: x\n\nno final newline',
    b'S: x\n\nbare\rcr\n',
    b'S: x\n\ncrcrlf\r\r\nend\r\n',
    b'S: x\n\nsmuggle\n.\nMAIL FROM:<evil@x>\n',
    b'S: x\n\nsmuggle\n.\r\nRCPT TO:<evil@x>\r\n',
    b'S: x\n\nsmuggle\r\n.\n\r\n',
    b'S: x\n\n\r\n.\r\n\r\n.\n',
]


def big_file_case(i):
    """Over a MiB, with every shape the reader normalises, many times."""
    unit = b''.join(c.split(b'\n\n', 1)[1].replace(b'\n.\n', b'\n.x\n')
                    .replace(b'\n.\r', b'\n.x\r') for c in DOT_CASES)
    return b'S: x\n\n' + (b'%d \xc3\xa9 ' % i + unit) * (1100000 // len(unit))


@test
def a_large_file_on_stdin_is_sent_byte_exact():
    # Read in place, not copied (src/bodyfile.c): the same bytes arrive.
    import tempfile
    for i, (flag, tail) in enumerate([('-i', b'no final newline\r'),
                                      ('-i', b'.\r\r\n'),
                                      (None, b'\n.\nafter the lone dot\n')]):
        data = big_file_case(i) + tail
        want = normalise(data)
        if tail.startswith(b'\n.\n'):
            want = normalise(data[:-len(tail) + 1])
        for chunking in (True, False):
            srv = server(tls=None, hide=() if chunking else ('CHUNKING',))
            with tempfile.TemporaryFile() as fh:
                fh.write(data)
                fh.seek(0)
                r = send(srv, args=[flag, 'a@example.net'] if flag == '-i'
                         else ['a@example.net'], stdin=fh, tls=None,
                         user=None, extra='set_date_header off\n'
                         'set_msgid_header off\nset_from_header off\n')
            ctx = 'case %d, %s' % (i, 'BDAT' if chunking else 'DATA')
            expect_eq(r.rc, 0, '%s: %r' % (ctx, r))
            s = only_session(srv)
            got = s.messages[0]['data'] if s.messages else b''
            expect(got == want, '%s: payload of %d bytes, wanted %d'
                   % (ctx, len(got), len(want)))
            expect(not s.bare_lf_or_cr, ctx + ': no bare CR/LF')


def dot_transparency(hide):
    for case in DOT_CASES:
        srv = server(tls=None, hide=hide)
        r = send(srv, args=['-i', 'a@example.net'], stdin=case, tls=None,
                 user=None, extra='set_date_header off\nset_msgid_header off\n'
                 'set_from_header off\n')
        expect_eq(r.rc, 0, 'exit for %r: %r' % (case, r))
        s = only_session(srv)
        expect_eq(len(s.messages), 1, 'exactly one message for %r' % case)
        expect_eq(s.messages[0]['data'], normalise(case),
                  'payload for %r' % case)
        expect(not s.bare_lf_or_cr, 'no bare CR/LF on the wire for %r' % case)


@test
def dot_transparency_data():
    dot_transparency(['CHUNKING'])


@test
def dot_transparency_bdat():
    dot_transparency([])


@test
def without_pipelining_one_command_at_a_time():
    srv = server(hide=['PIPELINING'])
    r = send(srv, args=['a@example.net', 'b@example.net'])
    expect_eq(r.rc, 0, 'exit %r' % r)
    s = only_session(srv)
    expect_eq(s.pipelined, [], 'nothing pipelined')
    expect_eq(s.messages[0]['rcpts'], ['a@example.net', 'b@example.net'], 'rcpts')


@test
def data_when_no_chunking():
    srv = server(hide=['CHUNKING'])
    r = send(srv)
    expect_eq(r.rc, 0, 'exit %r' % r)
    s = only_session(srv)
    expect_eq(s.messages[0]['via'], 'DATA', 'DATA used')
    expect_in('DATA', s.pipelined, 'DATA pipelined with MAIL and RCPT')


# stage, reply, expected exit status
REPLY_TABLE = [
    ('greeting', '554 5.3.2 go away', 69),
    ('greeting', '421 4.3.2 busy', 75),
    ('EHLO', '550 5.7.1 no', 69),
    ('AUTH', '535 5.7.8 bad credentials', 77),
    ('AUTH', '454 4.7.0 try later', 75),
    ('MAIL', '550 5.7.1 sender refused', 69),
    ('MAIL', '451 4.3.0 try later', 75),
    ('RCPT', '550 5.1.1 no such user', 67),
    ('RCPT', '450 4.2.0 greylisted', 75),
    ('BDAT', '554 5.6.0 rejected', 69),
    ('BDAT', '452 4.3.1 full', 75),
    ('STARTTLS', '454 4.7.0 TLS not available', 75),
]


@test
def exit_status_follows_the_reply():
    for stage, reply, want in REPLY_TABLE:
        # A submission server: no mail without AUTH.
        srv = server(replies={stage: reply}, require_auth=True)
        r = send(srv)
        expect_eq(r.rc, want, 'exit for %s %s: %r' % (stage, reply, r))
        expect_eq(r.err.count('\n'), 1, 'one line for %s %s: %r'
                  % (stage, reply, r.err))
        expect_in(reply.split(' ', 1)[1], r.err, 'server text shown')
        expect_eq(sum(len(s.messages) for s in srv.sessions), 0,
                  'nothing delivered for %s' % stage)


@test
def data_and_dot_replies():
    for stage, reply, want in (('DATA', '554 5.5.1 no', 69),
                               ('DOT', '550 5.7.1 spam', 69),
                               ('DOT', '451 4.3.0 later', 75)):
        srv = server(hide=['CHUNKING'], replies={stage: reply})
        r = send(srv)
        expect_eq(r.rc, want, 'exit for %s %s: %r' % (stage, reply, r))
        expect_in(reply.split(' ', 1)[1], r.err, 'server text')


@test
def drop_after_final_dot_may_be_delivered():
    for hide in (['CHUNKING'], []):
        srv = server(hide=hide, drop_at='BDAT' if not hide else 'DOT')
        r = send(srv)
        expect_eq(r.rc, 75, 'exit %r' % r)
        expect_in('may have been delivered', r.err, 'warning')


@test
def drop_and_stall_before_the_end():
    for kw in ({'drop_at': 'greeting'}, {'drop_at': 'MAIL'},
               {'drop_at': 'RCPT'}, {'stall_at': 'MAIL'},
               {'stall_at': 'greeting'}):
        srv = server(**kw)
        r = send(srv, extra='timeout 2\n', wait=False)
        expect_eq(r.rc, 75, 'exit for %r: %r' % (kw, r))
        expect_not_in('may have been delivered', r.err, 'not after the dot')


@test
def stall_after_dot_times_out():
    srv = server(stall_at='BDAT')
    r = send(srv, extra='timeout 2\n', wait=False)
    expect_eq(r.rc, 75, 'exit %r' % r)
    expect_in('timed out', r.err, 'timeout named')
    expect_in('may have been delivered', r.err, 'possibly delivered')


@test
def connection_refused():
    srv = server()
    port = srv.port
    srv.stop()
    r = run(['a@example.net'], stdin=MAIL, config=account(port))
    expect_eq(r.rc, 75, 'exit %r' % r)


@test
def all_or_nothing_and_partial():
    srv = server(replies={'RCPT': ['250 ok', '550 5.1.1 unknown user']})
    r = send(srv, args=['a@example.net', 'b@example.net'])
    expect_eq(r.rc, 67, 'exit %r' % r)
    expect_in('b@example.net: 550 5.1.1 unknown user', r.err, 'refusal named')
    expect_eq(len(only_session(srv).messages), 0, 'nobody got it')
    srv = server(replies={'RCPT': ['250 ok', '550 5.1.1 unknown user']})
    r = send(srv, args=['a@example.net', 'b@example.net'],
             extra='partial_delivery on\n')
    expect_eq(r.rc, 67, 'partial exit still reports the refusal %r' % r)
    s = only_session(srv)
    expect_eq(len(s.messages), 1, 'delivered to the accepted one')
    expect_eq(s.messages[0]['rcpts'], ['a@example.net'], 'accepted only')
    srv = server(replies={'RCPT': ['450 4.2.0 later']})
    r = send(srv, args=['a@example.net', 'b@example.net'])
    expect_eq(r.rc, 75, 'all 4xx: temporary %r' % r)


@test
def starttls_missing_or_injected_fails_closed():
    srv = server(hide=['STARTTLS'])
    r = send(srv)
    expect_eq(r.rc, 75, 'no STARTTLS offered %r' % r)
    cmds = only_session(srv).commands
    expect(not any(c.startswith(('AUTH', 'MAIL')) for c in cmds), 'nothing sent %r' % cmds)
    srv = server(starttls_inject=b'250 injected\r\n')
    r = send(srv)
    expect_eq(r.rc, 75, 'STARTTLS injection %r' % r)
    cmds = only_session(srv).commands
    expect(not any(c.startswith(('AUTH', 'MAIL')) for c in cmds), 'nothing sent %r' % cmds)


@test
def bad_certificates_fail_before_auth():
    c = certs()
    for name, cert, key in (('self-signed', c.selfsigned_cert, c.selfsigned_key),
                            ('wrong host', c.wronghost_cert, c.wronghost_key),
                            ('expired', c.expired_cert, c.expired_key)):
        srv = server(cert=cert, key=key)
        r = send(srv)
        expect_eq(r.rc, 75, 'exit for %s: %r' % (name, r))
        expect_in('TLS', r.err, 'TLS named for %s' % name)
        expect(all(s.auth is None and not s.messages for s in srv.sessions),
               'no AUTH for %s' % name)
    srv = server()
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port).replace(
        'tls_trust_file %s\n' % c.ca, ''))
    srv.stop()
    expect_eq(r.rc, 75, 'untrusted CA with the system store %r' % r)


@test
def fingerprint_pins_the_certificate():
    c = certs()
    good = c.sha256(c.selfsigned_cert)
    srv = server(cert=c.selfsigned_cert, key=c.selfsigned_key)
    r = send(srv, extra='tls_fingerprint %s\n' % good)
    expect_eq(r.rc, 0, 'pinned self-signed accepted %r' % r)
    bad = ('00:' * 32)[:-1]
    srv = server()
    r = send(srv, extra='tls_fingerprint %s\n' % bad)
    expect_eq(r.rc, 75, 'wrong pin %r' % r)
    expect(all(s.auth is None for s in srv.sessions), 'no AUTH after a bad pin')


@test
def credentials_need_an_authenticated_session():
    srv = server(hide=['AUTH'])
    r = send(srv)
    expect_eq(r.rc, 69, 'no AUTH offered %r' % r)
    expect(not any(c.startswith('MAIL') for c in only_session(srv).commands),
           'nothing sent')


@test
def auth_falls_back_when_plain_is_not_offered():
    srv = server(extensions=['PIPELINING', 'AUTH LOGIN CRAM-MD5'])
    r = send(srv)
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_in(srv.sessions[-1].auth[0], ('LOGIN', 'CRAM-MD5'), 'fallback mech')


@test
def extensions_required():
    srv = server(extensions=['PIPELINING', 'SIZE 100', 'AUTH PLAIN'])
    r = send(srv, stdin=MAIL + b'x' * 200)
    expect_eq(r.rc, 69, 'too big %r' % r)
    expect_in('size limit of 100', r.err, 'limit named')
    expect(not any(c.startswith('MAIL') for c in only_session(srv).commands),
           'refused before MAIL')
    srv = server(hide=['DSN'])
    r = send(srv, args=['-N', 'failure', 'a@example.net'])
    expect_eq(r.rc, 69, 'DSN not offered %r' % r)
    srv = server(hide=['SMTPUTF8'])
    r = send(srv, args=['j\u00f6rg@example.net'])
    expect_eq(r.rc, 69, 'SMTPUTF8 not offered %r' % r)


@test
def dsn_and_smtputf8_parameters():
    srv = server()
    r = send(srv, args=['-N', 'success,delay', '-R', 'full', '-V', 'a b',
                        'j\u00f6rg@example.net'])
    expect_eq(r.rc, 0, 'exit %r' % r)
    m = only_session(srv).messages[0]
    expect_in('RET=FULL', m['mail_params'], 'RET')
    expect_in('ENVID=a+20b', m['mail_params'], 'ENVID')
    expect_in('SMTPUTF8', m['mail_params'], 'SMTPUTF8')
    expect_eq(m['rcpt_params'], ['NOTIFY=SUCCESS,DELAY'], 'NOTIFY')


@test
def eight_bit_and_long_lines():
    body = 'Subject: s\n\ncaf\u00e9\n'.encode()
    srv = server()
    r = send(srv, stdin=body)
    m = only_session(srv).messages[0]
    expect_in('BODY=8BITMIME', m['mail_params'], 'BODY=8BITMIME')
    expect_in('caf\u00e9'.encode(), m['data'], 'sent as is')
    srv = server(hide=['8BITMIME'])
    r = send(srv, stdin=body)
    expect_eq(r.rc, 0, 'exit %r' % r)
    m = only_session(srv).messages[0]
    expect_not_in('BODY=', m['mail_params'], 'no BODY without 8BITMIME')
    expect_in(b'Content-Transfer-Encoding: quoted-printable', m['data'], 'QP')
    expect_in(b'caf=C3=A9', m['data'], 'encoded')
    expect(max(m['data']) < 128, '7-bit on the wire')
    import quopri
    srv = server()
    long_body = b'Subject: s\n\n' + b'word ' * 400 + b'\n'
    r = send(srv, stdin=long_body)
    m = only_session(srv).messages[0]
    expect(all(len(l) <= 998 for l in m['data'].split(b'\r\n')), 'no long line')
    body = m['data'].split(b'\r\n\r\n', 1)[1]
    expect_eq(quopri.decodestring(body).replace(b'\r\n', b'\n'),
              b'word ' * 400 + b'\n', 'lossless')
    srv = server()
    multi = (b'Content-Type: multipart/mixed; boundary=b\n\n--b\n\n'
             + b'x' * 1500 + b'\n--b--\n')
    r = send(srv, stdin=multi)
    m = only_session(srv).messages[0]
    expect(all(len(l) <= 998 for l in m['data'].split(b'\r\n')), 'broken')
    expect_in('lines over 998 octets were broken', r.err, 'warned')
    srv = server()
    r = send(srv, stdin=b'X-Long: ' + b'word ' * 300 + b'\nSubject: s\n\nb\n')
    m = only_session(srv).messages[0]
    expect(all(len(l) <= 998 for l in m['data'].split(b'\r\n')),
           'long header line folded')
    unfolded = m['data'].split(b'\r\n\r\n')[0].replace(b'\r\n ', b' ')
    expect_in(b'X-Long: ' + b'word ' * 299 + b'word', unfolded,
              'folding at whitespace is lossless')


@test
def verbose_transcript_hides_secrets():
    srv = server(users={'tester': 's3cr3t-pw'})
    r = send(srv, args=['-v', 'a@example.net'], password='s3cr3t-pw')
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_in('AUTH PLAIN <redacted>', r.err, 'redacted')
    import base64
    secret_b64 = base64.b64encode(b'\0tester\0s3cr3t-pw').decode()
    expect_not_in('s3cr3t-pw', r.err, 'password not shown')
    expect_not_in(secret_b64, r.err, 'AUTH data not shown')
    expect(re.search(r'> MAIL FROM:<sender@example.org>', r.err), 'MAIL shown')
    expect(re.search(r'< 250 2\.0\.0 Ok: queued', r.err), 'reply shown')
    # AUTH that went with the transaction counts as transfer (the manual).
    expect(re.search(r'timings: connect [\d.]+ ms, tls [\d.]+ ms, greeting '
                     r'and EHLO [\d.]+ ms, (auth [\d.]+ ms, )?transfer '
                     r'[\d.]+ ms', r.err), 'timings line')
    srv = server(extensions=['AUTH LOGIN'], users={'tester': 's3cr3t-pw'})
    r = send(srv, args=['-v', 'a@example.net'], password='s3cr3t-pw')
    expect_not_in(base64.b64encode(b's3cr3t-pw').decode(), r.err, 'LOGIN hidden')


@test
def logfile_line():
    import os
    import tempfile
    log = os.path.join(tempfile.mkdtemp(), 'log')
    srv = server(users={'tester': 'pw-in-log'})
    r = send(srv, extra='logfile %s\n' % log, password='pw-in-log')
    expect_eq(r.rc, 0, 'exit %r' % r)
    line = open(log).read()
    for part in ('host=127.0.0.1', 'tls=on', 'auth=on', 'user=tester',
                 'from=sender@example.org', 'recipients=rcpt@example.net',
                 'smtpstatus=250', "smtpmsg='250 2.0.0 Ok", 'exitcode=EX_OK'):
        expect_in(part, line, 'log field')
    expect(re.match(r"^\w{3} \d\d \d\d:\d\d:\d\d host=127\.0\.0\.1 tls=on "
                    r"auth=on user=tester from=sender@example\.org "
                    r"recipients=rcpt@example\.net mailsize=\d+ smtpstatus=250 "
                    r"smtpmsg='250 [^']*' exitcode=EX_OK$", line.strip()),
           "msmtp's exact line: %r" % line)
    expect_not_in('pw-in-log', line, 'no secret in the log')
    srv = server(replies={'RCPT': "550 5.1.1 'no' user"})
    r = send(srv, extra='logfile %s\n' % log)
    last = open(log).read().splitlines()[-1]
    expect_in('exitcode=EX_NOUSER', last, 'failure logged')
    expect_in("smtpmsg='550 5.1.1 \\'no\\' user'", last, 'quotes escaped')
    expect_in("errormsg='", last, 'errormsg on failure')
    expect_not_in('mailsize=', last, 'mailsize only on success')


@test
def passwordeval():
    srv = server()
    r = run(['a@example.net'], stdin=MAIL, config=account(srv.port).replace(
        'password secret\n', '') + 'passwordeval printf "secret\\nignored"\n')
    srv.stop()
    expect_eq(r.rc, 0, 'first line used %r' % r)
    srv = server()
    r = run(['a@example.net'], stdin=MAIL, config=account(
        srv.port, user='tester', password=None).replace('password None\n', '')
        + 'passwordeval exit 3\n')
    srv.stop()
    expect_eq(r.rc, 78, 'failing passwordeval %r' % r)
    expect_eq(len(srv.sessions), 0, 'no connection made')


@test
def hostile_replies():
    for reply in (b'abc not smtp\r\n', b'250-' + b'x' * 70000 + b'\r\n',
                  b'250 o\x00k\r\n'):
        srv = server(tls=None, replies={'MAIL': reply})
        r = send(srv, tls=None, user=None, extra='timeout 3\n', wait=False)
        expect_eq(r.rc, 76, 'exit for %r: %r' % (reply[:20], r))


@test
def serverinfo_describes_the_server():
    c = certs()
    srv = server(cert=c.selfsigned_cert, key=c.selfsigned_key)
    r = run(['--serverinfo'], config=account(srv.port, user=None) +
            'tls_certcheck off\n')
    srv.stop()
    expect_eq(r.rc, 0, 'exit %r' % r)
    out = r.out.decode()
    expect_in('greeting: 220 test.example ESMTP', out, 'greeting')
    expect_in('SIZE 10240000 (9.8 MiB)', out, 'SIZE in human units')
    expect_in('AUTH mechanisms: PLAIN LOGIN CRAM-MD5', out, 'AUTH')
    expect(re.search(r'TLS: TLSv1\.[23], cipher \S+', out), 'TLS version')
    import subprocess
    ossl = subprocess.run(['openssl', 'x509', '-noout', '-fingerprint',
                           '-sha256', '-in', c.selfsigned_cert],
                          capture_output=True, text=True).stdout.strip()
    expect_eq(re.search(r'SHA-256 fingerprint: (\S+)', out).group(1),
              ossl.split('=', 1)[1], 'the fingerprint openssl x509 gives')
    expect_in('valid until:', out, 'validity')
    expect_in('warning: tls_certcheck is off', r.err, 'warned')
    expect(all(s.auth is None and not s.messages for s in srv.sessions),
           'no AUTH, no mail')
    srv = server()
    r = run(['--serverinfo'], config=account(srv.port, user=None))
    srv.stop()
    expect_eq(r.rc, 0, 'verified %r' % r)
    expect_not_in('warning', r.err, 'no warning when verified')


@test
def name_that_does_not_resolve():
    r = run(['a@example.net'], stdin=MAIL, config=account(1).replace(
        'host 127.0.0.1', 'host nonexistent.invalid'))
    expect_eq(r.rc, 68, 'exit %r' % r)
    expect_in('cannot resolve nonexistent.invalid', r.err, 'said')


if __name__ == '__main__':
    main()
