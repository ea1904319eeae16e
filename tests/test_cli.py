#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The binary from the command line: argv, config, --pretend, exit status.
No network: everything here stops before a connection."""
import os
import re
import tempfile

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import account, run, write_config

OUTBOX = tempfile.mkdtemp(prefix='smtpsend-cli-ob-')
CFG = ('account default\nhost mail.example.org\nfrom me@example.org\n'
       'syslog off\noutbox %s/outbox\n' % OUTBOX)
CRON_MAIL = (b'From: root (Cron Daemon)\nTo: root\n'
             b'Subject: Cron <root@host> run-parts\n\nline one\n')


def pretend(args, stdin=b'Subject: x\n\nbody\n', config=CFG, **kw):
    return run(['--pretend'] + args, stdin=stdin, config=config, **kw)


def envelope(r):
    text = r.out.decode(errors='replace')
    return re.findall(r'^(?:MAIL FROM|RCPT TO):.*$', text, re.M)


def message(r):
    return r.out.split(b'bytes\n', 1)[1]


@test
def cron_mail_pretend():
    r = pretend(['-FCronDaemon', '-i', '-B8BITMIME', '-oem', 'root'],
                stdin=CRON_MAIL, env={'EMAIL': ''})
    expect_eq(r.rc, 0, 'exit status %r' % r)
    env = envelope(r)
    expect_eq(env[0].split()[:2], ['MAIL', 'FROM:<me@example.org>'], 'sender')
    expect_in('BODY=8BITMIME', env[0], '-B8BITMIME')
    expect(re.match(r'RCPT TO:<root@[^>]+>$', env[1].strip()) is not None,
           'root qualified: %r' % env[1])
    m = message(r)
    expect(re.match(rb'From: Cron Daemon <root@[^>]+>\r\nTo: root@[^\r]+\r\n',
                    m) is not None, 'bare names qualified: %r' % m[:90])
    expect_in(b'\r\nDate: ', m, 'Date added')
    expect_in(b'\r\nMessage-ID: <', m, 'Message-ID added')
    expect(m.endswith(b'\r\n\r\nline one\r\n'), 'body: %r' % m[-40:])


@test
def aliases_and_maildomain():
    d = os.path.dirname(write_config('x'))
    aliases = os.path.join(d, 'aliases')
    with open(aliases, 'w') as f:
        f.write('# comment\nroot: admin@example.com, ops\nops: ops@example.com, '
                'root\nwww-data: root\ndefault: catchall@example.com\n')
    cfg = CFG + 'aliases %s\nmaildomain host.example.com\n' % aliases
    r = pretend(['root', 'nobody', 'x@y.org'], config=cfg,
                stdin=b'From: root (Cron Daemon)\nTo: www-data, "Ops" <ops>\n'
                      b'Cc: x@y.org\n\nb\n')
    expect_eq(r.rc, 0, 'exit %r' % r)
    rcpts = [l.split('<')[1].split('>')[0] for l in envelope(r)[1:]]
    expect_eq(rcpts, ['admin@example.com', 'ops@example.com',
                      'root@host.example.com', 'catchall@example.com',
                      'x@y.org'], 'expanded, loop stopped, default used')
    m = message(r)
    expect_in(b'From: Cron Daemon <root@host.example.com>\r\n', m,
              'From qualified, never aliased (a sender)')
    expect_in(b'To: admin@example.com, ops@example.com, root@host.example.com, '
              b'"Ops" <ops@example.com>, "Ops" <admin@example.com>, '
              b'"Ops" <ops@host.example.com>\r\n', m,
              'To mapped, display names kept')
    expect_in(b'Cc: x@y.org\r\n', m, 'qualified fields untouched')
    r = pretend(['-f', 'root', 'a@x.org'], config=CFG +
                'maildomain host.example.com\n')
    expect_in('MAIL FROM:<root@host.example.com>', envelope(r)[0],
              '-f root qualified')


@test
def recipients_from_headers_union_and_bcc_removed():
    mail = (b'To: a@x.org, "B, Jr." <b@y.org>\nCc: a@X.org\n'
            b'Bcc: hidden@z.org\nSubject: s\n\nhi\n')
    r = pretend(['-t', 'b@Y.ORG', 'c@w.org'], stdin=mail)
    expect_eq(r.rc, 0, 'exit %r' % r)
    rcpts = [l.split('<')[1].split('>')[0] for l in envelope(r)[1:]]
    expect_eq(rcpts, ['b@Y.ORG', 'c@w.org', 'a@x.org', 'hidden@z.org'],
              'union, each once, domains compared without case')
    expect_not_in(b'Bcc', message(r), 'Bcc removed with -t')


@test
def resent_block_only():
    mail = (b'Resent-To: new@x.org\nResent-Bcc: nb@x.org\nResent-From: r@x\n'
            b'To: old@x.org\nSubject: s\n\nhi\n')
    r = pretend(['-t'], stdin=mail)
    rcpts = [l.split('<')[1].split('>')[0] for l in envelope(r)[1:]]
    expect_eq(rcpts, ['new@x.org', 'nb@x.org'], 'first Resent- block only')
    expect_not_in(b'Resent-Bcc', message(r), 'Resent-Bcc removed')


@test
def without_t_headers_are_not_recipients_and_bcc_kept():
    r = pretend(['a@x.org'], stdin=b'To: b@y\nBcc: c@z\n\nx\n')
    expect_eq(len(envelope(r)), 2, 'only the argument')
    expect_in(b'Bcc: c@z\r\n', message(r), 'Bcc kept without -t')


@test
def from_header_generated_with_full_name():
    r = pretend(['-F', 'Joe Q. Public', 'a@x.org'], stdin=b'Subject: s\n\nx\n')
    expect_in(b'From: "Joe Q. Public" <me@example.org>\r\n', message(r),
              'From with quoted name')
    r = pretend(['-F', 'Cron Daemon', 'a@x.org'], stdin=b'Subject: s\n\nx\n')
    expect_in(b'From: Cron Daemon <me@example.org>\r\n', message(r), 'plain')


@test
def set_from_header_on_replaces():
    r = pretend(['a@x.org'], stdin=b'From: other@x\n\nx\n',
                config=CFG + 'set_from_header on\nfrom_full_name Me\n')
    m = message(r)
    expect_in(b'From: Me <me@example.org>\r\n', m, 'replaced')
    expect_not_in(b'other@x', m, 'old From gone')


@test
def headers_present_are_not_duplicated():
    mail = b'Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <a@b>\nFrom: x@y\n\nb\n'
    r = pretend(['a@x.org'], stdin=mail)
    expect_eq(message(r), mail.replace(b'\n', b'\r\n'), 'message unchanged')


@test
def sender_order():
    r = pretend(['-f', 'f@x.org', 'a@x.org'])
    expect_in('<f@x.org>', envelope(r)[0], '-f wins')
    r = pretend(['-f', '', 'a@x.org'])
    expect_in('MAIL FROM:<> ', envelope(r)[0] + ' ', 'null sender')
    r = pretend(['-f', 'f@x.org', 'a@x.org'],
                config=CFG + 'allow_from_override off\n')
    expect_in('<me@example.org>', envelope(r)[0], 'override refused')
    r = pretend(['--read-envelope-from', 'a@x.org'],
                stdin=b'From: "H" <hdr@x.org>\n\nb\n')
    expect_in('<hdr@x.org>', envelope(r)[0], '--read-envelope-from')
    r = pretend(['a@x.org'], config='host h.example\nsyslog off\n',
                env={'EMAIL': 'env@x.org'})
    expect_in('<env@x.org>', envelope(r)[0], '$EMAIL')


@test
def dsn_parameters():
    r = pretend(['-N', 'success,failure', '-R', 'hdrs', '-V', 'id+1 x',
                 'a@x.org'])
    env = envelope(r)
    expect_in('RET=HDRS', env[0], 'RET')
    expect_in('ENVID=id+2B1+20x', env[0], 'ENVID xtext')
    expect_in('NOTIFY=SUCCESS,FAILURE', env[1], 'NOTIFY')


@test
def nul_byte_refused():
    r = pretend(['a@x.org'], stdin=b'Subject: x\n\nab\x00c\n')
    expect_eq(r.rc, 65, 'exit status')
    expect_in('NUL byte at offset 14', r.err, 'offset named')
    expect_eq(r.out, b'', 'nothing printed')
    expect_eq(r.err.count('\n'), 1, 'one line')


@test
def control_characters_in_addresses():
    for args, what in ((['a@x\r\nRCPT TO:<e@v>'], 'recipient'),
                       (['-f', 'a@x\nRSET', 'b@y'], 'sender (-f)'),
                       (['-F', 'Name\r\nBcc: e@v', 'b@y'], 'full name (-F)'),
                       (['<a@x'], 'recipient')):
        r = pretend(args)
        expect_eq(r.rc, 65, 'exit status for %r' % args)
        expect_in('invalid %s' % what, r.err, 'names the argument')
        expect_not_in('\r', r.err, 'CR escaped')
        expect_eq(r.err.count('\n'), 1, 'one line: %r' % r.err)


@test
def refused_options_read_nothing():
    for opt in ('-X/tmp/x', '-be', '-bh', '-bd', '-bt', '-bv', '-bD',
                '--bogus', '--password=x', '-y'):
        r = run([opt, 'a@x.org'], stdin=b'Subject: x\n\n')
        expect_eq(r.rc, 64, 'exit for %s' % opt)
        expect_eq(r.err.count('\n'), 1, 'one line for %s: %r' % (opt, r.err))
        expect_eq(r.out, b'', 'no output for %s' % opt)


@test
def no_recipients():
    r = pretend([])
    expect_eq(r.rc, 64, 'exit status')
    expect_in('no recipients', r.err, 'reason')


@test
def help_version_noops():
    r = run(['--help'])
    expect_eq(r.rc, 0, '--help')
    expect(r.out.startswith(b'usage: smtpsend [-itv] [-B type]'), 'usage')
    r = run(['--version'])
    expect(re.match(rb'smtpsend \d+\.\d+\.\d+\nconfiguration: /etc/smtpsend.conf, '
                    rb'then the first of (/\S+)/\.config/smtpsend/config, '
                    rb'\1/\.smtpsendrc \(or -C FILE\); user file: none of them '
                    rb'exists\noutbox: /\S+\nmaildrop: /\S+\n'
                    rb'libraries: libcurl [\d.]+, OpenSSL/', r.out) is not None,
           'version names files and libraries: %r' % r.out)
    expect_not_in(b'librtmp', r.out, 'not every protocol library of curl')
    for args, argv0 in ((['-bi'], None), (['-I'], None), ([], 'newaliases')):
        r = run(args, argv0=argv0)
        expect_eq(r.rc, 0, 'no-op %r %r' % (args, argv0))


@test
def sendmail_name_behaves_the_same():
    r = run(['--pretend', '-t'], stdin=b'To: a@x.org\n\nb\n', config=CFG,
            argv0='sendmail')
    expect_eq(r.rc, 0, 'exit %r' % r)
    expect_in(b'RCPT TO:<a@x.org>', r.out, 'recipient')


@test
def config_errors_all_reported():
    cfg = ('defaults\nport 99999\ntls maybe\nbogus_key 1\n'
           'tls_crl_file /x\naccount a\nhost h\naccount a\n')
    r = pretend(['x@y.org'], config=cfg)
    expect_eq(r.rc, 78, 'exit status')
    lines = [l for l in r.err.splitlines() if ':' in l]
    expect(any(re.search(r'config:2: port: must be a port', l) for l in lines),
           'port error: %r' % r.err)
    expect(any(re.search(r'config:3: tls: must be on or off', l) for l in lines),
           'tls error')
    expect(any(re.search(r'config:4: unknown key bogus_key', l) for l in lines),
           'unknown key')
    expect(any(re.search(r'config:5: warning: msmtp key tls_crl_file', l)
               for l in lines), 'msmtp key warning')
    expect(any(re.search(r'config:8: account a defined twice', l)
               for l in lines), 'duplicate account')
    expect_in('4 errors in the configuration', r.err, 'summary')


@test
def secrets_need_a_private_file():
    cfg = CFG + 'user u\npassword hunter2\n'
    home = os.path.dirname(write_config('x'))
    path = write_config(cfg, mode=0o644, directory=home)
    r = run(['--pretend', '-C', path, 'a@x.org'], stdin=b'x\n')
    expect_eq(r.rc, 78, 'world-readable password file')
    expect_in('others can access it', r.err, 'reason')
    expect_not_in('hunter2', r.err, 'no secret in the error')
    r = pretend(['a@x.org'], config=cfg)
    expect_eq(r.rc, 0, 'mode 0600 is fine %r' % r)
    expect_in(b'password: ********', r.out, 'masked')
    expect_not_in(b'hunter2', r.out, 'no secret in --pretend')


@test
def accounts_inheritance_and_selection():
    cfg = ('defaults\nsyslog off\nport 2525\n'
           'account base\nhost base.example\nfrom base@example.org\n'
           'account work : base\nfrom *@work.example\n'
           'account home\nhost home.example\nfrom me@home.example\n'
           'account default : home\n')
    r = pretend(['a@x.org'], config=cfg)
    expect_in(b'host: home.example\nport: 2525\n', r.out, 'default : home')
    r = pretend(['-f', 'joe@WORK.example', 'a@x.org'], config=cfg)
    expect_in(b'account: work\nhost: base.example\n', r.out, 'by from pattern')
    r = pretend(['-a', 'base', 'a@x.org'], config=cfg)
    expect_in(b'account: base\n', r.out, '-a')
    r = pretend(['-a', 'nope', 'a@x.org'], config=cfg)
    expect_eq(r.rc, 78, 'unknown account')
    r = pretend(['--host=override.example', '--port', '26', 'a@x.org'],
                config=cfg)
    expect_in(b'host: override.example\nport: 26\n', r.out, 'long options win')


@test
def cleartext_credentials_refused():
    cfg = ('host 192.0.2.1\ntls off\nuser u\npassword p\nsyslog off\n'
           'maildomain example.org\n')
    r = pretend(['a@x.org'], config=cfg)
    expect_eq(r.rc, 78, 'exit status')
    expect_in('without TLS', r.err, 'reason')
    r = pretend(['a@x.org'], config=cfg.replace('192.0.2.1', '127.0.0.1'))
    expect_eq(r.rc, 0, 'loopback is allowed %r' % r)


@test
def missing_host():
    r = pretend(['a@x.org'], config='syslog off\n')
    expect_eq(r.rc, 78, 'exit status')
    expect_in('no smarthost', r.err, 'reason')


@test
def compose_builds_a_mime_message():
    import email
    import email.policy
    d = tempfile.mkdtemp()
    att = os.path.join(d, 'r\u00e9sum\u00e9.pdf')
    blob = bytes(range(256)) * 40
    with open(att, 'wb') as f:
        f.write(blob)
    r = pretend(['--to', 'Joe <joe@example.org>', '--cc', 'c@example.org',
                 '--bcc', 'hidden@example.org', '--subject', 'Gr\u00fc\u00dfe',
                 '--attach', att, '--header', 'X-Test: 1', '-F', 'Me'],
                stdin='caf\u00e9 body\n'.encode())
    expect_eq(r.rc, 0, 'exit %r' % r)
    rcpts = [l.split('<')[1].split('>')[0] for l in envelope(r)[1:]]
    expect_eq(rcpts, ['joe@example.org', 'c@example.org', 'hidden@example.org'],
              'recipients from --to --cc --bcc')
    raw = message(r)
    expect_not_in(b'hidden@example.org', raw, 'Bcc not in the message')
    expect(max(raw) < 128, '7-bit message')
    expect(all(len(l) <= 78 for l in raw.split(b'\r\n')), 'short lines')
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    expect_eq(str(msg['Subject']), 'Gr\u00fc\u00dfe', 'RFC 2047 subject')
    expect_eq(msg['X-Test'], '1', '--header')
    expect_eq(msg['MIME-Version'], '1.0', 'MIME-Version')
    expect_eq(str(msg['From']), 'Me <me@example.org>', 'From with -F')
    parts = list(msg.iter_parts())
    expect_eq(parts[0].get_content().replace('\r\n', '\n'), 'caf\u00e9 body\n',
              'text part')
    expect_eq(parts[1].get_content_type(), 'application/pdf', 'type by name')
    expect_eq(parts[1].get_filename(), 'r\u00e9sum\u00e9.pdf', 'RFC 2231 name')
    expect_eq(parts[1].get_content(), blob, 'attachment bytes')
    r = pretend(['--subject', 'x', '--body', 'text only'], stdin=b'')
    expect_eq(r.rc, 64, 'compose without recipients')
    r = pretend(['--to', 'a@x.org', '--body', 'hi'], stdin=b'ignored')
    msg = email.message_from_bytes(message(r), policy=email.policy.default)
    expect_eq(msg.get_content().replace('\r\n', '\n'), 'hi\n',
              '--body wins over stdin')
    r = pretend(['--to', 'a@x.org', '--attach', '/nonexistent'], stdin=b'')
    expect_eq(r.rc, 74, 'missing attachment')
    r = pretend(['--to', 'a@x.org', '--header', 'Bad\r\nBcc: x@y'], stdin=b'')
    expect_eq(r.rc, 64, 'header injection refused')


@test
def dot_line_ends_input_without_i():
    r = pretend(['a@x.org'], stdin=b'S: x\n\na\n.\nb\n')
    expect(message(r).endswith(b'\r\na\r\n'), 'stops at dot')
    r = pretend(['-oi', 'a@x.org'], stdin=b'S: x\n\na\n.\nb\n')
    expect(message(r).endswith(b'\r\na\r\n.\r\nb\r\n'), '-oi keeps it')


@test
def a_config_line_that_may_be_a_secret_is_not_shown():
    """The configuration's errors go to syslog too: `password=SECRET` or a
    pasted secret on a line of its own never appears in them."""
    for line, said in (('password=hunter2secret', 'unknown key password=...: '
                        'a key and its value are separated by a space'),
                       ('password:hunter2secret', 'unknown key password:...'),
                       ('Hunter2#secret!', 'starts with no key name'),
                       ('tls_trustfile /x', 'did you mean tls_trust_file?')):
        r = run(['a@example.net'], stdin=b'Subject: x\n\nhi\n',
                config=account(1) + line + '\n')
        expect_eq(r.rc, 78, '%s: %r' % (line, r))
        expect_in(said, r.err, line)
        expect_not_in('hunter2', r.err.lower(), 'not shown: %r' % r.err)


if __name__ == '__main__':
    main()
