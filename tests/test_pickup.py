#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Root's maildrop pickup against hostile entries (CONTRACT sections 7 and 8,
issue 22: H1, M1, M2, L1, L2, L5), each in a private mount namespace
(tests/ns.py) with entries owned by another user. An entry that is not a
complete, sendable message is set aside; no entry crashes or stalls the run,
or keeps the others and root's own outbox from going."""
import os
import shutil
import subprocess
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import certs, server
from ns import System, available

WWW = 33


def need_ns():
    why = available()
    if why:
        skip(why)


def system_conf(port, extra=''):
    return ('defaults\nsyslog off\ntimeout 10\n'
            'account default\nhost 127.0.0.1\nport %d\nuser tester\n'
            'password syspw\ntls_trust_file %s\nmaildomain example.org\n%s'
            % (port, certs().ca, extra), 0o600)


def entry(sender=b'www-data', rcpts=(b'a@example.net',), state=b'temporary',
          created=b'1', last=b'0', body=b'Subject: s\r\n\r\nhi\r\n'):
    head = (b'smtpsend-outbox: 1\ncreated: ' + created + b'\nattempts: 0\n'
            b'last-attempt: ' + last + b'\nstate: ' + state + b'\nexit: 75\n'
            b'error: x\n')
    if sender is not None:
        head += b'sender: ' + sender + b'\n'
    head += b''.join(b'recipient: ' + r + b'\n' for r in rcpts)
    hb = body.index(b'\r\n\r\n') + 4
    return head + (b'body-8bitmime: no\neight-bit: no\nlongest-line: 10\n'
                   b'header-bytes: %d\nsize: %d\n\n' % (hb, len(body))) + body


def drop(s, name, data, uid=WWW):
    return s.leave(name, data, uid)


def roots_own(s):
    """A message root kept itself, in root's outbox: it goes too."""
    own = os.path.join(s.root_outbox(), '20200101T000000Z-000000aa')
    with open(own, 'wb') as f:
        f.write(entry(sender=b'root@example.org', rcpts=(b'own@example.net',)))
    os.chmod(own, 0o600)


def left(s):
    return sorted(os.listdir(s.maildrop()))


def delivered(srv):
    return [m for x in srv.sessions for m in x.messages]


@test
def a_permanent_entry_that_lands_during_a_run_stays_kept():
    """Root's -q sends what the maildrop brings during the run; it reused
    the path of a person's -qI ID for that, which sends a copy kept for a
    permanent failure: such a copy was sent again on its own."""
    need_ns()
    landed = []

    def land(conn, m):
        if not landed:      # while root's own entry is being sent
            landed.append(drop(s, 'perm1', entry(
                rcpts=(b'perm@example.net',), state=b'permanent')))
            landed.append(drop(s, 'temp1', entry(
                rcpts=(b'temp@example.net',))))
    srv = server(users={'tester': 'syspw'}, on_message=land)
    try:
        with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
            roots_own(s)
            r = s.run(['-q', '--due'])
            srv.wait()
            got = sorted(r for m in delivered(srv) for r in m['rcpts'])
            expect_eq(len(landed), 2, 'the entries landed during the run')
            expect_eq(got, ['own@example.net', 'temp@example.net'],
                      'the temporary one sent, the permanent one not %r' % r)
            expect_eq([n for n in os.listdir(s.root_outbox())
                       if n != 'maildrop' and not n.startswith('.')], ['perm1'],
                      'the permanent copy kept for a person')
            expect_eq(len(srv.sessions), 2,
                      'one connection for what landed %r' % srv.sessions)
    finally:
        srv.stop()


@test
def maildrop_mail_goes_with_the_system_file_alone():
    """The pickup checks a user's entry with the system file, and root's -q
    then sent it with root's own user file too: its account default, its
    smarthost and credentials. Root's own mail keeps root's file."""
    need_ns()
    sys_srv = server(users={'tester': 'syspw'})
    root_srv = server(users={'rootuser': 'rootpw'})
    try:
        with System(etc={'smtpsend.conf': system_conf(sys_srv.port)}) as s:
            home = os.path.join(s.dir, 'roothome')
            os.makedirs(os.path.join(home, '.config', 'smtpsend'))
            path = os.path.join(home, '.config', 'smtpsend', 'config')
            with open(path, 'w') as f:
                f.write('account default\nhost 127.0.0.1\nport %d\n'
                        'user rootuser\npassword rootpw\ntls_trust_file %s\n'
                        'from root-personal@example.com\nsyslog off\n'
                        % (root_srv.port, certs().ca))
            os.chmod(path, 0o600)
            drop(s, 'x1', entry(rcpts=(b'victim@example.net',)))
            drop(s, 'x2', entry(rcpts=(b'second@example.net',)))
            roots_own(s)
            r = s.run(['-q', '--due'], home=home)
            sys_srv.wait()
            root_srv.wait()
            expect_eq(r.rc, 0, 'the run %r' % r)
            by_sys = sorted(x for m in delivered(sys_srv) for x in m['rcpts'])
            by_root = sorted(x for m in delivered(root_srv)
                             for x in m['rcpts'])
            expect_eq(by_sys, ['second@example.net', 'victim@example.net'],
                      "the users' mail by the system smarthost %r" % r)
            expect_eq(by_root, ['own@example.net'],
                      "root's own by root's file, nothing else %r" % r)
            expect_eq(len(sys_srv.sessions), 1, 'one connection for both')
            r = s.run(['-bp'], home=home)
            expect_eq(r.rc, 0, '-bp %r' % r)
    finally:
        sys_srv.stop()
        root_srv.stop()


@test
def a_typo_in_roots_own_file_stops_only_roots_mail():
    """Root's -q read root's user file before the pickup: one typo there
    left every user's mail in the maildrop."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    try:
        with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
            home = os.path.join(s.dir, 'roothome')
            os.makedirs(os.path.join(home, '.config', 'smtpsend'))
            with open(os.path.join(home, '.config', 'smtpsend', 'config'),
                      'w') as f:
                f.write('account default\nhots 127.0.0.1\n')
            drop(s, 'x1', entry(rcpts=(b'user@example.net',)))
            roots_own(s)
            r = s.run(['-q', '--due'], home=home)
            srv.wait()
            expect_eq(r.rc, 78, "root's file is broken %r" % r)
            expect_in('unknown key hots', r.err, 'says what')
            got = sorted(x for m in delivered(srv) for x in m['rcpts'])
            expect_eq(got, ['user@example.net'], "the user's mail went %r" % r)
            expect_in('20200101T000000Z-000000aa', os.listdir(s.root_outbox()),
                      "root's own waits for the fix")
            expect_eq(left(s), [], 'nothing left in the maildrop')
    finally:
        srv.stop()


@test
def an_entry_without_envelope_neither_crashes_nor_blocks_the_run():
    """H1: a 'permanent' entry with no sender and no recipient, named to sort
    first, used to kill root's -q with SIGSEGV on every run."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        drop(s, '0', b'smtpsend-outbox: 1\nstate: permanent\nheader-bytes: 12'
             b'\nsize: 21\n\nSubject: x\r\n\r\nhello\r\n')
        drop(s, '1', entry(sender=None, state=b'permanent'))
        drop(s, '2', entry(rcpts=(), state=b'permanent'))
        drop(s, '3', entry(rcpts=(b'good@example.net',)))
        # Root's own kept mail goes too.
        roots_own(s)
        r = s.run(['-q', '--due'])
        expect(r.rc >= 0 and r.rc != 139, 'no crash %r' % r)
        for name in ('0', '1', '2'):
            expect_not_in(name, left(s), '%s is out of the way' % name)
            expect_in('.damaged-' + name, left(s), '%s set aside' % name)
        expect_in('no sender', r.err, 'says why')
        expect_in('0 recipients', r.err, 'says why')
        expect_eq([n for n in os.listdir(s.root_outbox())
                   if n.startswith('2')], [], "nothing left in root's outbox")
    srv.stop()
    expect_eq(sorted(m['rcpts'][0] for m in delivered(srv)),
              ['good@example.net', 'own@example.net'],
              "the good entry and root's own were sent")


@test
def a_huge_entry_is_refused_without_reading_it():
    """M1: the size limit is checked before and while reading, never after
    reading everything; the text before the message is bounded and searched
    once (it took 31.8 s for 128 MiB, 488 s for 256 MiB)."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        p = drop(s, '1', entry().replace(b'size: 18', b'size: %d'
                                          % (18 + 256 * 2 ** 20)))
        with open(p, 'ab') as f:
            f.truncate(os.path.getsize(p) + 256 * 2 ** 20)   # sparse
        drop(s, '2', b'smtpsend-outbox: 1\n' + b'x' * (40 * 2 ** 20))
        drop(s, '3', entry(rcpts=(b'good@example.net',)))
        t0 = time.monotonic()
        r = s.run(['-q'], timeout=120)
        took = time.monotonic() - t0
        expect(took < 15, 'no stall: %.1f s' % took)
        expect_in('.damaged-1', left(s), 'the huge entry is set aside')
        expect_in('.damaged-2', left(s), 'the endless header is set aside')
        expect_in('size limit', r.err, 'says why')
    srv.stop()
    expect_eq([m['rcpts'] for m in delivered(srv)], [['good@example.net']],
              'the good entry was sent')


@test
def recipients_are_bounded_as_on_the_direct_path():
    """M1: 20,000 recipients were all delivered, past the direct path's
    10,000; 10,000 are picked up, in linear time."""
    need_ns()
    down = server(tls=None)
    down.stop()
    with System(etc={'smtpsend.conf': system_conf(down.port)}) as s:
        many = tuple(b'r%d@example.net' % i for i in range(20000))
        drop(s, '1', entry(rcpts=many))
        drop(s, '2', entry(rcpts=many[:10000]))
        t0 = time.monotonic()
        r = s.run(['-q'], timeout=120)
        took = time.monotonic() - t0
        expect_in('.damaged-1', left(s), '20,000 recipients set aside %r' % r)
        expect_in('20000 recipients', r.err, 'says why')
        expect_not_in('2', left(s), '10,000 are picked up')
        kept = [n for n in os.listdir(s.root_outbox()) if n.startswith('2')]
        expect_eq(len(kept), 1, "kept in root's outbox (smarthost down)")
        expect(took < 10, 'linear: %.1f s' % took)


@test
def a_set_aside_that_cannot_rename_still_moves_the_entry():
    """M2: a user-made directory .damaged-ID made the rename fail, and the
    entry was read again on every run."""
    need_ns()
    with System(etc={'smtpsend.conf': system_conf(1)}) as s:
        drop(s, '1', entry(sender=None))
        trap = os.path.join(s.maildrop(), '.damaged-1')
        os.makedirs(trap + '/x')
        os.chown(trap, WWW, WWW)
        r = s.run(['-q'])
        expect_not_in('1', left(s), 'moved out of the way %r' % r)
        expect(any(n.startswith('.damaged-1-') for n in left(s)),
               'under another name: %r' % left(s))
        r = s.run(['-q'])
        expect_not_in('entry 1', r.err, 'not read again %r' % r)


@test
def numbers_out_of_range_are_damage_not_overflow():
    """L5: times and sizes near LLONG_MAX overflowed signed arithmetic
    (UBSan); the backoff wrapped round and made the entry due."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        drop(s, '1', entry(last=b'9223372036854775807',
                           created=b'9223372036854775807'))
        drop(s, '2', entry().replace(b'size: 18', b'size: 9223372036854775807'))
        r = s.run(['-q', '--due'])
        expect_eq(sorted(n for n in left(s) if not n.startswith('.')), [],
                  'nothing left %r' % r)
        expect_in('.damaged-1', left(s), 'a time past 9999 is damage')
        expect_in('.damaged-2', left(s), 'an absurd size is damage')
    srv.stop()
    expect_eq(delivered(srv), [], 'nothing sent')


@test
def a_from_pattern_without_override_holds_for_maildrop_entries():
    """L2: allow_from_override off with from *@domain: root sent MAIL
    FROM:<ceo@bank.example> for an unprivileged user."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    conf = system_conf(srv.port, 'from *@example.org\n'
                       'allow_from_override off\n')
    with System(etc={'smtpsend.conf': conf}) as s:
        drop(s, '1', entry(sender=b'ceo@bank.example'))
        r = s.run(['-q'])
        expect_eq(r.rc, 0, 'sent %r' % r)
    srv.stop()
    expect_eq([m['mail_from'] for m in delivered(srv)],
              ['www-data@example.org'], 'the submitter, not the entry')


@test
def roots_copy_is_what_is_sent():
    """L1: root checks and sends its own copy, never the user's file again;
    an entry root's -q would report as damaged never reaches its outbox."""
    need_ns()
    down = server(tls=None)
    down.stop()
    with System(etc={'smtpsend.conf': system_conf(down.port)}) as s:
        drop(s, '1', entry(rcpts=(), state=b'permanent'))
        drop(s, '2', entry(rcpts=(b'b@example.net',)))
        r = s.run(['-q'])
        r = s.run(['-bp'])
        expect_not_in('damaged', r.err + r.out.decode(), 'nothing damaged '
                      "in root's outbox %r" % r)
        expect_in('b@example.net', r.out.decode(), 'the good one is kept')
        expect_not_in('permanent', r.out.decode(), 'the empty one is not')


@test
def an_entry_moved_before_a_crash_is_not_taken_twice():
    """s27 M2: a run that saved root's copy and stopped (a crash, a kill)
    before removing the user's entry left it in both places; the next run
    took it again under a new id and both were sent."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    eid = '20260101T000000Z-0000abcd'
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        e = entry(rcpts=(b'dup@example.net',))
        drop(s, eid, e)
        own = os.path.join(s.root_outbox(), eid)
        with open(own, 'wb') as f:
            f.write(e)
        os.chmod(own, 0o600)
        r = s.run(['-q', '--due'])
        expect_eq(r.rc, 0, 'sent %r' % r)
        expect_in('picked up before', r.err, 'said %r' % r.err)
        r = s.run(['-q', '--due'])
        expect_eq(left(s), [], 'the maildrop entry is gone')
        expect_eq([n for n in os.listdir(s.root_outbox())
                   if n.startswith('2')], [], "root's outbox is empty")
    srv.stop()
    expect_eq([m['rcpts'] for m in delivered(srv)], [['dup@example.net']],
              'sent once')


@test
def an_entry_that_cannot_be_removed_is_not_sent_again_and_again():
    """s27 M2: unlinkat's result was ignored; an entry that stays in the
    maildrop (here immutable) was picked up and sent by every run."""
    need_ns()
    srv = server(users={'tester': 'syspw'})
    with System(etc={'smtpsend.conf': system_conf(srv.port)}) as s:
        p = drop(s, '20260101T000000Z-0000abce',
                 entry(rcpts=(b'stuck@example.net',)))
        if not shutil.which('chattr'):
            skip('no chattr (e2fsprogs, which tests/deps.sh installs)')
        if subprocess.run(['chattr', '+i', p]).returncode != 0:
            skip('chattr +i is not supported here')
        try:
            r1 = s.run(['-q'])
            r2 = s.run(['-q'])
        finally:
            subprocess.run(['chattr', '-i', p])
        expect_in('cannot be removed', r1.err, 'said %r' % r1)
        expect_in('20260101T000000Z-0000abce', left(s), 'it waits there')
        expect_eq([n for n in os.listdir(s.root_outbox())
                   if n.startswith('2')], [], "no copy left in root's outbox")
    srv.stop()
    expect_eq(delivered(srv), [], 'never sent, so never twice %r %r'
              % (r1, r2))


if __name__ == '__main__':
    main()
