#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What needs /etc, /var/spool, a host name or another user (CONTRACT
sections 4, 7 and 8), each in a private mount and UTS namespace (tests/ns.py):
the system file's credentials, the maildrop and root's pickup, a host name
without a dot. The machine's own /etc and /var/spool never change."""
import glob
import hashlib
import os
import shlex
import socket
import stat
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import BINARY, certs, server
from ns import System, available

MAIL = b'Subject: system\n\nbody\n'
WWW = 33          # www-data on Debian
OTHER = 65534     # nobody


def need_ns():
    why = available()
    if why:
        skip(why)


def system_conf(port, extra='', mode=0o600, password='syspw'):
    return ('defaults\nsyslog off\ntimeout 10\n'
            'account default\nhost 127.0.0.1\nport %d\nuser tester\n'
            'password %s\ntls_trust_file %s\nfrom alerts@example.org\n'
            'maildomain example.org\n%s' % (port, password, certs().ca, extra),
            mode)


def snapshot():
    """What of the machine these tests must leave exactly as it was."""
    h = hashlib.sha256()
    for top in ('/etc/smtpsend.conf', '/etc/mailname', '/var/spool/smtpsend'):
        # Only a directory has a tree below it: '/etc/mailname/**' of the
        # regular file would name '/etc/mailname/' (NotADirectoryError).
        below = (glob.glob(top + '/**', recursive=True)
                 if os.path.isdir(top) else [])
        for path in sorted(set([top] + [x.rstrip('/') for x in below])):
            try:
                st = os.lstat(path)
            except OSError:
                h.update(b'missing ' + path.encode())
                continue
            h.update(('%s %o %d %d' % (path, st.st_mode, st.st_size,
                                       st.st_mtime_ns)).encode())
    with open('/proc/sys/kernel/hostname') as f:
        h.update(f.read().encode())
    return h.hexdigest()


BEFORE = snapshot()


# ---------------------------------------------------------------- issue 12 --

@test
def c_file_account_cannot_take_the_system_password_elsewhere():
    need_ns()
    home_srv = server(users={'tester': 'syspw'})
    evil = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(home_srv.port, mode=0o640)}) as s:
        cfg = ('account evil : default\nhost 127.0.0.1\nport %d\n'
               'tls_trust_file %s\n' % (evil.port, certs().ca))
        r = s.run(['-a', 'evil', 'victim@example.net'], stdin=MAIL, config=cfg)
        expect(r.rc in (78, 69, 77), 'refused %r' % r)
        expect(all(x.auth is None for x in evil.sessions),
               'no AUTH with the system password to the -C host')
        # -q with `account default : x` in a -C file: nothing to evil either.
        cfg2 = ('account x : default\nhost 127.0.0.1\nport %d\n'
                'account default : x\n' % evil.port)
        r = s.run(['-q'], config=cfg2)
        expect(all(x.auth is None for x in evil.sessions),
               'no AUTH from -q -C either')
        # The system account itself still works, to its own host.
        r = s.run(['ok@example.net'], stdin=MAIL)
        expect_eq(r.rc, 0, 'the system account sends %r' % r)
    home_srv.stop()
    evil.stop()
    expect_eq(len(home_srv.sessions[-1].messages), 1, 'delivered at home')


@test
def c_file_account_cannot_take_the_system_oauth2_client_elsewhere():
    """--authorize is a person's, at a terminal, but the client secret of
    the system file still goes only to the token endpoint that file names
    (as a send's credentials do)."""
    need_ns()
    evil = socket.socket()
    evil.bind(('127.0.0.1', 0))
    evil.listen(4)
    evil.setblocking(False)
    conf = ('defaults\nsyslog off\naccount default\nhost 127.0.0.1\n'
            'port 1\nauth oauthbearer\nuser me@example.org\n'
            'oauth2_client_id cid\noauth2_client_secret csecret\n'
            'oauth2_auth_endpoint https://login.example.org/authorize\n'
            'oauth2_token_endpoint https://login.example.org/token\n', 0o600)
    with System(etc={'smtpsend.conf': conf}) as s:
        cfg = ('account evil : default\noauth2_token_endpoint '
               'http://127.0.0.1:%d/token\n' % evil.getsockname()[1])
        path = os.path.join(s.dir, 'evil.conf')
        with open(path, 'w') as f:
            f.write(cfg)
        # script(1): stdin and stderr on a pty, as --authorize wants.
        line = '%s -C %s -a evil --authorize' % (BINARY, path)
        r = s.run([], shell='timeout 15 script -qec %s /dev/null'
                  % shlex.quote(line))
    text = r.out.decode(errors='replace')
    expect_in('oauth2_token_endpoint would send the stored credentials', text,
              'refused %r' % r)
    try:
        evil.accept()
        expect(False, 'nothing may reach the other token endpoint')
    except BlockingIOError:
        pass
    evil.close()


@test
def root_reads_no_configuration_from_a_home_not_its_own():
    """Root run with a user's environment (sudo -E, su -m) read that user's
    ~/.config/smtpsend/config: an account default there took root's mail
    (cron's, alerts) to the user's host."""
    need_ns()
    with System(etc={'smtpsend.conf': system_conf(1)}) as s:
        home = s.home(WWW)
        d = os.path.join(home, '.config', 'smtpsend')
        os.makedirs(d)
        with open(os.path.join(d, 'config'), 'w') as f:
            f.write('account default\nhost evil.example.net\n'
                    'from www@example.org\nmaildomain example.org\n')
        for p in (os.path.join(home, '.config'), d, os.path.join(d, 'config')):
            os.chown(p, WWW, WWW)
        r = s.run(['--pretend', 'root@example.org'], stdin=MAIL, home=home)
        expect_eq(r.rc, 0, 'pretend %r' % r)
        expect_not_in('evil.example.net', r.out.decode() + r.err,
                      "root's mail never goes to the user's host %r" % r)
        # su keeps XDG_CONFIG_HOME; HOME=/tmp is root's but anyone's too.
        anyones = os.path.join(s.dir, 'anyones')
        os.makedirs(os.path.join(anyones, '.config', 'smtpsend'))
        os.chmod(anyones, 0o1777)
        with open(os.path.join(anyones, '.config', 'smtpsend', 'config'),
                  'w') as f:
            f.write('account default\nhost evil.example.net\n')
        for how, kw in (('XDG_CONFIG_HOME', {'env': {
                'XDG_CONFIG_HOME': os.path.join(home, '.config')}}),
                ('a HOME anyone writes', {'home': anyones})):
            r = s.run(['--pretend', 'root@example.org'], stdin=MAIL, **kw)
            expect_eq(r.rc, 0, '%s: pretend %r' % (how, r))
            expect_not_in('evil.example.net', r.out.decode() + r.err,
                          "%s: root's mail stays root's %r" % (how, r))
        r = s.run(['--pretend', 'x@example.org'], stdin=MAIL, uid=WWW,
                  home=home)
        expect_in('evil.example.net', r.out.decode() + r.err,
                  "the user's own file is the user's %r" % r)


@test
def passwordeval_only_from_a_file_nobody_else_can_have_written():
    need_ns()
    srv = server(users={'tester': 'evalpw'})
    with System() as s:
        up = os.path.join(s.dir, 'uploads')
        os.makedirs(up)
        os.chmod(up, 0o1777)
        marker = os.path.join(up, 'ran')
        cfg = ('account default\nhost 127.0.0.1\nport %d\nuser tester\n'
               'passwordeval touch %s; echo evalpw\ntls_trust_file %s\n'
               'from a@example.org\nsyslog off\n'
               % (srv.port, marker, certs().ca))
        path = os.path.join(up, 'php0001')
        with open(path, 'w') as f:
            f.write(cfg)
        os.chown(path, WWW, WWW)
        os.chmod(path, 0o600)
        r = s.run(['-C', path, 'x@example.net'], stdin=MAIL, uid=WWW)
        expect_eq(r.rc, 78, 'a caller-owned -C file in /tmp %r' % r)
        expect_in('passwordeval', r.err, 'says why')
        expect(not os.path.exists(marker), 'the command never ran')
        # The cron job's case: ~/.msmtprc of the caller, in its home.
        home = s.home(WWW)
        rc = os.path.join(home, '.msmtprc')
        with open(rc, 'w') as f:
            f.write(cfg.replace(marker, os.path.join(home, 'ran')))
        os.chown(rc, WWW, WWW)
        os.chmod(rc, 0o600)
        r = s.run(['-C', rc, '-t'], stdin=b'To: x@example.net\n\nhi\n',
                  uid=WWW, home=home)
        expect_eq(r.rc, 0, 'passwordeval from ~/.msmtprc works %r' % r)
    srv.stop()


@test
def core_dumps_cannot_hold_the_password():
    need_ns()
    srv = server(users={'tester': 'pw'})
    with System() as s:
        home = s.home(OTHER)
        probe = os.path.join(home, 'dumpable')
        # While passwordeval runs, the parent's /proc files are root's:
        # the kernel does that for a process that is not dumpable.
        cfg = ('account default\nhost 127.0.0.1\nport %d\nuser tester\n'
               'passwordeval stat -c %%U /proc/$PPID/environ > %s; echo pw\n'
               'tls_trust_file %s\nfrom a@example.org\nsyslog off\n'
               % (srv.port, probe, certs().ca))
        r = s.run(['x@example.net'], stdin=MAIL, uid=OTHER, home=home,
                  config=cfg)
        expect_eq(r.rc, 0, 'sent %r' % r)
        expect_eq(open(probe).read().strip(), 'root', 'not dumpable')
    srv.stop()


@test
def outbox_read_as_hostile_input():
    need_ns()
    srv = server(tls=None)
    with System() as s:
        cfg = ('host 127.0.0.1\nport %d\ntls off\nfrom a@example.org\n'
               'syslog off\n' % srv.port)
        box = s.root_outbox()
        os.makedirs(box, exist_ok=True)
        os.chmod(box, 0o777)
        planted = os.path.join(box, '20200101T000000Z-00000001')
        with open(planted, 'wb') as f:
            f.write(b'smtpsend-outbox: 1\ncreated: 1\nattempts: 0\n'
                    b'last-attempt: 0\nstate: temporary\nexit: 75\nerror: x\n'
                    b'sender: a@example.org\nrecipient: evil@example.net\n'
                    b'body-8bitmime: no\neight-bit: no\nlongest-line: 2\n'
                    b'header-bytes: 0\nsize: 4\n\n\r\nx\r\n')
        r = s.run(['-q'], config=cfg)
        expect(r.rc not in (0,), 'a 0777 spool is refused %r' % r)
        expect_in('not a directory of this user closed to others', r.err,
                  'says why')
        r = s.run(['-bp'], config=cfg)
        expect(r.rc != 0 and b'evil' not in r.out, '-bp refuses it too %r' % r)
        os.chmod(box, 0o700)
        os.chown(planted, OTHER, OTHER)
        r = s.run(['-q'], config=cfg)
        expect_in('owned by another user', r.err, 'an entry not ours %r' % r)
        expect(os.path.exists(planted), 'left for a person to look at')
    srv.stop()
    expect_eq(len(srv.sessions), 0, 'nothing was sent')


# ---------------------------------------------------------------- issue 13 --

@test
def host_without_a_dot_never_qualifies_with_it():
    need_ns()
    srv = server(tls=None)
    cfg = 'host 127.0.0.1\nport %d\ntls off\nsyslog off\n' % srv.port
    with System(hostname='vm', mailname='') as s:
        r = s.run(['root'], stdin=b'From: root (Cron Daemon)\nTo: root\n\nx\n',
                  config=cfg + 'outbox %s/ob\n' % s.dir)
        expect_eq(r.rc, 78, 'no mail domain: exit 78 %r' % r)
        expect_in('set maildomain', r.err, 'names the fix')
        expect_eq(len(srv.sessions), 0, 'before any connection')
        r = s.run(['-f', 'root@vm', 'root', 'ops@VM'],
                  stdin=b'From: Cron <root@vm>\nTo: root\n\nx\n',
                  config=cfg + 'maildomain example.org\n')
        expect_eq(r.rc, 0, 'sent %r' % r)
        m = srv.sessions[-1].messages[0]
        expect_eq(m['mail_from'], 'root@example.org', 'name@shorthost local')
        expect_eq(m['rcpts'], ['root@example.org', 'ops@example.org'],
                  'recipients qualified')
        expect_in(b'From: Cron <root@example.org>', m['data'], 'From header')
        ehlo = [c for c in srv.sessions[-1].commands if c.startswith('EHLO')]
        expect_eq(ehlo[0], 'EHLO [127.0.0.1]', 'EHLO: the address literal')
    # The host: an MTA wrote its dot-less name into /etc/mailname.
    with System(hostname='vm', mailname='vm') as s:
        before = len(srv.sessions)
        r = s.run(['root'], stdin=MAIL, config=cfg)
        expect_eq(r.rc, 78, 'a dot-less /etc/mailname is no domain %r' % r)
        expect_in("/etc/mailname holds 'vm', which has no dot", r.err,
                  'says why, without calling it missing')
        expect_eq(len(srv.sessions), before, 'before any connection')
    with System(hostname='vm', mailname='example.net') as s:
        r = s.run(['root'], stdin=MAIL, config=cfg)
        expect_eq(r.rc, 0, '/etc/mailname %r' % r)
        expect_eq(srv.sessions[-1].messages[0]['rcpts'], ['root@example.net'],
                  'qualified with /etc/mailname')
    with System(hostname='vm', mailname='') as s:
        r = s.run(['root'], stdin=MAIL, config=cfg + 'from me@from.example\n')
        expect_eq(r.rc, 0, "the account's from %r" % r)
        expect_eq(srv.sessions[-1].messages[0]['rcpts'],
                  ['root@from.example'], "qualified with from's domain")
    srv.stop()


# ---------------------------------------------------------------- issue 14 --

def md_entries(s):
    return sorted(n for n in os.listdir(s.maildrop()) if not n.startswith('.'))


@test
def service_account_without_a_home_uses_the_maildrop():
    need_ns()
    srv = server(tls=None)
    down = server(tls=None)
    down.stop()     # a port nobody listens on: the smarthost is down
    plain = ('host 127.0.0.1\nport %d\ntls off\nsyslog off\n'
             'maildomain example.org\n')
    with System(etc={'smtpsend.conf': (plain % down.port, 0o644)}) as s:
        nohome = os.path.join(s.dir, 'var-www')
        os.makedirs(nohome)          # root's, not writable by www-data
        r = s.run(['-i', 'webmaster@example.net'], stdin=MAIL, uid=WWW,
                  home=nohome, argv0='sendmail')
        expect_eq(r.rc, 0, 'accepted for delivery, as sendmail %r' % r)
        expect_in('system maildrop', r.err, 'says where')
        names = md_entries(s)
        expect_eq(len(names), 1, 'one entry')
        st = os.stat(os.path.join(s.maildrop(), names[0]))
        expect_eq((st.st_uid, stat.S_IMODE(st.st_mode)), (WWW, 0o600),
                  "the submitter's, 0600")
        r = s.run(['--remove', names[0]], uid=OTHER)
        expect(r.rc != 0 and md_entries(s) == names,
               'another user cannot remove it %r' % r)
        r = s.run([], uid=OTHER, shell='cat %s/%s' % ('/var/spool/smtpsend/'
                                                     'maildrop', names[0]))
        expect(r.rc != 0 and b'body' not in r.out, 'nor read it')
        s.etc['smtpsend.conf'] = (plain % srv.port, 0o644)
        r = s.run(['-q'])
        expect_eq(r.rc, 0, "root's -q %r" % r)
        expect_eq(md_entries(s), [], 'picked up')
        r = s.run(['-q'])
    srv.stop()
    msgs = [m for x in srv.sessions for m in x.messages]
    expect_eq(len(msgs), 1, 'delivered exactly once')
    expect_eq(msgs[0]['rcpts'], ['webmaster@example.net'], 'recipient')
    expect_eq(msgs[0]['mail_from'], 'www-data@example.org',
              "qualified with the system account's maildomain")
    expect_in(b'from userid 33', msgs[0]['data'], 'Received names the submitter')


@test
def a_user_who_cannot_read_the_credentials_uses_the_maildrop():
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port, mode=0o600)}) as s:
        r = s.run(['-t'], stdin=b'To: root\nSubject: *** SECURITY information'
                  b' ***\n\nuser NOT in sudoers\n', uid=WWW)
        expect_eq(r.rc, 75, 'kept, as smtpsend: 75 %r' % r)
        # The normal path for such a user: said calmly (CONTRACT 7).
        expect_in('queued in the system maildrop as', r.err, 'where')
        expect_not_in('Permission denied', r.err, 'no alarm')
        expect_eq(len(srv.sessions), 0, 'no connection without credentials')
        r = s.run(['-q'])
        expect_eq(r.rc, 0, "root's -q %r" % r)
    srv.stop()
    msgs = [m for x in srv.sessions for m in x.messages]
    expect_eq(len(msgs), 1, 'delivered once')
    expect_eq(msgs[0]['rcpts'], ['root@example.org'], 'root qualified')
    expect(srv.sessions[0].auth is not None, 'with the system credentials')


def hostile(s, name, data=b'', uid=WWW):
    return s.leave(name, data, uid)


ENTRY = (b'smtpsend-outbox: 1\ncreated: 1\nattempts: 0\nlast-attempt: 0\n'
         b'state: temporary\nexit: 75\nerror: x\nsender: www-data\n'
         b'recipient: a@example.net\nbody-8bitmime: no\neight-bit: no\n'
         b'longest-line: 10\nheader-bytes: 14\nsize: 18\n\nSubject: s\r\n\r\nhi\r\n')


@test
def hostile_maildrop_entries_are_refused_without_harm():
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        secret = os.path.join(s.dir, 'secret')
        with open(secret, 'w') as f:
            f.write('root-only\n')
        os.chmod(secret, 0o600)
        md = s.maildrop()
        os.symlink(secret, os.path.join(md, '20200101T000000Z-0000000a'))
        os.link(hostile(s, 'x', ENTRY), os.path.join(md,
                                                     '20200101T000000Z-0000000b'))
        os.unlink(os.path.join(md, 'x'))
        os.link(os.path.join(md, '20200101T000000Z-0000000b'),
                os.path.join(s.dir, 'second-link'))
        os.mkfifo(os.path.join(md, '20200101T000000Z-0000000c'))
        hostile(s, '20200101T000000Z-0000000d', ENTRY[:-5])
        big = ENTRY.replace(b'size: 18', b'size: %d' % (18 + 65 * 2 ** 20))
        p = hostile(s, '20200101T000000Z-0000000e', big)
        with open(p, 'ab') as f:
            f.truncate(len(big) + 65 * 2 ** 20)
        hostile(s, '20200101T000000Z-0000000f',
                ENTRY.replace(b'recipient: a@example.net',
                              b'recipient: a@example.net\rRCPT TO:<x@y>'))
        good = hostile(s, '20200101T000000Z-00000010', ENTRY)
        t0 = time.monotonic()
        r = s.run(['-q'], timeout=60)
        expect(time.monotonic() - t0 < 30, 'no hang on the FIFO')
        expect(not os.path.exists(good), 'the good entry was picked up %r' % r)
        left = sorted(os.listdir(md))
        for suffix in 'abcdef':
            name = '20200101T000000Z-0000000' + suffix
            expect(name not in left, 'hostile entry %s set aside' % name)
        expect_in('.damaged-20200101T000000Z-0000000d', left, 'kept for a person')
    srv.stop()
    msgs = [m for x in srv.sessions for m in x.messages]
    expect_eq(len(msgs), 1, 'only the good entry was sent')
    expect_not_in(b'root-only', b''.join(m['data'] for m in msgs),
                  'the symlinked file was never read')
    expect_eq(msgs[0]['rcpts'], ['a@example.net'], 'no injected recipient')


@test
def wrong_maildrop_mode_is_refused():
    need_ns()
    with System(etc={'smtpsend.conf': system_conf(1)}) as s:
        os.chmod(s.maildrop(), 0o1777)
        r = s.run(['-q'])
        expect(r.rc != 0, 'refused %r' % r)
        expect_in('mode 1733', r.err, 'says what is wrong')


@test
def machine_left_as_it_was():
    expect_eq(snapshot(), BEFORE, '/etc/smtpsend.conf, /etc/mailname, '
              '/var/spool/smtpsend and the host name unchanged')


if __name__ == '__main__':
    main()
