#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Nothing is lost (CONTRACT section 7): the outbox, -q, -bp and signals."""
import os
import re
import signal
import stat
import subprocess
import tempfile
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import run, account, server, write_config, BINARY

MAIL = b'Subject: keep me\n\nHello.\n'


def setup(**kw):
    box = os.path.join(tempfile.mkdtemp(prefix='smtpsend-outbox-'), 'outbox')
    srv = server(**kw)
    return srv, box, account(srv.port, extra='outbox %s\n' % box)


def entries(box):
    return sorted(n for n in os.listdir(box) if not n.startswith('.')) \
        if os.path.isdir(box) else []


def entry_text(box, name):
    with open(os.path.join(box, name), 'rb') as f:
        return f.read()


def backdate(box):
    """Pretend the last attempt was long ago, so -q does not wait."""
    for name in entries(box):
        path = os.path.join(box, name)
        data = re.sub(rb'last-attempt: \d+', b'last-attempt: 0',
                      entry_text(box, name))
        with open(path, 'wb') as f:
            f.write(data)


@test
def temporary_failure_kept_then_delivered_by_q():
    srv, box, cfg = setup(replies={'RCPT': '450 4.2.0 greylisted'})
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    expect_eq(r.rc, 75, 'exit status %r' % r)
    expect_eq(r.err.count('\n'), 1, 'one line: %r' % r.err)
    names = entries(box)
    expect_eq(len(names), 1, 'one entry')
    expect_in('greylisted; message kept in the outbox as %s/%s'
              % (box, names[0]), r.err, 'stderr names the entry')
    expect_eq(stat.S_IMODE(os.stat(box).st_mode), 0o700, 'outbox mode')
    path = os.path.join(box, names[0])
    expect_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, 'entry mode')
    text = entry_text(box, names[0])
    for line in (b'state: temporary', b'exit: 75', b'attempts: 1',
                 b'sender: sender@example.org', b'recipient: a@example.net',
                 b'account: default'):
        expect_in(line + b'\n', text, 'entry field')
    expect(text.endswith(b'\r\n\r\nHello.\r\n'), 'exact message bytes')
    r = run(['-bp'], config=cfg)
    expect_eq(r.rc, 0, '-bp exit')
    expect_in(names[0].encode(), r.out, '-bp lists the id')
    lines = r.out.split(b'\n')
    expect_eq(lines[0], b'-Queue ID-  --Size-- ----Arrival Time---- '
              b'-Sender/Recipient-------', 'Postfix mailq header')
    expect(re.match(rb'^%s  +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  '
                    rb'sender@example.org$' % names[0].encode(), lines[1]),
           'id, size, arrival time, sender: %r' % lines[1])
    expect(lines[2].startswith(b'(temporary, 1 attempt, next try ') and
           b'greylisted' in lines[2], 'state and last error: %r' % lines[2])
    expect_eq(lines[3], b' ' * 41 + b'a@example.net', 'recipient indented')
    expect_eq(lines[5], b'-- 1 Kbytes in 1 Request.', 'the summary line')
    srv, _, _ = setup()
    cfg = account(srv.port, extra='outbox %s\n' % box)
    r = run(['-q', '--due'], config=cfg)
    expect_eq(r.rc, 75, '--due: tried a moment ago, left for later %r' % r)
    expect_eq(len(srv.sessions), 0, 'backoff: no connection')
    r = run(['-q'], config=cfg)
    srv.wait()
    srv.stop()
    expect_eq(r.rc, 0, '-q delivered %r' % r)
    expect_eq(entries(box), [], 'entry removed')
    m = srv.sessions[0].messages
    expect_eq(len(m), 1, 'delivered once')
    expect(m[0]['data'].endswith(b'\r\n\r\nHello.\r\n'), 'same bytes')
    r = run(['-bp'], config=cfg)
    expect_eq(r.out, b'Mail queue is empty\n', 'empty')
    r = run([], config=cfg, argv0='mailq')
    expect_eq(r.out, b'Mail queue is empty\n', 'mailq')


@test
def permanent_failure_kept_not_retried():
    srv, box, cfg = setup(replies={'RCPT': '550 5.1.1 no such user'})
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    expect_eq(r.rc, 67, 'exit %r' % r)
    expect_in(b'state: permanent\n', entry_text(box, entries(box)[0]), 'marked')
    srv, _, _ = setup()
    backdate(box)
    r = run(['-q'], config=account(srv.port, extra='outbox %s\n' % box))
    srv.stop()
    expect_eq(r.rc, 0, 'nothing left for later %r' % r)
    expect_eq(len(srv.sessions), 0, 'not retried')
    expect_eq(len(entries(box)), 1, 'still kept')


@test
def lost_after_dot_is_possibly_delivered():
    srv, box, cfg = setup(drop_at='BDAT')
    r = run(['a@example.net'], stdin=MAIL, config=cfg)
    srv.stop()
    expect_eq(r.rc, 75, 'exit %r' % r)
    expect_in(b'state: possibly-delivered\n', entry_text(box, entries(box)[0]),
              'marked')


@test
def bad_input_and_bad_config_are_kept():
    srv, box, cfg = setup()
    srv.stop()
    r = run(['a@example.net'], stdin=b'Subject: x\n\nnul\x00byte\n', config=cfg)
    expect_eq(r.rc, 65, 'NUL %r' % r)
    names = entries(box)
    expect_eq(len(names), 1, 'kept')
    text = entry_text(box, names[0])
    expect_in(b'state: permanent\n', text, 'permanent')
    expect(text.endswith(b'nul\x00byte\r\n'), 'bytes kept exactly')
    r = run(['a@example.net'], stdin=MAIL, config=cfg + 'bogus_key x\n')
    expect_eq(r.rc, 78, 'config error %r' % r)
    m = re.search(r'kept in the outbox as ([^\s;]+)', r.err)
    expect(m is not None, 'kept although the config is broken: %r' % r.err)
    if m and not m.group(1).startswith(box) and os.path.exists(m.group(1)):
        os.unlink(m.group(1))   # the default outbox (the key was unusable)


@test
def usage_errors_keep_nothing():
    srv, box, cfg = setup()
    srv.stop()
    r = run(['-bx', 'a@example.net'], stdin=MAIL, config=cfg)
    expect_eq(r.rc, 64, 'usage')
    r = run([], stdin=MAIL, config=cfg)
    expect_eq(r.rc, 64, 'no recipients')
    expect_eq(entries(box), [], 'nothing saved')


@test
def not_saved_says_so():
    srv, box, cfg = setup(replies={'RCPT': '450 4.2.0 later'})
    blocker = tempfile.mktemp()
    open(blocker, 'w').close()
    r = run(['a@example.net'], stdin=MAIL, config=cfg.replace(
        'outbox %s' % box, 'outbox %s/sub' % blocker))
    srv.stop()
    expect_eq(r.rc, 75, 'delivery status kept %r' % r)
    expect_in('message NOT saved', r.err, 'said')
    link = tempfile.mktemp()
    os.symlink(tempfile.mkdtemp(), link)
    srv, _, _ = setup(replies={'RCPT': '450 4.2.0 later'})
    r = run(['a@example.net'], stdin=MAIL,
            config=account(srv.port, extra='outbox %s\n' % link))
    srv.stop()
    expect_in('message NOT saved', r.err, 'symlinked outbox refused')
    expect_eq(os.listdir(os.readlink(link)), [], 'nothing through the link')


@test
def two_queue_runners_never_send_twice():
    srv, box, cfg = setup(replies={'RCPT': '450 4.2.0 later'})
    for i in range(4):
        run(['a%d@example.net' % i], stdin=MAIL, config=cfg)
    srv.stop()
    expect_eq(len(entries(box)), 4, 'four entries')
    backdate(box)
    srv, _, _ = setup()
    path = write_config(account(srv.port, extra='outbox %s\n' % box))
    env = {'PATH': '/usr/bin:/bin', 'HOME': tempfile.mkdtemp()}
    procs = [subprocess.Popen([BINARY, '-C', path, '-q'], env=env,
                              stderr=subprocess.PIPE) for _ in range(3)]
    for p in procs:
        p.wait(timeout=60)
    srv.wait(count=1)
    time.sleep(0.5)
    srv.stop()
    sent = [m['rcpts'][0] for s in srv.sessions for m in s.messages]
    expect_eq(sorted(sent), ['a%d@example.net' % i for i in range(4)],
              'each entry delivered exactly once')
    expect_eq(entries(box), [], 'all removed')


def small_tmpfs(options):
    """A tiny tmpfs of our own (root only); None where it cannot be had."""
    d = tempfile.mkdtemp(prefix='smtpsend-tmpfs-')
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', d],
                      capture_output=True).returncode != 0:
        return None
    return d


@test
def full_or_read_only_outbox_says_not_saved():
    for options, why in (('size=64k,mode=0700', 'No space left on device'),
                         ('ro,size=64k,mode=0700', 'Read-only file system')):
        mnt = small_tmpfs(options)
        if mnt is None:
            # Needs root and a mount namespace that allows it.
            print('skipped: cannot mount a tmpfs here')
            return
        try:
            if 'ro' not in options.split(','):
                # Fill it up, leaving no room for an entry.
                with open(os.path.join(mnt, 'filler'), 'wb') as f:
                    try:
                        f.write(b'x' * (1 << 20))
                    except OSError:
                        pass
            srv, _, _ = setup(replies={'RCPT': '450 4.2.0 later'})
            r = run(['a@example.net'], stdin=MAIL + b'y' * 200000,
                    config=account(srv.port, extra='outbox %s\n' % mnt))
            srv.stop()
            expect_eq(r.rc, 75, 'the delivery status stays %r' % r)
            expect_in('message NOT saved', r.err, 'said for %s' % options)
            expect_in(why, r.err, 'why for %s' % options)
            expect_eq(r.err.count('\n'), 1, 'one line')
            expect_eq([n for n in os.listdir(mnt) if n.startswith('.tmp')],
                      [], 'no temporary file left')
        finally:
            subprocess.run(['umount', mnt])


@test
def planted_symlink_entries_are_never_followed():
    srv, box, cfg = setup()
    srv.stop()
    os.makedirs(box, mode=0o700)
    secret = tempfile.mktemp()
    with open(secret, 'w') as f:
        f.write('smtpsend-outbox: 1\nstate: temporary\nsender: a@b\n'
                'recipient: evil@example.net\nheader-bytes: 0\nsize: 6\n\n'
                'secret')
    os.symlink(secret, os.path.join(box, '20200101T000000Z-00000000'))
    srv, _, _ = setup()
    r = run(['-q'], config=account(srv.port, extra='outbox %s\n' % box))
    srv.stop()
    expect_eq(len(srv.sessions), 0, 'the linked file was not sent')
    expect_in('damaged (Too many levels of symbolic links)', r.err,
              'refused, said')
    expect_eq(r.rc, 75, 'left for a person to look at')
    expect(os.path.exists(secret), 'the target is untouched')


def interrupt_at(stage_server_kw, wait_for):
    srv, box, cfg = setup(**stage_server_kw)
    path = write_config(cfg)
    p = subprocess.Popen([BINARY, '-C', path, 'a@example.net'],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={'PATH': '/usr/bin:/bin',
                              'HOME': tempfile.mkdtemp()})
    p.stdin.write(MAIL)
    p.stdin.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if srv.sessions and any(c.startswith(wait_for)
                                for c in srv.sessions[0].commands):
            break
        time.sleep(0.02)
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=10)
    err = p.stderr.read().decode()
    srv.stop()
    return rc, err, box, srv


@test
def sigterm_before_the_end_closes_and_saves():
    rc, err, box, srv = interrupt_at({'stall_at': 'MAIL'}, 'MAIL')
    expect_eq(rc, 75, 'exit %r' % err)
    expect_in('interrupted by signal 15', err, 'said')
    expect_in('nothing was delivered', err, 'not delivered')
    expect_in(b'state: temporary\n', entry_text(box, entries(box)[0]), 'kept')
    expect_eq(srv.sessions[0].messages, [], 'server has no message')


@test
def sigterm_after_the_dot_is_possibly_delivered():
    rc, err, box, srv = interrupt_at({'stall_at': 'BDAT'}, 'BDAT')
    expect_eq(rc, 75, 'exit %r' % err)
    expect_in('may have been delivered', err, 'said')
    expect_in(b'state: possibly-delivered\n', entry_text(box, entries(box)[0]),
              'kept')


if __name__ == '__main__':
    main()
