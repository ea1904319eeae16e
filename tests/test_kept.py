#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The kept message (issue 26, CONTRACT sections 6 and 7): a failure of the
set-up defers the message for a calling program and is for a person when
`smtpsend` is called; entries go with their configuration; an entry kept
before its envelope was known is resolved when it is sent; the maildrop
takes what a user's own outbox cannot; mailq for users who cannot read the
system file, and postqueue -j's JSON.

Each test runs in a private mount and UTS namespace (tests/ns.py) against the
scripted server on 127.0.0.1; the machine's /etc and /var/spool never change.
"""
import json
import os
import re
import shutil
import socket
import tempfile

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import BINARY, account, certs, run, server
from ns import System, available

MAIL = b'Subject: kept\n\nbody\n'
WWW = 33          # www-data on Debian
OTHER = 65534     # nobody
NSSWITCH = None


def need_ns():
    why = available()
    if why:
        skip(why)


def nsswitch():
    """The machine's nsswitch.conf with hosts from /etc/hosts only: a name
    that is not there does not resolve, at once, with or without DNS."""
    global NSSWITCH
    if NSSWITCH is None:
        with open('/etc/nsswitch.conf') as f:
            lines = [l for l in f.read().splitlines()
                     if not l.startswith('hosts:')]
        NSSWITCH = '\n'.join(lines + ['hosts: files']) + '\n'
    return (NSSWITCH, 0o644)


def conf(port, password='pw', host='127.0.0.1', extra='', mode=0o600,
         maildomain=True):
    return ('defaults\nsyslog off\ntimeout 10\naccount default\nhost %s\n'
            'port %d\nuser tester\npassword %s\ntls_trust_file %s\n'
            'from alerts@example.org\n%s%s' % (
                host, port, password, certs().ca,
                'maildomain example.org\n' if maildomain else '', extra), mode)


# Each failure of the set-up: (name, broken config, expected smtpsend exit,
# the words of the deferred: line's fix).
def injections(port):
    good = conf(port)
    return good, [
        ('config typo', (good[0].replace('maildomain', 'maildomian'), 0o600),
         78, 'fix the configuration'),
        ('wrong password', conf(port, password='changed'), 77,
         'check the credentials'),
        ('unknown smarthost name', conf(port, host='nosuch.invalid'), 68,
         "check the smarthost's name"),
        ('passwordeval failed', (good[0].replace(
            'password pw', 'passwordeval exit 3'), 0o600), 78,
         'fix the configuration'),
    ]


def entries(d):
    try:
        return sorted(n for n in os.listdir(d) if not n.startswith('.') and
                      os.path.isfile(os.path.join(d, n)))
    except FileNotFoundError:
        return []


def field(path, key):
    with open(path, 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].decode()
    return [l.split(': ', 1)[1] for l in head.splitlines()
            if l.startswith(key + ': ')]


def copies(srv, tok):
    srv.wait(count=len(srv.sessions), timeout=5)
    return [m for x in list(srv.sessions) for m in x.messages
            if tok.encode() in m['data']]


# ------------------------------------------------------------ set-up rule --

@test
def setup_failures_defer_for_programs_and_are_a_persons_as_smtpsend():
    need_ns()
    # A smarthost that relays for nobody without AUTH, as a real one.
    srv = server(users={'tester': 'pw'}, require_auth=True)
    good, cases = injections(srv.port)
    try:
        for name, broken, status, fix in cases:
            with System(etc={'smtpsend.conf': broken,
                             'nsswitch.conf': nsswitch()}) as s:
                box = s.root_outbox()
                tok = 'tok-%s' % name.replace(' ', '-')
                body = b'Subject: %s\n\n%s\n' % (name.encode(), tok.encode())
                # As sendmail (cron, PHP, sudo): deferred, temporary, exit 0.
                r = s.run(['root'], stdin=body, argv0='sendmail')
                expect_eq(r.rc, 0, '%s: as sendmail, a kept message %r'
                          % (name, r))
                expect(re.search(r'^smtpsend: deferred:', r.err, re.M),
                       '%s: deferred: line %r' % (name, r.err))
                expect_in(fix, r.err, '%s: the line names the fix' % name)
                expect_not_in('never sent on its own', r.err,
                              '%s: words agree with the state' % name)
                kept = entries(box)
                expect_eq(len(kept), 1, '%s: one entry' % name)
                expect_eq(field(os.path.join(box, kept[0]), 'state'),
                          ['temporary'], '%s: state' % name)
                bp = s.run(['-bp'])
                expect_in('(temporary', bp.out.decode(), '%s: -bp' % name)
                # Still broken: -q leaves it, one line says why.
                q = s.run(['-q'])
                expect_eq(copies(srv, tok), [], '%s: nothing while broken'
                          % name)
                expect_eq(len(entries(box)), 1, '%s: still kept %r'
                          % (name, q))
                # As smtpsend (a person, a script): the failure's status,
                # a permanent copy for a person.
                r2 = s.run(['root'], stdin=body.replace(b'tok-', b'p-tok-'))
                expect_eq(r2.rc, status, '%s: as smtpsend %r' % (name, r2))
                expect_in('never sent on its own', r2.err, '%s: said %r'
                          % (name, r2.err))
                expect_not_in('deferred:', r2.err, '%s: not deferred' % name)
                perm = [e for e in entries(box) if e not in kept]
                expect_eq(len(perm), 1, '%s: the person\'s copy' % name)
                expect_eq(field(os.path.join(box, perm[0]), 'state'),
                          ['permanent'], '%s: kept for a person' % name)
                # Fixed: -q sends the deferred one exactly once, not the
                # person's; -qI sends that.
                s.etc['smtpsend.conf'] = good
                q = s.run(['-q'])
                q2 = s.run(['-q'])
                expect_eq(len(copies(srv, tok)), 1, '%s: after the fix, one '
                          'copy %r %r' % (name, q, q2))
                expect_eq(copies(srv, 'p-' + tok), [], '%s: the person\'s '
                          'copy waits for the person' % name)
                q3 = s.run(['-qI', perm[0]])
                expect_eq(q3.rc, 0, '%s: -qI %r' % (name, q3))
                expect_eq(len(copies(srv, 'p-' + tok)), 1, '%s: -qI sent it'
                          % name)
                expect_eq(entries(box), [], '%s: nothing left' % name)
    finally:
        srv.stop()


@test
def pin_mismatch_defers_and_names_the_fix():
    need_ns()
    srv = server(users={'tester': 'pw'})
    good = conf(srv.port)
    bad = conf(srv.port, extra='tls_fingerprint %s\n' % ':'.join(['AB'] * 32))
    try:
        with System(etc={'smtpsend.conf': bad}) as s:
            r = s.run(['root'], stdin=b'Subject: pin\n\npin-tok\n',
                      argv0='sendmail')
            expect_eq(r.rc, 0, 'as sendmail %r' % r)
            expect_in('check the TLS set-up', r.err, 'the fix is named')
            expect_eq(field(os.path.join(s.root_outbox(),
                                         entries(s.root_outbox())[0]),
                            'state'), ['temporary'], 'state')
            s.etc['smtpsend.conf'] = good
            s.run(['-q'])
            s.run(['-q'])
            expect_eq(len(copies(srv, 'pin-tok')), 1, 'one copy after the fix')
    finally:
        srv.stop()


# --------------------------------------- the entry's envelope, resolved later --

@test
def kept_before_its_envelope_is_resolved_with_the_fixed_configuration():
    need_ns()
    srv = server(users={'tester': 'pw'})
    good = conf(srv.port)
    broken = (good[0].replace('maildomain', 'maildomian'), 0o600)
    try:
        with System(etc={'smtpsend.conf': broken}) as s:
            mail = (b'From: Cron Daemon <root>\nTo: ops, dev@example.net\n'
                    b'Bcc: hidden@example.net\nSubject: t\n\nresolve-tok\n')
            r = s.run(['-t', '-i', '-f', 'root', '-N', 'failure', '-F',
                       'Cron Daemon'], stdin=mail, argv0='sendmail')
            expect_eq(r.rc, 0, 'deferred %r' % r)
            box = s.root_outbox()
            path = os.path.join(box, entries(box)[0])
            expect_eq(field(path, 'arg-t'), ['yes'], '-t kept')
            expect_eq(field(path, 'arg-f'), ['root'], '-f kept')
            expect_eq(field(path, 'arg-N'), ['failure'], '-N kept')
            # -bp shows the real error, not "1 error in the configuration".
            bp = s.run(['-bp']).out.decode()
            expect_in('unknown key maildomian', bp, '-bp shows the error')
            expect_not_in('error in the configuration', bp, 'not a count')
            s.etc['smtpsend.conf'] = good
            q = s.run(['-q'])
            expect_eq(q.rc, 0, '-q %r' % q)
            got = copies(srv, 'resolve-tok')
            expect_eq(len(got), 1, 'one copy')
            m = got[0]
            expect_eq(sorted(m['rcpts']), ['dev@example.net',
                                           'hidden@example.net',
                                           'ops@example.org'],
                      'recipients resolved from the header, maildomain now')
            expect_eq(m['mail_from'], 'root@example.org',
                      '-f root, qualified with the fixed maildomain')
            expect_not_in(b'Bcc:', m['data'], 'Bcc removed')
            expect_in('NOTIFY=FAILURE', m['rcpt_params'][0], '-N went out')
            expect_eq(entries(box), [], 'nothing left')
    finally:
        srv.stop()


@test
def q_I_names_an_entry_or_says_why():
    need_ns()
    broken = (conf(1)[0].replace('maildomain', 'maildomian'), 0o600)
    with System(etc={'smtpsend.conf': broken}) as s:
        # A person's copy (smtpsend, a broken configuration).
        s.run(['root'], stdin=MAIL)
        (entry,) = entries(s.root_outbox())
        s.etc['smtpsend.conf'] = conf(1)
        r = s.run(['-qI', '20990101T000000Z-deadbeef'])
        expect(r.rc != 0, 'an id that matches nothing fails %r' % r)
        expect_in('no entry 20990101T000000Z-deadbeef', r.err, 'says so')
        # Part of its id is not enough, and that is said.
        r = s.run(['-qI', entry[:20]])
        expect_in('%s: kept for a person (permanent); smtpsend -qI %s, with '
                  'the whole id, sends it' % (entry, entry), r.err,
                  'a partial id says what sends it %r' % r)
        # The whole id tries it (the smarthost is down: left, exit 75).
        r = s.run(['-qI', entry])
        expect_eq(r.rc, 75, 'tried %r' % r)
        expect_in('Connection refused', r.err, 'says why')


# ------------------------------------------- entries go with their config --

@test
def trials_with_other_configurations_are_never_sent_through_the_default():
    need_ns()
    srv = server(users={'tester': 'pw'})
    try:
        with System() as s:
            home = s.home(1000)
            trials = []
            for i, broken in enumerate(['tls_starttls off\n', 'port 1\n',
                                        'host nosuch.invalid\n']):
                path = os.path.join(home, 'trial%d.conf' % i)
                with open(path, 'w') as f:
                    f.write(conf(srv.port, extra=broken)[0])
                os.chown(path, 1000, 1000)
                os.chmod(path, 0o600)
                trials.append(path)
                s.run(['-C', path, 'me@example.net'], uid=1000, home=home,
                      stdin=b'Subject: trial\n\ntrial-tok\n')
            # The fixed user file.
            cfgdir = os.path.join(home, '.config', 'smtpsend')
            os.makedirs(cfgdir)
            with open(os.path.join(cfgdir, 'config'), 'w') as f:
                f.write(conf(srv.port)[0])
            for d in (os.path.join(home, '.config'), cfgdir,
                      os.path.join(cfgdir, 'config')):
                os.chown(d, 1000, 1000)
            os.chmod(os.path.join(cfgdir, 'config'), 0o600)
            q = s.run(['-q'], uid=1000, home=home)
            expect_eq(copies(srv, 'trial-tok'), [], 'no trial delivered '
                      'through the default account %r' % q)
            expect_in('3 kept with other configurations: smtpsend -bp', q.err,
                      '-q counts them')
            expect_eq(q.rc, 0, '-q of the default files has nothing left')
            bp = s.run(['-bp'], uid=1000, home=home).out.decode()
            for p in trials:
                expect_in('sent by smtpsend -q -C %s' % p, bp,
                          '-bp names the -C that sends it')
            # The trial's own -C, fixed, sends its own entry only.
            with open(trials[1], 'w') as f:
                f.write(conf(srv.port)[0])
            q = s.run(['-q', '-C', trials[1]], uid=1000, home=home)
            expect_eq(len(copies(srv, 'trial-tok')), 1, 'its own -C sends '
                      'it %r' % q)
            expect_in('2 kept with other configurations', q.err, 'counted')
            # A -C file that is gone: left, listed with the reason, never
            # sent through another file; -qI says why.
            os.unlink(trials[2])
            bp = s.run(['-bp'], uid=1000, home=home).out.decode()
            expect_in('its configuration %s no longer exists' % trials[2], bp,
                      'the reason is listed')
            gone = re.search(r'^(\S+?)!? .*\n\(.*%s no longer' %
                             re.escape(trials[2]), bp, re.M)
            expect(gone, 'its id in -bp %r' % bp)
            r = s.run(['-qI', gone.group(1)], uid=1000, home=home)
            expect(r.rc != 0, '-qI of it fails %r' % r)
            expect_in('no longer exists', r.err, 'and says why')
            expect_eq(len(copies(srv, 'trial-tok')), 1, 'still one copy')
    finally:
        srv.stop()


# ----------------------------------------------------------- the maildrop --

def md_entries(s):
    return entries(s.maildrop())


@test
def service_account_config_error_goes_to_the_maildrop():
    need_ns()
    srv = server(users={'tester': 'pw'})
    def readable(text):    # no credentials: anyone may read it
        return (re.sub(r'(user|password) .*\n', '', text[0]), 0o644)
    good = readable(conf(srv.port))
    # No maildomain and no from: a local name cannot be qualified.
    nodomain = (readable(conf(srv.port, maildomain=False))[0].replace(
        'from alerts@example.org\n', ''), 0o644)
    try:
        with System(hostname='web1', etc={'smtpsend.conf': nodomain}) as s:
            unwritable = os.path.join(s.dir, 'var-www')
            os.makedirs(unwritable, mode=0o755)
            r = s.run(['-t', '-i'], stdin=b'To: webmaster\nSubject: php\n\n'
                      b'md-tok\n', uid=WWW, home=unwritable, argv0='sendmail')
            expect_eq(r.rc, 0, 'kept: exit 0 as sendmail %r' % r)
            expect_not_in('NOT saved', r.err, 'not lost')
            expect_in('queued in the system maildrop as', r.err, 'where')
            expect_eq(len(md_entries(s)), 1, 'in the maildrop')
            # Root's runner with the system file still broken: it waits.
            s.run(['-q'])
            expect_eq(copies(srv, 'md-tok'), [], 'not sent while broken')
            s.etc['smtpsend.conf'] = good
            q = s.run(['-q'])
            s.run(['-q'])
            got = copies(srv, 'md-tok')
            expect_eq(len(got), 1, 'one copy after the fix %r' % q)
            expect_eq(got[0]['rcpts'], ['webmaster@example.org'],
                      'resolved with the fixed file')
    finally:
        srv.stop()


@test
def cannot_read_the_system_file_is_said_calmly():
    need_ns()
    srv = server(users={'tester': 'pw'})
    try:
        with System(etc={'smtpsend.conf': conf(srv.port)}) as s:
            r = s.run(['root'], stdin=b'Subject: x\n\ncalm-tok\n', uid=OTHER,
                      argv0='sendmail')
            expect_eq(r.rc, 0, 'exit 0 %r' % r)
            expect(re.fullmatch(r'smtpsend: queued in the system maildrop as '
                                r'\S+; it is sent shortly\n', r.err),
                   'one calm line %r' % r.err)
            # The id the user was told stays the entry's once root picks
            # it up: root's -qI with it sends it.
            mid = re.search(r'as (\S+);', r.err).group(1)
            q = s.run(['-qI', mid])
            expect_eq(q.rc, 0, "root's -qI %s %r" % (mid, q))
            expect_eq(len(copies(srv, 'calm-tok')), 1, 'root sends it')
    finally:
        srv.stop()


@test
def maildrop_entry_naming_a_configuration_uses_the_system_file():
    need_ns()
    srv = server(users={'tester': 'pw'})
    evil = server(users={'tester': 'pw'})
    try:
        with System(etc={'smtpsend.conf': conf(srv.port)}) as s:
            r = s.run(['root'], stdin=b'Subject: x\n\ncfg-tok\n', uid=OTHER,
                      argv0='sendmail')
            name = md_entries(s)[0]
            path = os.path.join(s.maildrop(), name)
            with open(path, 'rb') as f:
                data = f.read()
            evil_conf = os.path.join(s.dir, 'evil.conf')
            with open(evil_conf, 'w') as f:
                f.write(conf(evil.port)[0])
            data = data.replace(b'\nstate:', b'\nconfig: %s\nstate:'
                                % evil_conf.encode(), 1)
            with open(path, 'wb') as f:
                f.write(data)
            q = s.run(['-q'])
            expect_eq(len(copies(srv, 'cfg-tok')), 1, 'sent with the system '
                      'file %r' % q)
            expect_eq(copies(evil, 'cfg-tok'), [], 'never with the named one')
    finally:
        srv.stop()
        evil.stop()


# --------------------------------------------------------- mailq, --json --

@test
def mailq_as_a_user_who_cannot_read_the_system_file():
    need_ns()
    with System(etc={'smtpsend.conf': conf(1)}) as s:
        home = s.home(1000)
        # An entry of the user's own outbox (the smarthost is down).
        cfg = conf(1)[0]
        r = s.run(['-q'], uid=1000, home=home)
        r = s.run(['x@example.net'], stdin=MAIL, uid=1000, home=home,
                  config=cfg)
        r = s.run([], uid=1000, home=home, argv0='mailq')
        expect_eq(r.rc, 0, 'mailq exits 0 %r' % r)
        out = r.out.decode()
        expect_in('-Queue ID-', out, 'its own entry listed')
        expect_in('x@example.net', out, 'with its recipient')
        r = s.run(['-bp', '--json'], uid=1000, home=home)
        expect_eq(r.rc, 0, '--json exits 0 %r' % r)
        objs = [json.loads(l) for l in r.out.decode().splitlines()]
        expect_eq(len(objs), 1, 'one object per entry and line')
        o = objs[0]
        for key in ('queue_name', 'queue_id', 'arrival_time', 'message_size',
                    'sender', 'recipients'):
            expect(key in o, 'postqueue -j field %s in %r' % (key, o))
        expect_eq(o['queue_name'], 'deferred', 'queue_name')
        expect_eq(o['recipients'][0]['address'], 'x@example.net', 'address')
        expect(o['recipients'][0]['delay_reason'], 'delay_reason')
        # Nobody else's: an empty listing, exit 0.
        r = s.run([], uid=OTHER, argv0='mailq')
        expect_eq((r.rc, r.out), (0, b'Mail queue is empty\n'), 'nobody %r' % r)
        # A user's own entries in the maildrop, which users cannot list.
        r = s.run(['root'], stdin=MAIL, uid=OTHER, argv0='sendmail')
        expect_in('queued in the system maildrop', r.err, 'left %r' % r)
        mid = md_entries(s)
        r = s.run([], uid=OTHER, argv0='mailq')
        expect_eq(r.rc, 0, 'mailq %r' % r)
        expect_in(mid[0].encode(), r.out, "the user's maildrop entry")
        r = s.run(['-bp', '--json'], uid=OTHER)
        expect_eq([o['queue_name'] for o in postqueue_j(r.out.decode())
                   .get('maildrop', [])], ['maildrop'], 'as maildrop %r' % r)
        r = s.run([], uid=1000, home=home, argv0='mailq')
        expect_not_in(mid[0].encode(), r.out, "never another user's")
        # -qI with that id: root's to send, and said so.
        r = s.run(['-qI', mid[0]], uid=OTHER)
        expect_eq(r.rc, 75, 'left for root %r' % r)
        expect_in('%s waits in the system maildrop' % mid[0], r.err, 'said')


# --------------------------------------------- real monitoring: check_mailq --

CHECK_MAILQ = '/usr/lib/nagios/plugins/check_mailq'


class Mailq(System):
    """System with smtpsend as /usr/bin/mailq (an overlay over /usr/bin),
    where Debian's check_mailq looks for it."""

    def __init__(self, **kw):
        super().__init__(**kw)
        for d in ('bin-up', 'bin-work'):
            os.makedirs(os.path.join(self.dir, d))
        binary = os.path.join(self.dir, 'bin-up', 'smtpsend')
        shutil.copyfile(BINARY, binary)
        os.chmod(binary, 0o755)
        os.symlink('smtpsend', os.path.join(self.dir, 'bin-up', 'mailq'))

    def _setup(self):
        d = self.dir
        return super()._setup() + [
            'mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=%s/bin-up,'
            'workdir=%s/bin-work /usr/bin' % (d, d)]


def postqueue_j(text):
    """A consumer of Postfix's `postqueue -j` as postqueue(1) documents it:
    one JSON object per line with queue_name (maildrop, incoming, active,
    deferred, hold, corrupt), queue_id, arrival_time and message_size
    (numbers), sender, recipients (a list of objects with address and, when
    there is one, delay_reason). Returns the messages by queue name."""
    by_queue = {}
    for line in text.splitlines():
        o = json.loads(line)
        expect(isinstance(o, dict), 'an object per line: %r' % line)
        expect_in(o['queue_name'], ('maildrop', 'incoming', 'active',
                                    'deferred', 'hold', 'corrupt'),
                  'queue_name')
        expect(isinstance(o['queue_id'], str) and o['queue_id'], 'queue_id')
        for key in ('arrival_time', 'message_size'):
            expect(isinstance(o[key], int) and o[key] >= 0, key)
        expect(isinstance(o['sender'], str), 'sender')
        expect(isinstance(o['recipients'], list) and o['recipients'],
               'recipients')
        for r in o['recipients']:
            expect(isinstance(r['address'], str) and r['address'], 'address')
            expect(isinstance(r.get('delay_reason', ''), str), 'delay_reason')
        by_queue.setdefault(o['queue_name'], []).append(o)
    return by_queue


@test
def check_mailq_as_an_unprivileged_user():
    if not os.path.exists(CHECK_MAILQ):
        skip('Debian package monitoring-plugins-standard not installed '
             '(tests/deps.sh)')
    need_ns()
    check = '%s -M postfix -w 2 -c 5' % CHECK_MAILQ
    with Mailq(etc={'smtpsend.conf': conf(1),
                    'nsswitch.conf': nsswitch()}) as s:
        # Root's 0600 file: the monitoring user cannot read it.
        r = s.run([], uid=OTHER, shell=check)
        expect_eq(r.rc, 0, 'OK for an empty queue %r' % r)
        expect_in(b'OK: postfix mailq reports queue is empty', r.out, 'said')
        home = s.home(1000)
        for i in range(3):
            s.run(['x%d@example.net' % i], stdin=MAIL, uid=1000, home=home,
                  config=conf(1)[0])
        r = s.run([], uid=1000, home=home, shell=check)
        expect_eq(r.rc, 1, 'WARNING at 3 of -w 2 %r' % r)
        expect_in(b'WARNING: postfix mailq is 3', r.out, 'counted')
        # The same through postqueue -j's format.
        r = s.run(['--json'], uid=1000, home=home, shell=None,
                  argv0='mailq')
        q = postqueue_j(r.out.decode())
        expect_eq({k: len(v) for k, v in q.items()}, {'deferred': 3},
                  'three deferred messages')
        expect_in('Connection refused', q['deferred'][0]['recipients'][0]
                  ['delay_reason'], 'the reason')
        # A person's copy is Postfix's hold queue.
        s.run(['nobody@example.net'], stdin=MAIL, uid=1000, home=home,
              config=conf(1, host='nosuch.invalid')[0])
        r = s.run(['-bp', '--json'], uid=1000, home=home)
        q = postqueue_j(r.out.decode())
        expect_eq(len(q.get('hold', [])), 1, 'a permanent entry is held %r'
                  % r)


# ------------------------------------------------------------ small truths --

@test
def no_mail_domain_names_what_etc_mailname_holds():
    need_ns()
    cfg = 'host 127.0.0.1\nport 1\ntls off\nsyslog off\n'
    for mailname, said in (('vm', "/etc/mailname holds 'vm', which has no "
                            "dot"), ('', 'there is no /etc/mailname')):
        with System(hostname='vm', mailname=mailname) as s:
            r = s.run(['root'], stdin=MAIL, config=cfg + 'outbox %s/ob\n'
                      % s.dir)
            expect_eq(r.rc, 78, 'no mail domain %r' % r)
            expect_in("this host's name has no dot and %s; set maildomain"
                      % said, r.err, 'says what /etc/mailname holds')


@test
def refused_connection_logs_the_accounts_settings_as_msmtp():
    hole = socket.socket()
    hole.bind(('127.0.0.1', 0))       # bound, not listening: refused
    port = hole.getsockname()[1]
    log = os.path.join(tempfile.mkdtemp(), 'log')
    try:
        r = run(['a@example.net'], stdin=MAIL,
                config=account(port, extra='logfile %s\n' % log))
    finally:
        hole.close()
    expect_eq(r.rc, 75, 'deferred %r' % r)
    with open(log) as f:
        line = f.read()
    expect_in(' tls=on auth=on user=tester ', line,
              "the account's settings, as msmtp writes them")
    expect_in("errormsg='cannot connect to 127.0.0.1, port %d: Connection "
              "refused'" % port, line, "msmtp's words")


@test
def roots_spool_left_0755_is_repaired_and_the_maildrop_worked_through():
    need_ns()
    srv = server(users={'tester': 'pw'})
    try:
        with System(etc={'smtpsend.conf': conf(srv.port)}) as s:
            r = s.run(['root'], stdin=b'Subject: x\n\nspool-tok\n', uid=OTHER,
                      argv0='sendmail')
            os.chmod(s.root_outbox(), 0o755)      # as mkdir -p leaves it
            q = s.run(['-q'])
            expect_eq(q.rc, 0, '-q %r' % q)
            expect_in('now mode 0711', q.err, 'said')
            expect_eq(os.stat(s.root_outbox()).st_mode & 0o7777, 0o711,
                      'repaired to 0711, the maildrop reachable inside')
            expect_eq(len(copies(srv, 'spool-tok')), 1, 'maildrop sent')
            # Writable by the group: refused, and the hint keeps users'
            # way to the maildrop open.
            s.run(['root'], stdin=MAIL, uid=OTHER, argv0='sendmail')
            os.chmod(s.root_outbox(), 0o775)
            q = s.run(['-q'])
            expect_eq(q.rc, 78, 'refused %r' % q)
            expect_in('chmod 711', q.err, 'the hint names 0711')
            expect_not_in('chmod 700', q.err, 'never 0700')
            expect_in('the maildrop is not picked up', q.err, 'said why')
    finally:
        srv.stop()


class Syslog(System):
    """System whose /dev/log is a datagram socket of the test's: a tmpfs
    over /dev in the namespace, with null, zero, random and urandom bound
    from the real one."""

    def __init__(self, **kw):
        super().__init__(**kw)
        d = os.path.join(self.dir, 'log')
        os.makedirs(d)
        os.chmod(d, 0o755)
        self.path = os.path.join(d, 'sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.setblocking(False)

    def _setup(self):
        d = self.dir
        return super()._setup() + [
            'mkdir -p %s/olddev' % d, 'mount --bind /dev %s/olddev' % d,
            'mount -t tmpfs -o mode=0755 tmpfs /dev',
            'for n in null zero random urandom; do touch /dev/$n; '
            'mount --bind %s/olddev/$n /dev/$n; done' % d,
            'ln -s %s /dev/log' % self.path]

    def lines(self):
        out = []
        while True:
            try:
                out.append(self.sock.recv(65536).decode(errors='replace'))
            except BlockingIOError:
                return out

    def __exit__(self, *exc):
        self.sock.close()
        return super().__exit__(*exc)


@test
def setup_deferrals_go_to_syslog_at_log_err():
    need_ns()
    srv = server(users={'tester': 'pw'}, require_auth=True)
    good = conf(srv.port)[0].replace('syslog off\n', '')
    err = '<%d>' % (2 * 8 + 3)          # LOG_MAIL | LOG_ERR
    try:
        for name, broken in (
                ('typo', good.replace('maildomain', 'maildomian')),
                ('wrong password', good.replace('password pw',
                                                'password old'))):
            with Syslog(etc={'smtpsend.conf': (broken, 0o600)}) as s:
                r = s.run(['root'], stdin=MAIL, argv0='sendmail')
                expect_eq(r.rc, 0, '%s: deferred %r' % (name, r))
                lines = s.lines()
                logged = [l for l in lines if l.startswith(err)]
                expect(logged, '%s: a LOG_MAIL|LOG_ERR line %r'
                       % (name, lines))
                expect_in({'typo': 'unknown key maildomian',
                           'wrong password': '535'}[name], logged[0],
                          '%s: what failed' % name)
    finally:
        srv.stop()


@test
def mail_that_lands_while_roots_run_sends_is_sent_by_that_run():
    """The trigger (a path unit) starts no second run while one is active:
    root's -q picks up what lands in the maildrop meanwhile."""
    need_ns()
    import time

    def slow(conn, m):
        if b'first-tok' in m['data']:
            time.sleep(2)           # the 250 to the first message waits
    srv = server(users={'tester': 'pw'}, on_message=slow)
    try:
        with System(etc={'smtpsend.conf': conf(srv.port)}) as s:
            s.run(['root'], stdin=b'Subject: 1\n\nfirst-tok\n', uid=OTHER,
                  argv0='sendmail')
            r = s.run([], shell=(
                '%s -q --due & sleep 0.7; printf "Subject: 2\\n\\n'
                'late-tok\\n" | setpriv --reuid=%d --regid=%d --clear-groups '
                'bash -c "exec -a sendmail %s root"; wait $!'
                % (BINARY, OTHER, OTHER, BINARY)))
            expect_eq(r.rc, 0, 'the run %r' % r)
            expect_eq(len(copies(srv, 'first-tok')), 1, 'the first')
            expect_eq(len(copies(srv, 'late-tok')), 1,
                      'the one that landed during the run, by that run %r' % r)
            expect_eq(md_entries(s), [], 'nothing waits in the maildrop')
    finally:
        srv.stop()


@test
def a_permanent_failure_in_the_maildrop_stays_a_persons():
    need_ns()
    srv = server(users={'tester': 'pw'},
                 replies={'RCPT': '550 5.1.1 no such user'})
    readable = (re.sub(r'(user|password) .*\n', '', conf(srv.port)[0]), 0o644)
    try:
        with System(etc={'smtpsend.conf': readable}) as s:
            home = os.path.join(s.dir, 'var-www')
            os.makedirs(home, mode=0o755)
            r = s.run(['nobody@example.net'], stdin=b'Subject: x\n\nperm\n',
                      uid=WWW, home=home, argv0='sendmail')
            expect_eq(r.rc, 67, 'the refusal %r' % r)
            expect_in('kept in the system maildrop as', r.err, 'kept')
            expect_in('never sent on its own', r.err, 'for root')
            expect_not_in('deferred', r.err, 'not a deferral')
            sessions = len(srv.sessions)
            s.run(['-q'])
            expect_eq(len(srv.sessions), sessions, 'root does not send it')
            bp = s.run(['-bp']).out.decode()
            expect_in('(permanent', bp, "root's outbox holds it for a person")
            expect_in('550 5.1.1 no such user', bp, 'with the refusal')
    finally:
        srv.stop()


@test
def a_host_name_too_long_is_an_error_never_a_delivery():
    """A host word of 256 bytes or more fitted no buffer: nothing was tried,
    nothing failed, so the message counted as sent (exit 0, nothing kept)
    and -q removed entries as delivered."""
    long = 'a' * 300 + '.example'
    cfg = account(1)
    outbox = re.search(r'outbox (\S+)', cfg).group(1)
    r = run(['a@example.net'], stdin=b'Subject: x\n\nhi\n', config=cfg)
    expect_eq(r.rc, 75, 'kept while the server is down %r' % r)
    expect_eq(len(entries(outbox)), 1, 'one entry')
    bad = cfg.replace('host 127.0.0.1', 'host ' + long)
    r = run(['-q'], config=bad)
    expect_eq(r.rc, 78, '-q with the long name %r' % r)
    expect_in('at most 253 characters', r.err, 'says why')
    expect_eq(len(entries(outbox)), 1, 'the entry stays')
    r = run(['b@example.net'], stdin=b'Subject: y\n\nhi\n', config=bad)
    expect_eq(r.rc, 78, 'a send with it %r' % r)
    expect_in('; message kept in the outbox as ', r.err, 'kept')
    r = run(['--host=' + long, 'c@example.net'], stdin=b'Subject: z\n\n',
            config=cfg)
    expect_eq(r.rc, 64, '--host with it %r' % r)


if __name__ == '__main__':
    main()
