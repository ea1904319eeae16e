#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Real callers against a broken set-up (issue 26, CONTRACT section 6): cron,
PHP mail() as www-data, sudo's alert and git send-email, each with the
failure a system meets (a typo in /etc/smtpsend.conf, a changed password
refused with 535, a smarthost name that does not resolve, the smarthost
down). Each time the caller must be told the message was accepted, the
message must wait as `temporary`, nothing may leave while the set-up is
broken, and once it is fixed root's `smtpsend -q` must deliver exactly one
copy. Each case prints one `table:` line (the closing note's table).

And the manual's own examples for programs (git's sendmailcmd, PHP's
sendmail_path, both calling the `sendmail` name), smarthost down then up:
one copy each.

The namespaces, the sendmail wrapper and the machine checks are those of
tests/test_real_callers.py, whose tests are not run from here.
"""
import os
import re
import shlex

import harness
import test_real_callers as rc
from harness import test, expect, expect_eq, expect_in, main
from e2e import server

# Importing test_real_callers registered its tests: they run from their
# own file, not again from this one.
del harness._tests[:]

GOOD = ('host 127.0.0.1\nport %d\ntls off\nsyslog off\ntimeout 10\n'
        'maildomain example.org\nuser tester\npassword pw\n')
TABLE = []


def nsswitch():
    with open('/etc/nsswitch.conf') as f:
        lines = [l for l in f.read().splitlines() if not l.startswith('hosts:')]
    return ('\n'.join(lines + ['hosts: files']) + '\n', 0o644)


def failures(port, hole):
    """(name, the broken /etc/smtpsend.conf) for each injected failure."""
    good = GOOD % port
    return [
        ('config typo (maildomian)', good.replace('maildomain', 'maildomian')),
        ('wrong password (535)', good.replace('password pw', 'password old')),
        # Without credentials: they would never go to a name that is not a
        # loopback address without TLS (exit 78 before any look-up).
        ('unknown smarthost name', good.replace(
            'host 127.0.0.1', 'host smtp.nosuch.invalid').replace(
            'user tester\npassword pw\n', '')),
        ('smarthost down (refused)', GOOD % hole),
    ]


def states(s):
    """The state of every kept entry, by place."""
    out = []
    dirs = {'/var/spool/smtpsend': s.root_outbox(), 'maildrop': s.maildrop()}
    for place, names in s.kept().items():
        for name in names:
            with open(os.path.join(dirs[place], name), 'rb') as f:
                head = f.read(4096).split(b'\n\n', 1)[0].decode(
                    errors='replace')
            m = re.search(r'^state: (\S+)', head, re.M)
            out.append('%s %s' % (place, m.group(1) if m else '?'))
    return ', '.join(out) or 'nothing kept'


def cron_shell(tok, s):
    """What Debian's cron runs for a job's output (its argv, as recorded by
    test_real_callers' cron tests): replayed, since cron itself starts a
    job only on the minute."""
    return ('printf "From: root (Cron Daemon)\\nTo: root\\nSubject: Cron '
            '<root@web1> backup\\n\\ncron-output-%s\\n" | /usr/sbin/sendmail '
            '-FCronDaemon -i -B8BITMIME -oem root' % tok)


def cron_said(r):
    return r.rc == 0, 'exit %d' % r.rc


CALLERS = [
    # name, versions, shell, said, uid, home, env
    ('cron (argv of Debian cron 3.0pl1)', lambda: rc.need('cron'),
     cron_shell, cron_said, 0, None, None),
    ('PHP mail() as www-data', rc.php, rc.php_mail(), rc.php_said, rc.WWW,
     'root-owned', {'USER': 'www-data', 'LOGNAME': 'www-data'}),
    ("sudo's alert (alice not in sudoers)", lambda: rc.need('sudo'),
     rc.sudo_shell, rc.sudo_said, rc.ALICE, None,
     {'USER': 'alice', 'LOGNAME': 'alice'}),
    ('git send-email (sendmailcmd as the manual says)',
     lambda: rc.need('git-email', 'git', 'libmailtools-perl'),
     lambda tok, s: git_manual(tok, s), rc.git_said, 0, None, None),
]


def git_manual(tok, s):
    """git send-email configured exactly as smtpsend(1)'s EXAMPLES say."""
    return ('set -e; r=$(mktemp -d -p "$HOME"); cd "$r"; git init -q .; '
            "git config user.name 'Dev Eloper'; "
            'git config user.email dev@example.org; '
            'git config --global sendemail.sendmailcmd '
            '"/usr/sbin/sendmail --read-envelope-from"; '
            'echo a > a; git add a; git commit -qm first; echo b >> a; '
            "git commit -qam 'change %s'; "
            'git send-email --to=x@example.net --confirm=never -1 </dev/null'
            % tok)


def one_case(caller, failure, broken, srv):
    name, versions, shell, said, uid, home, env = caller
    with rc.Callers(srv.port) as s:
        s.etc['smtpsend.conf'] = (broken, 0o600)
        s.etc['nsswitch.conf'] = nsswitch()
        if home == 'root-owned':
            home = os.path.join(s.dir, 'var-www')
            os.makedirs(home, mode=0o755)
        elif uid and home is None:
            home = s.home(uid)
        tok = rc.token()
        r = s.sh(shell(tok, s), uid=uid, home=home, env=env)
        calls = s.settle(0)
        ok, text = said(r)
        lines = [l for c in calls for l in c['err'].splitlines()
                 if l.startswith('smtpsend:')]
        line = lines[-1] if lines else ''
        kept = states(s)
        broken_q = s.sh('smtpsend -q')
        early = rc.copies(srv, tok)
        kept_q = states(s)
        s.etc['smtpsend.conf'] = (GOOD % srv.port, 0o600)
        q1 = s.sh('smtpsend -q')
        q2 = s.sh('smtpsend -q')
        after = rc.copies(srv, tok)
        row = {'caller': name, 'argv': rc.argvs(calls), 'failure': failure,
               'exit': rc.exits(calls), 'said': text, 'line': line,
               'kept': kept, 'after broken -q': kept_q,
               'copies while broken': len(early),
               'copies after fix and -q': len(after),
               'q': (broken_q.rc, q1.rc, q2.rc), 'left': states(s)}
    TABLE.append(row)
    print('table: %(caller)s | argv %(argv)s | %(failure)s | exit %(exit)s '
          '(%(said)s) | kept: %(kept)s; after -q while broken: '
          '%(after broken -q)s | copies while broken %(copies while broken)d,'
          ' after the fix and -q %(copies after fix and -q)d | %(line)r'
          % row, flush=True)
    expect(ok, '%s, %s: the caller reports success: %s' % (name, failure,
                                                          text))
    expect_eq(row['exit'], '0', '%s, %s: exit status %r' % (name, failure,
                                                            line))
    expect(' temporary' in kept and 'permanent' not in kept,
           '%s, %s: kept as temporary: %s' % (name, failure, kept))
    expect_eq(len(early), 0, '%s, %s: nothing while broken' % (name, failure))
    expect_eq(len(after), 1, '%s, %s: one copy after the fix %r %r'
              % (name, failure, q1, q2))
    expect_eq(row['left'], 'nothing kept', '%s, %s: nothing left'
              % (name, failure))


def caller_test(caller):
    def run():
        caller[1]()
        rc.need_ns()
        srv = server(tls=None, users={'tester': 'pw'}, require_auth=True)
        hole = rc.Hole()
        try:
            for failure, broken in failures(srv.port, hole.port):
                one_case(caller, failure, broken, srv)
        finally:
            srv.stop()
            hole.close()
    run.__name__ = 'setup_failure_' + re.sub(r'\W+', '_', caller[0].split(
        ' (')[0]).strip('_').lower()
    return run


for _c in CALLERS:
    test(caller_test(_c))


# ------------------------------------------------ the manual's examples --

@test
def git_send_email_as_the_manual_says():
    v = rc.need('git-email', 'git', 'libmailtools-perl')
    rc.need_ns()

    def check(m):
        expect_eq(sorted(m['rcpts']), ['dev@example.org', 'x@example.net'],
                  'To and the Cc git adds for the author')
    rc.up_and_down('git send-email, sendemail.sendmailcmd '
                   '"/usr/sbin/sendmail --read-envelope-from"', v,
                   git_manual, rc.git_said, check=check)


@test
def php_mail_as_the_manual_says():
    v = rc.php()
    rc.need_ns()

    def shell(tok, s):
        code = 'var_dump(mail("to@example.net", "php %s", "body %s\\n"));' % (
            tok, tok)
        return ('cd / && php -d %s -r %s' % (
            shlex.quote('sendmail_path=/usr/sbin/sendmail -t -i'),
            shlex.quote(code)))
    rc.up_and_down('PHP mail(), sendmail_path = "/usr/sbin/sendmail -t -i"',
                   v, shell, rc.php_said)


if __name__ == '__main__':
    main()
