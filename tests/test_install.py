#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""make install-sendmail into a DESTDIR: the links, root's spool and the
maildrop with their modes, the periodic runner (systemd timer, or cron.d),
and uninstall-sendmail taking it all back; a refusal that installs nothing;
and, in a mount namespace with overlays over /usr, /etc and /var (so dpkg's
own database is a private copy), another MTA's dpkg package diverted with
dpkg-divert and given back. Never the machine's own /."""
import os
import shutil
import stat
import subprocess
import tempfile

from harness import test, expect, expect_eq, expect_in, skip, main
import ns

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


def tree(d):
    """Every path under d, relative."""
    out = []
    for top, dirs, files in os.walk(d):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(top, n), d))
    return sorted(out)


@test
def a_refusal_installs_nothing():
    d = tempfile.mkdtemp(prefix='smtpsend-destdir-')
    os.makedirs(d + '/usr/sbin')
    with open(d + '/usr/sbin/sendmail', 'w') as f:
        f.write('#!/bin/sh\n# another MTA\n')
    before = tree(d)
    r = make('install-sendmail', 'DESTDIR=' + d, 'SYSTEMD=1')
    expect(r.returncode != 0, 'make install-sendmail refuses')
    expect_in(d + '/usr/sbin/sendmail belongs to another MTA; FORCE=1 '
              'replaces it', r.stderr, 'says why')
    expect_in('nothing was installed', r.stderr, 'says nothing changed')
    expect_eq(tree(d), before, 'no binary, spool or runner installed')
    shutil.rmtree(d)


@test
def a_spool_of_someone_else_is_refused():
    if os.geteuid() != 0:
        skip('needs root to give the spool away')
    d = tempfile.mkdtemp(prefix='smtpsend-destdir-')
    os.makedirs(d + '/var/spool/smtpsend')
    os.chmod(d + '/var/spool/smtpsend', 0o777)
    os.chown(d + '/var/spool/smtpsend', 65534, 65534)
    before = tree(d)
    r = make('install-sendmail', 'DESTDIR=' + d, 'SYSTEMD=0')
    expect(r.returncode != 0, 'make install-sendmail refuses')
    expect_in('/var/spool/smtpsend belongs to nobody, not root', r.stderr,
              'says why')
    expect_eq(tree(d), before, 'nothing installed')
    expect_eq(mode(d + '/var/spool/smtpsend'), 0o777, 'mode not changed')
    shutil.rmtree(d)


FAKE_MTA = """Package: smtpsend-test-mta
Version: 1.0
Architecture: all
Maintainer: smtpsend tests <tests@example.org>
Provides: mail-transport-agent
Description: an MTA for tests/test_install.py
 It owns /usr/sbin/sendmail, /usr/lib/sendmail and /usr/bin/mailq.
"""
LINKS = ('/usr/sbin/sendmail', '/usr/lib/sendmail', '/usr/bin/mailq',
         '/usr/bin/newaliases')


def fake_mta_deb(d):
    root = os.path.join(d, 'pkg')
    for sub in ('DEBIAN', 'usr/sbin', 'usr/lib', 'usr/bin'):
        os.makedirs(os.path.join(root, sub))
    with open(root + '/DEBIAN/control', 'w') as f:
        f.write(FAKE_MTA)
    with open(root + '/usr/sbin/sendmail', 'w') as f:
        f.write('#!/bin/sh\necho the other MTA\n')
    os.chmod(root + '/usr/sbin/sendmail', 0o755)
    os.symlink('../sbin/sendmail', root + '/usr/lib/sendmail')
    os.symlink('../sbin/sendmail', root + '/usr/bin/mailq')
    deb = os.path.join(d, 'smtpsend-test-mta.deb')
    subprocess.run(['dpkg-deb', '--root-owner-group', '--build', root, deb],
                   check=True, stdout=subprocess.DEVNULL)
    return deb


def in_private_system(script, d):
    """script (sh) in a mount namespace where /usr, /etc and /var are
    overlays of the machine's: dpkg, its database and every file written
    are private copies, thrown away with d."""
    mounts = ['set -e']
    for top in ('usr', 'etc', 'var'):
        os.makedirs('%s/%s-up' % (d, top))
        os.makedirs('%s/%s-work' % (d, top))
        mounts.append('mount -t overlay overlay -o lowerdir=/%s,upperdir='
                      '%s/%s-up,workdir=%s/%s-work /%s'
                      % (top, d, top, d, top, top))
    return subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh',
                           '-c', '\n'.join(mounts + ['cd ' + ROOT, script])],
                          capture_output=True, text=True, timeout=300)


@test
def a_dpkg_packages_sendmail_is_diverted_and_given_back():
    why = ns.available()
    if why or not shutil.which('dpkg-divert'):
        skip(why or 'no dpkg')
    d = tempfile.mkdtemp(prefix='smtpsend-divert-')
    deb = fake_mta_deb(d)
    make_ = 'make -s SYSTEMD=0 '
    r = in_private_system("""
        # Whatever MTA this machine has is out of the way, in here only.
        rm -f %(links)s
        dpkg --force-overwrite --force-conflicts -i %(deb)s >/dev/null 2>&1
        echo "== refused"
        %(make)s install-sendmail 2>&1 && exit 1
        ls /usr/local/bin/smtpsend /var/spool/smtpsend 2>&1 || true
        echo "== FORCE=1"
        %(make)s install-sendmail FORCE=1 >/dev/null
        dpkg-divert --list '*sendmail*' | sort
        dpkg-divert --list '*mailq*'
        readlink /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq
        /usr/sbin/sendmail.before-smtpsend
        echo "== upgrade of the other MTA"
        dpkg --force-conflicts -i %(deb)s >/dev/null 2>&1
        readlink /usr/sbin/sendmail
        dpkg --verify smtpsend-test-mta && echo verified
        echo "== uninstall"
        %(make)s uninstall-sendmail >/dev/null
        dpkg-divert --list '*smtpsend*'
        /usr/sbin/sendmail
        readlink /usr/lib/sendmail /usr/bin/mailq
        ls /usr/bin/newaliases 2>&1 || true
        """ % {'links': ' '.join(LINKS), 'deb': deb, 'make': make_}, d)
    out = r.stdout
    expect_eq(r.returncode, 0, 'script: %s %s' % (out, r.stderr))
    refused, forced = out.split('== FORCE=1\n')
    expect_in('/usr/sbin/sendmail belongs to smtpsend-test-mta; FORCE=1',
              refused, 'the refusal names the package')
    expect_in("cannot access '/usr/local/bin/smtpsend'", refused,
              'no binary installed on a refusal')
    expect_in("cannot access '/var/spool/smtpsend'", refused,
              'no spool made on a refusal')
    forced, upgraded = forced.split('== upgrade of the other MTA\n')
    for p in ('/usr/sbin/sendmail', '/usr/lib/sendmail', '/usr/bin/mailq'):
        expect_in('diversion of %s to %s.before-smtpsend by smtpsend'
                  % (p, p), forced, 'dpkg-divert --rename --package smtpsend')
    expect_eq(forced.count('/usr/local/bin/smtpsend'), 3, 'the links')
    expect_in('the other MTA', forced, 'the original kept aside')
    upgraded, gone = upgraded.split('== uninstall\n')
    expect_eq(upgraded, '/usr/local/bin/smtpsend\nverified\n',
              'its upgrade does not put it back; dpkg --verify is clean')
    expect_eq(gone, 'the other MTA\n../sbin/sendmail\n../sbin/sendmail\n'
              "ls: cannot access '/usr/bin/newaliases': No such file or "
              'directory\n', 'uninstall-sendmail gives it back')
    shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main()
