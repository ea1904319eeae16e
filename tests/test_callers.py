#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The callers, as they really call: argv, environment and message of each
real program that runs sendmail, end to end against the scripted server."""
import os
import tempfile

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import run, server, write_config

DOMAIN = 'host.example.com'
CRON = b'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@h> ls\n\nout\n'
PHP = (b'To: user@example.net\r\nSubject: php\r\nX-PHP-Originating-Script: 0:a.php'
       b'\r\n\r\nline1\nline2\n')
MUTT = b'From: Me <me@example.org>\nTo: a@example.net\nSubject: m\n\nbody\n'
SUDO = (b'To: root\nFrom: root\nSubject: *** SECURITY information ***\n\n'
        b'user : NOT in sudoers\n')
MDADM = b'From: mdadm monitoring <root>\nTo: root\nSubject: Fail event\n\nx\n'

# name, argv0, argv, env, stdin, expected sender, expected recipients
CALLERS = [
    ('Debian cron', 'sendmail', ['-FCronDaemon', '-i', '-B8BITMIME', '-oem',
     'root,admin@example.org'], {}, CRON, 'cfg@example.org',
     ['root@' + DOMAIN, 'admin@example.org']),
    ('cronie', 'sendmail', ['-FCronDaemon', '-i', '-odi', '-oem', '-oi', '-t',
     '-f', 'root'], {}, CRON, 'root@' + DOMAIN, ['root@' + DOMAIN]),
    ('anacron', 'sendmail', ['-FAnacron', '-odi', 'root'], {}, CRON,
     'cfg@example.org', ['root@' + DOMAIN]),
    ('at', 'sendmail', ['-i', 'root'], {}, b'Subject: Output from your job\n\n'
     b'done\n', 'cfg@example.org', ['root@' + DOMAIN]),
    ('PHP mail()', 'sendmail', ['-t', '-i'], {}, PHP, 'cfg@example.org',
     ['user@example.net']),
    ('PHP mail() -f', 'sendmail', ['-t', '-i', '-f', 'web@example.org'], {},
     PHP, 'web@example.org', ['user@example.net']),
    ('sudo', 'sendmail', ['-t'], {'HOME': '/', 'LOGNAME': 'root',
     'USER': 'root'}, SUDO, 'cfg@example.org', ['root@' + DOMAIN]),
    ('mutt', 'sendmail', ['-oem', '-oi', '-B8BITMIME', '-f', 'me@example.org',
     '--', 'a@example.net', 'b@example.net'], {}, MUTT, 'me@example.org',
     ['a@example.net', 'b@example.net']),
    ('git send-email', 'sendmail', ['-i', '-f', 'me@example.org',
     'a@example.net', 'c@example.net'], {}, MUTT, 'me@example.org',
     ['a@example.net', 'c@example.net']),
    ('systemd-cron', 'sendmail', ['-i', '-B', '8BITMIME', 'root'], {}, CRON,
     'cfg@example.org', ['root@' + DOMAIN]),
    ('busybox crond', 'sendmail', ['-ti'], {}, CRON, 'cfg@example.org',
     ['root@' + DOMAIN]),
    ('mailutils', 'sendmail', ['-oi', '-f', 'u@example.org', '-t'], {}, MUTT,
     'u@example.org', ['a@example.net']),
    ('bsd-mailx', 'sendmail', ['-i', '-t', '-f', 'me@example.org'], {}, MUTT,
     'me@example.org', ['a@example.net']),
    ('s-nail', 'sendmail', ['-i', '-F', 'Me Myself', '-f', 'me@example.org',
     '--', 'a@example.net'], {}, b'To: a@example.net\nSubject: s\n\nx\n',
     'me@example.org', ['a@example.net']),
    ('mdadm', 'sendmail', ['-t'], {}, MDADM, 'cfg@example.org',
     ['root@' + DOMAIN]),
    ('logwatch', 'sendmail', ['-oi', '-t'], {}, CRON, 'cfg@example.org',
     ['root@' + DOMAIN]),
    ('unattended-upgrades', 'sendmail', ['-oi', '-t'], {}, b'To: root\n'
     b'Subject: unattended-upgrades result\n\nok\n', 'cfg@example.org',
     ['root@' + DOMAIN]),
]


def config(port, extra=''):
    return ('account default\nhost 127.0.0.1\nport %d\ntls off\n'
            'from cfg@example.org\nmaildomain %s\nsyslog off\ntimeout 10\n'
            'outbox %s/outbox\n%s'
            % (port, DOMAIN, tempfile.mkdtemp(), extra))


def deliver(argv0, argv, env, stdin, extra=''):
    srv = server(tls=None)
    r = run(argv, stdin=stdin, config=config(srv.port, extra), env=env,
            argv0=argv0)
    srv.wait()
    srv.stop()
    msgs = [m for s in srv.sessions for m in s.messages]
    return r, msgs


@test
def every_caller_delivers():
    for name, argv0, argv, env, stdin, sender, rcpts in CALLERS:
        r, msgs = deliver(argv0, argv, env, stdin)
        expect_eq(r.rc, 0, '%s: exit %r' % (name, r))
        expect_eq(len(msgs), 1, '%s: one message' % name)
        m = msgs[0]
        expect_eq(m['mail_from'], sender, '%s: sender' % name)
        expect_eq(m['rcpts'], rcpts, '%s: recipients' % name)
        head = m['data'].split(b'\r\n\r\n', 1)[0]
        for field in (b'From:', b'Date:', b'Message-ID:'):
            expect_in(b'\r\n' + field if not head.startswith(field) else field,
                      b'\r\n' + head, '%s: %s present' % (name, field))
        expect_not_in(b'Bcc:', head, '%s: no Bcc' % name)
        for line in head.split(b'\r\n'):
            if line.lower().startswith((b'from:', b'to:', b'cc:')):
                expect(b'@' in line, '%s: bare name left in %r' % (name, line))


@test
def every_caller_with_aliases():
    d = tempfile.mkdtemp()
    aliases = os.path.join(d, 'aliases')
    with open(aliases, 'w') as f:
        f.write('root: admin@example.org\ndefault: admin@example.org\n')
    for name, argv0, argv, env, stdin, sender, rcpts in CALLERS:
        r, msgs = deliver(argv0, argv, env, stdin, 'aliases %s\n' % aliases)
        expect_eq(r.rc, 0, '%s: exit %r' % (name, r))
        want = []
        for a in rcpts:
            a = 'admin@example.org' if a == 'root@' + DOMAIN else a
            if a not in want:
                want.append(a)
        expect_eq(msgs[0]['rcpts'], want, '%s: recipients via aliases' % name)


@test
def cron_from_header_is_acceptable():
    r, msgs = deliver('sendmail', ['-FCronDaemon', '-i', 'root'], {}, CRON)
    head = msgs[0]['data'].split(b'\r\n\r\n', 1)[0]
    expect_in(b'From: Cron Daemon <root@%s>\r\n' % DOMAIN.encode(),
              head + b'\r\n', 'display name kept, address qualified')
    expect_in(b'To: root@%s' % DOMAIN.encode(), head, 'To qualified')


@test
def php_crlf_headers_lf_body():
    r, msgs = deliver('sendmail', ['-t', '-i'], {}, PHP)
    data = msgs[0]['data']
    expect(data.endswith(b'\r\n\r\nline1\r\nline2\r\n'), 'normalised %r' % data)
    expect_not_in(b'\r\r', data, 'no doubled CR')


if __name__ == '__main__':
    main()
