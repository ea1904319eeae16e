#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""make install-sendmail into a DESTDIR: the links, root's spool and the
maildrop with their modes, the periodic runner (systemd timer, or cron.d),
and uninstall-sendmail taking it all back. Never the machine's own /."""
import os
import stat
import subprocess
import tempfile

from harness import test, expect, expect_eq, expect_in, main

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')


def make(*args):
    return subprocess.run(['make', '-s', '-C', ROOT] + list(args),
                          capture_output=True, text=True)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@test
def install_sendmail_with_a_systemd_timer():
    d = tempfile.mkdtemp(prefix='smtpsend-destdir-')
    r = make('install-sendmail', 'DESTDIR=' + d, 'SYSTEMD=1')
    expect_eq(r.returncode, 0, 'make: %s' % r.stderr)
    for link in ('usr/sbin/sendmail', 'usr/lib/sendmail', 'usr/bin/mailq',
                 'usr/bin/newaliases'):
        expect_eq(os.readlink(os.path.join(d, link)), '/usr/local/bin/smtpsend',
                  link)
    if os.geteuid() == 0:
        expect_eq(mode(d + '/var/spool/smtpsend'), 0o711, 'spool mode')
        expect_eq(mode(d + '/var/spool/smtpsend/maildrop'), 0o1733,
                  'maildrop mode')
    unit = open(d + '/etc/systemd/system/smtpsend-queue.service').read()
    expect_in('ExecStart=/usr/local/bin/smtpsend -q --due', unit, 'service')
    expect_in('SuccessExitStatus=75', unit, 'left for later is not a failure')
    timer = open(d + '/etc/systemd/system/smtpsend-queue.timer').read()
    expect_in('OnUnitActiveSec=5min', timer, 'every 5 minutes')
    path = open(d + '/etc/systemd/system/smtpsend-maildrop.path').read()
    expect_in('PathChanged=/var/spool/smtpsend/maildrop', path,
              'the maildrop trigger')
    expect_in('Unit=smtpsend-queue.service', path, 'starts the runner')
    r = make('uninstall-sendmail', 'DESTDIR=' + d)
    expect_eq(r.returncode, 0, 'uninstall: %s' % r.stderr)
    expect(not os.path.lexists(d + '/usr/sbin/sendmail'), 'link removed')
    for unit in ('smtpsend-queue.timer', 'smtpsend-queue.service',
                 'smtpsend-maildrop.path'):
        expect(not os.path.exists(d + '/etc/systemd/system/' + unit),
               unit + ' removed')
    expect(not os.path.exists(d + '/var/spool/smtpsend'), 'empty spool removed')


@test
def install_runner_without_systemd_is_a_cron_line():
    d = tempfile.mkdtemp(prefix='smtpsend-destdir-')
    r = make('install-runner', 'DESTDIR=' + d, 'SYSTEMD=0')
    expect_eq(r.returncode, 0, 'make: %s' % r.stderr)
    line = open(d + '/etc/cron.d/smtpsend').read()
    expect_in('*/5 * * * * root [ -d /run/systemd/system ] || '
              '/usr/local/bin/smtpsend -q --due', line,
              'cron.d line, idle where systemd runs')


if __name__ == '__main__':
    main()
