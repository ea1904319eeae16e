#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A partly delivered message (CONTRACT sections 5 and 7, review s27 M3 and
M5): the recipients that got it never get it again from -q, whatever the
entry's update meets (a temporary file a crash left, a directory that takes
no new file), and the deferred ones are kept, in the maildrop when the
user's own outbox cannot take them.

Each test runs in a private mount namespace (tests/ns.py) as another user,
against the scripted server on 127.0.0.1."""
import os

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import certs, server
from ns import System, available

NOBODY = 65534
WWW = 33
EID = '20200101T000000Z-000000bb'
RCPT = {'RCPT': ['250 ok', '451 4.7.1 try later']}


def entry(sender, rcpts, state):
    """An outbox entry as smtpsend writes them (test_pickup.py's)."""
    body = b'Subject: s\r\n\r\nhi\r\n'
    return (b'smtpsend-outbox: 1\ncreated: 1\nattempts: 0\nlast-attempt: 0\n'
            b'state: ' + state + b'\nexit: 75\nerror: x\nsender: ' + sender +
            b'\n' + b''.join(b'recipient: ' + r + b'\n' for r in rcpts) +
            b'body-8bitmime: no\neight-bit: no\nlongest-line: 10\n'
            b'header-bytes: 14\nsize: %d\n\n' % len(body) + body)


def need_ns():
    why = available()
    if why:
        skip(why)


def readable_conf(port):
    """No credentials: anyone may read it (a smarthost that relays)."""
    return ('defaults\nsyslog off\ntimeout 10\naccount default\n'
            'host 127.0.0.1\nport %d\ntls_trust_file %s\n'
            'maildomain example.org\npartial_delivery on\n'
            % (port, certs().ca), 0o644)


def rcpts(srv):
    srv.wait(count=len(srv.sessions), timeout=5)
    return [m['rcpts'] for x in list(srv.sessions) for m in x.messages]


def outbox(s, uid, data, mode=0o700):
    """The user's outbox with one entry for a@ and b@: its path."""
    home = s.home(uid)
    box = home
    for part in ('.local', 'state', 'smtpsend', 'outbox'):
        box = os.path.join(box, part)
        os.makedirs(box, exist_ok=True)
        os.chown(box, uid, uid)
        os.chmod(box, 0o700)
    path = os.path.join(box, EID)
    with open(path, 'wb') as f:
        f.write(data)
    os.chown(path, uid, uid)
    os.chmod(path, 0o600)
    os.chmod(box, mode)
    return box


def state(path):
    with open(path, 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].decode()
    return [l.split(': ', 1)[1] for l in head.splitlines()
            if l.startswith('state: ')]


def two(state=b'temporary'):
    return entry(sender=b'me@example.org', state=state,
                 rcpts=(b'a@example.net', b'b@example.net'))


@test
def a_stale_temporary_file_does_not_resend_to_the_delivered():
    """M3: a .tmp-ID a crash left made every update of the entry fail
    (O_EXCL), and each -q sent it again to a@, who had it."""
    need_ns()
    srv = server(replies=RCPT)
    with System(etc={'smtpsend.conf': readable_conf(srv.port)}) as s:
        box = outbox(s, NOBODY, two())
        stale = os.path.join(box, '.tmp-' + EID)
        with open(stale, 'wb') as f:
            f.write(b'left by a crash\n')
        os.chown(stale, NOBODY, NOBODY)
        r1 = s.run(['-q'], uid=NOBODY)
        r2 = s.run(['-q'], uid=NOBODY)
        expect_not_in('could not record', r1.err + r2.err, 'recorded %r %r'
                      % (r1, r2))
    srv.stop()
    expect_eq(rcpts(srv), [['a@example.net'], ['b@example.net']],
              'each recipient once')


@test
def an_entry_that_cannot_be_rewritten_is_held_not_resent():
    """M3: an update that fails (here the directory takes no new file, as a
    full disk) left the entry listing a@ too, and the next -q sent it to
    a@ again. It is held for a person (permanent) in place, whatever state
    it was in."""
    need_ns()
    for was in (b'temporary', b'possibly-delivered'):
        srv = server(replies=RCPT)
        with System(etc={'smtpsend.conf': readable_conf(srv.port)}) as s:
            box = outbox(s, NOBODY, two(was), mode=0o500)
            r1 = s.run(['-q'], uid=NOBODY)
            expect_in('held for a person', r1.err, '%s: said %r' % (was, r1))
            expect_in('b@example.net did not', r1.err, 'who did not get it')
            r2 = s.run(['-q'], uid=NOBODY)
            expect_eq(state(os.path.join(box, EID)), ['permanent'],
                      '%s: held' % was)
            bp = s.run(['-bp'], uid=NOBODY)
            expect_in(EID + '!', bp.out.decode(), '%s: -bp reads it %r'
                      % (was, bp))
            expect_not_in('damaged', bp.err + r2.err, 'not damaged')
        srv.stop()
        expect_eq(rcpts(srv), [['a@example.net']], '%s: a@ once, nothing '
                  'sent again on its own' % was)


def maildrop_entries(s):
    return sorted(n for n in os.listdir(s.maildrop()) if not n.startswith('.'))


@test
def the_deferred_go_to_the_maildrop_when_the_outbox_cannot_take_them():
    """M5: for www-data with an unwritable home, the recipients refused with
    4xx after the others got it were lost ('message NOT saved', exit 75);
    they go to the maildrop, alone, and root's -q sends them there. The exit
    is that of a kept message: 75 as smtpsend, 0 as sendmail."""
    need_ns()
    for argv0, status in ((None, 75), ('sendmail', 0)):
        srv = server(replies=RCPT)
        with System(etc={'smtpsend.conf': readable_conf(srv.port)}) as s:
            home = os.path.join(s.dir, 'www')     # root's: www-data's /var/www
            os.makedirs(home, mode=0o755)
            r = s.run(['a@example.net', 'b@example.net'], uid=WWW, home=home,
                      stdin=b'Subject: partly\n\nhi\n', argv0=argv0)
            expect_eq(r.rc, status, '%s: the exit of a kept message %r'
                      % (argv0, r))
            expect_in('for the deferred recipients; queued in the system '
                      'maildrop as', r.err, 'said %r' % r.err)
            expect_not_in('NOT saved', r.err, 'saved')
            kept = maildrop_entries(s)
            expect_eq(len(kept), 1, 'one maildrop entry %r' % kept)
            with open(os.path.join(s.maildrop(), kept[0]), 'rb') as f:
                text = f.read()
            expect_in(b'recipient: b@example.net\n', text, 'the deferred')
            expect_not_in(b'recipient: a@example.net\n', text,
                          'not the delivered one')
            q = s.run(['-q'])
            expect_eq(q.rc, 0, "root's -q %r" % q)
        srv.stop()
        expect_eq(rcpts(srv), [['a@example.net'], ['b@example.net']],
                  '%s: each recipient once' % argv0)


@test
def the_deferred_kept_in_the_outbox_are_said_as_any_kept_message():
    """M5: the line says deferred:, where, and that -q sends it; as
    sendmail the exit is 0, as any message kept for a temporary failure."""
    need_ns()
    srv = server(replies=RCPT)
    with System(etc={'smtpsend.conf': readable_conf(srv.port)}) as s:
        r = s.run(['a@example.net', 'b@example.net'], uid=NOBODY,
                  stdin=b'Subject: partly\n\nhi\n', argv0='sendmail')
        expect_eq(r.rc, 0, 'kept, as sendmail %r' % r)
        expect(r.err.startswith('smtpsend: deferred: recipient refused '
                                '(delivered to the others)'), 'said %r' % r.err)
        expect_in('; for the deferred recipients: message kept in the outbox',
                  r.err, 'where')
        expect_in('smtpsend -q sends it', r.err, 'what next')
        expect_eq(maildrop_entries(s), [], 'not in the maildrop')
    srv.stop()


if __name__ == '__main__':
    main()
