#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The Debian packages (make deb) as a system administrator meets them, in a
private Debian 12 chroot (debootstrap --variant=minbase, cached as
build/debian12-minbase.tar; SMTPSEND_SUITE=trixie: Debian 13, cached as
build/debian13-minbase.tar): piuparts in the bare chroot (install, purge),
then Postfix installed, then smtpsend-mta installed
over it with apt (Postfix goes, /usr/sbin/sendmail is smtpsend), programs
that want an MTA (logwatch, mdadm, bsd-mailx) plan no other, a cron-like
mail through /usr/sbin/sendmail to tests/smtpserver.py on 127.0.0.1,
piuparts over Postfix, then remove (kept mail stays, and is said) and purge
(an empty spool only), and postinst facing a spool with wrong modes or
owner. Run by `make check-deb`
(SMTPSEND_DEBS names the directory of the .deb files); the chroot lives in
its own mount namespace, no daemon starts (policy-rc.d), and the machine's
own files are never touched. Prints a transcript for the report."""
import glob
import os
import shutil
import subprocess
import tempfile
import time

from harness import (test, expect, expect_eq, expect_in, expect_not_in, skip,
                     main)

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, '..', 'build')
# The release: the packages are built on it (make deb there), then tested.
SUITE = os.environ.get('SMTPSEND_SUITE') or 'bookworm'
RELEASE = {'bookworm': 'Debian 12', 'trixie': 'Debian 13'}.get(SUITE, SUITE)
BASE = os.path.join(BUILD, '%s-minbase.tar'
                    % RELEASE.lower().replace(' ', ''))
MIRROR = os.environ.get('DEBIAN_MIRROR') or subprocess.run(
    ['sh', os.path.join(HERE, 'debian-mirror.sh')], capture_output=True,
    text=True).stdout.strip()
DEBS = os.environ.get('SMTPSEND_DEBS')
# Every package that provides mail-transport-agent in Debian 12 or 13.
MTAS = ('postfix', 'exim4-daemon-light', 'exim4-daemon-heavy', 'exim4-base',
        'sendmail-bin', 'nullmailer', 'msmtp-mta', 'dma', 'opensmtpd',
        'courier-mta', 'ssmtp', 'esmtp-run', 'masqmail', 'citadel-mta')


# Where files are handed to the chroot: not /tmp, which Debian 13's systemd
# mounts a tmpfs over when the chroot is booted (units_under_systemd).
TMP = '/var/tmp'


def log(*lines):
    for line in lines:
        print('  | ' + line, flush=True)


def base_tarball():
    """A minbase of SUITE made by debootstrap once, then reused."""
    if os.path.exists(BASE):
        return
    t = time.time()
    os.makedirs(BUILD, exist_ok=True)
    root = tempfile.mkdtemp(prefix=SUITE + '-', dir=BUILD)
    os.chmod(root, 0o755)
    try:
        subprocess.run(['debootstrap', '--variant=minbase', SUITE, root,
                        MIRROR], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(['tar', '-C', root, '-cf', BASE + '.tmp', '.'],
                       check=True)
        os.rename(BASE + '.tmp', BASE)
        log('debootstrap --variant=minbase %s: %.0f s' % (SUITE,
            time.time() - t))
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Chroot:
    """A fresh copy of the base in build/, entered with `unshare -m -u`:
    its root bind-mounted onto itself, /proc and /dev mounted, all of it
    gone with the namespace."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix='pkgtest-', dir=BUILD)
        os.chmod(self.root, 0o755)
        subprocess.run(['tar', '-C', self.root, '-xf', BASE], check=True)
        # No daemon starts: Postfix is installed, never run.
        self.write('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755)
        shutil.copy('/etc/resolv.conf', self.path('/etc/resolv.conf'))

    def path(self, p):
        return self.root + p

    def write(self, p, text, mode=0o644):
        with open(self.path(p), 'w') as f:
            f.write(text)
        os.chmod(self.path(p), mode)

    def read(self, p):
        with open(self.path(p)) as f:
            return f.read()

    def sh(self, cmd, timeout=900):
        """cmd in the chroot as root; returns (exit status, stdout+stderr)."""
        enter = ('set -e; R="$1"; mount --bind "$R" "$R"; '
                 'mount -t proc proc "$R/proc"; mount --bind /dev "$R/dev"; '
                 'hostname pkgtest; exec chroot "$R" /usr/bin/env -i '
                 'PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 '
                 'DEBIAN_FRONTEND=noninteractive /bin/sh -c "$2"')
        p = subprocess.run(['unshare', '-m', '-u', '--propagation', 'private',
                            'sh', '-c', enter, 'sh', self.root, cmd],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout

    def ok(self, cmd, what):
        rc, out = self.sh(cmd)
        expect_eq(rc, 0, '%s (%s): %s' % (what, cmd, out[-2000:]))
        return out

    def installed(self, pkg):
        rc, out = self.sh("dpkg-query -W -f='${Status}' %s" % pkg)
        return rc == 0 and out.endswith('install ok installed')

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.root + '-postfix', ignore_errors=True)


C = None
OWN_CONF = ('# The administrator\'s own configuration: never overwritten.\n'
            'account default\nhost smtp.example.com\nfrom admin@example.com\n')
CRON_MAIL = ('From: root (Cron Daemon)\nTo: root\n'
             'Subject: Cron <root@pkgtest> test -x /usr/sbin/anacron\n\n'
             'run-parts: /etc/cron.daily/logrotate exited with return code 1\n')


def needs_chroot():
    if not DEBS:
        skip('make check-deb runs it (SMTPSEND_DEBS names the .deb files)')
    if C is None:
        skip('no chroot: the first test failed')


def debs(*names):
    """The .deb files of these packages, copied into the chroot's /var/tmp
    (TMP)."""
    out = []
    for n in names:
        found = sorted(glob.glob(os.path.join(DEBS, n + '_*.deb')))
        expect(found, 'no %s_*.deb in %s (make deb)' % (n, DEBS))
        shutil.copy(found[-1], C.path(TMP))
        out.append('.' + TMP + '/' + os.path.basename(found[-1]))
    return ' '.join(out)


def piuparts(chroot, what, *ignore):
    """piuparts from an existing chroot of SUITE: install, remove, purge,
    nothing left behind but what ignore names; its summary line."""
    t = time.time()
    # Debian 13's debconf leaves /var/cache/debconf/tmp.ci behind for any
    # package; Debian 13's piuparts (1.6) ignores it by default, Debian 12's
    # (1.1.7) does not know it yet.
    p = subprocess.run(['piuparts', '--log-level=info', '-e', chroot, '-d',
                        SUITE, '-m', MIRROR,
                        '--ignore=/var/cache/debconf/tmp.ci/'] +
                       ['--ignore=' + i for i in ignore] +
                       sorted(glob.glob(os.path.join(DEBS, '*.deb'))),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=900)
    expect_eq(p.returncode, 0, 'piuparts %s: %s' % (what, p.stdout[-3000:]))
    expect_in('PASS: All tests.', p.stdout, 'piuparts passes')
    log('piuparts %s: %s (%.0f s)' % (what, [line for line in
        p.stdout.splitlines() if 'PASS: Installation and purging' in
        line][0].split('INFO: ')[-1], time.time() - t))


@test
def piuparts_in_a_bare_chroot():
    """piuparts in the minbase chroot as debootstrap made it (the chroot
    piuparts would make itself, made once for all these tests)."""
    if not DEBS:
        skip('make check-deb runs it (SMTPSEND_DEBS names the .deb files)')
    if os.geteuid() != 0 or not shutil.which('debootstrap'):
        skip('needs root and debootstrap')
    if not shutil.which('piuparts'):
        skip('no piuparts')
    base_tarball()
    root = tempfile.mkdtemp(prefix='pkgtest-bare-', dir=BUILD)
    try:
        os.chmod(root, 0o755)
        subprocess.run(['tar', '-C', root, '-xf', BASE], check=True)
        piuparts(root, 'in a bare %s chroot' % RELEASE)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@test
def smtpsend_mta_replaces_postfix():
    global C
    if not DEBS:
        skip('make check-deb runs it (SMTPSEND_DEBS names the .deb files)')
    if os.geteuid() != 0 or not shutil.which('debootstrap'):
        skip('needs root and debootstrap')
    t = time.time()
    base_tarball()
    C = Chroot()
    log('%s minbase chroot ready in %.0f s' % (RELEASE, time.time() - t))
    C.write('/etc/smtpsend.conf', OWN_CONF, 0o600)
    C.ok('apt-get update -q', 'apt-get update')
    # systemd too, to boot the chroot later (units_under_systemd).
    C.ok('apt-get install -y -q --no-install-recommends systemd systemd-sysv '
         'postfix', 'install postfix')
    expect(C.installed('postfix'), 'postfix installed')
    # Kept for piuparts (piuparts_over_postfix).
    subprocess.run(['cp', '-a', C.root, C.root + '-postfix'], check=True)
    log('postfix installed: /usr/sbin/sendmail is %s'
        % C.ok('dpkg -S /usr/sbin/sendmail', 'dpkg -S').strip())
    out = C.ok('cd / && apt-get install -y -q %s'
               % debs('smtpsend', 'smtpsend-mta'), 'apt install smtpsend-mta')
    removed = out.split('The following packages will be REMOVED:')[-1]
    removed = removed.split('The following')[0].split()
    log('apt install ./smtpsend_*.deb ./smtpsend-mta_*.deb removed: '
        + ' '.join(removed))
    expect_in('postfix', removed, 'apt removes postfix')
    expect(not C.installed('postfix'), 'postfix is gone')
    for link in ('/usr/sbin/sendmail', '/usr/lib/sendmail', '/usr/bin/mailq',
                 '/usr/bin/newaliases'):
        target = C.ok('readlink -f ' + link, 'readlink').strip()
        expect_eq(target, '/usr/bin/smtpsend', link)
    log('/usr/sbin/sendmail -> /usr/bin/smtpsend (%s)'
        % C.ok('dpkg -S /usr/sbin/sendmail', 'dpkg -S').strip())
    expect_eq(C.read('/etc/smtpsend.conf'), OWN_CONF,
              'an existing /etc/smtpsend.conf is left alone')
    spool_modes('installed')
    for want in ('timers.target.wants/smtpsend-queue.timer',
                 'paths.target.wants/smtpsend-maildrop.path'):
        expect(os.path.islink(C.path('/etc/systemd/system/' + want)),
               'enabled with deb-systemd-helper: ' + want)
    expect_in('[ -d /run/systemd/system ] || /usr/bin/smtpsend -q --due',
              C.read('/etc/cron.d/smtpsend'), 'the cron line')


def spool_modes(when):
    out = C.ok('stat -c "%a %U %n" /var/spool/smtpsend '
               '/var/spool/smtpsend/maildrop', 'stat the spool')
    expect_eq(out.split('\n')[:2], ['711 root /var/spool/smtpsend',
              '1733 root /var/spool/smtpsend/maildrop'], 'spool ' + when)


@test
def programs_that_want_an_mta_plan_no_other():
    needs_chroot()
    out = C.ok('apt-get install -s -q logwatch mdadm bsd-mailx',
               'apt-get install -s')
    planned = [line.split()[1] for line in out.splitlines()
               if line.startswith('Inst ')]
    log('apt-get install -s logwatch mdadm bsd-mailx plans: '
        + ' '.join(planned))
    expect_in('logwatch', planned, 'logwatch planned')
    expect_not_in('Remv smtpsend', out, 'smtpsend-mta stays')
    for p in planned:
        expect(p not in MTAS, 'apt plans another MTA: ' + p)
    shows = C.ok('apt-cache show --no-all-versions ' + ' '.join(planned),
                 'apt-cache show')
    provides = [line for line in shows.splitlines()
                if line.startswith('Provides:')]
    expect(not [line for line in provides if 'mail-transport-agent' in line],
           'a planned package provides mail-transport-agent: %s' % provides)
    log('MTA of the plan: smtpsend-mta (the mail-transport-agent installed)')


def server():
    """tests/smtpserver.py on 127.0.0.1 (outside the chroot: the same
    network), STARTTLS with a CA the chroot is given."""
    d = tempfile.mkdtemp(prefix='pkgtest-server-')
    out = open(os.path.join(d, 'out'), 'w')
    p = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE,
                          'smtpserver.py'), '--tls', 'starttls', '--certdir',
                          d, '--once'], stdout=out, stderr=subprocess.STDOUT)
    for _ in range(100):
        text = open(os.path.join(d, 'out')).read()
        if 'CA certificate' in text:
            break
        time.sleep(0.1)
    port = text.split('listening on 127.0.0.1:')[1].split()[0]
    shutil.copy(os.path.join(d, 'ca.pem'), C.path('/etc/ssl/pkgtest-ca.pem'))
    C.write('/etc/smtpsend.conf', 'account default\nhost 127.0.0.1\n'
            'port %s\ntls_trust_file /etc/ssl/pkgtest-ca.pem\n'
            'user tester\npassword secret\nfrom root@pkgtest.example.org\n'
            'maildomain example.org\nsyslog off\n' % port, 0o600)
    return p, os.path.join(d, 'out'), d


def cron_mail():
    C.write('/var/tmp/cron.eml', CRON_MAIL)
    return C.sh('/usr/sbin/sendmail -i -FCronDaemon -odi -oem -oi -t '
                '</var/tmp/cron.eml')


@test
def a_cron_mail_arrives():
    needs_chroot()
    p, out, d = server()
    try:
        rc, said = cron_mail()
        expect_eq(rc, 0, 'sendmail -t: %s' % said)
        p.wait(timeout=30)
    finally:
        p.kill()
    got = open(out).read()
    shutil.rmtree(d, ignore_errors=True)
    for want in ('RCPT TO:<root@example.org>', 'Cron Daemon',
                 'Subject: Cron <root@pkgtest>'):
        expect_in(want, got, 'the server received')
    log('arrived at the test server:', *[line for line in got.splitlines()
        if line.startswith(('MAIL FROM', 'RCPT TO', 'From:', 'To:',
                            'Subject:'))])


@test
def piuparts_over_postfix():
    """piuparts: install over Postfix, remove, purge; nothing left behind."""
    needs_chroot()
    if not shutil.which('piuparts'):
        skip('no piuparts')
    # piuparts puts Postfix back after the purge. Debian 13's Postfix
    # (3.10.13-0+deb13u1) leaves /var/lib/postfix root's then: its removal
    # by our Conflicts removes the empty directory it ships, and its postinst
    # makes it postfix's on a first install only. Not ours to check.
    piuparts(C.root + '-postfix', 'over Postfix', '/var/lib/postfix/')


def cgroup2():
    """Where the cgroup2 hierarchy is mounted (unified or hybrid), or None."""
    with open('/proc/self/mountinfo') as f:
        for line in f:
            parts = line.split()
            if parts[parts.index('-') + 1] == 'cgroup2':
                return parts[4]
    return None


# Units that would reach past the chroot (kernel settings, modules, the
# machine's console) stay masked in the booted chroot.
MASKED = ('systemd-sysctl.service', 'systemd-binfmt.service',
          'systemd-modules-load.service', 'modprobe@.service',
          'console-getty.service', 'getty.target', 'systemd-firstboot.service',
          'proc-sys-fs-binfmt_misc.automount', 'sys-kernel-config.mount',
          'sys-kernel-debug.mount', 'sys-kernel-tracing.mount',
          'sys-fs-fuse-connections.mount', 'systemd-pstore.service')


class Booted:
    """The chroot booted with systemd as PID 1 of its own PID, mount, UTS
    and cgroup namespaces, in a cgroup of its own (removed afterwards),
    with /proc/sys and /sys read-only and a /dev of a few devices."""

    def __init__(self, c):
        self.c = c
        self.cg = os.path.join(cgroup2(), 'smtpsend-pkgtest-%d' % os.getpid())
        os.mkdir(self.cg)
        for unit in MASKED:
            link = c.path('/etc/systemd/system/' + unit)
            if not os.path.lexists(link):
                os.symlink('/dev/null', link)
        r = c.root
        devs = ' '.join('touch %s/dev/%s; mount --bind /dev/%s %s/dev/%s;'
                        % (r, n, n, r, n) for n in
                        ('null', 'zero', 'full', 'random', 'urandom', 'tty'))
        inner = ('set -e; mount --bind {r} {r}; mount -t proc proc {r}/proc; '
                 'mount --bind {r}/proc/sys {r}/proc/sys; '
                 'mount -o remount,bind,ro {r}/proc/sys; '
                 'mount -t sysfs -o ro sysfs {r}/sys; '
                 'mount -t cgroup2 cgroup2 {r}/sys/fs/cgroup; '
                 'mount -t tmpfs tmpfs {r}/run; '
                 'mount -t tmpfs -o mode=755 tmpfs {r}/dev; {devs} '
                 'hostname pkgtest; exec chroot {r} /usr/bin/env '
                 'container=smtpsend-test /lib/systemd/systemd'
                 ).format(r=r, devs=devs)
        self.p = subprocess.Popen(
            ['sh', '-c', 'echo $$ >%s/cgroup.procs; exec unshare --cgroup '
             '--pid --fork --mount --uts --propagation private sh -c "$0"'
             % self.cg, inner], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = None
        try:
            self._wait()
        except BaseException:
            self.poweroff()
            raise

    def _wait(self):
        for _ in range(100):
            kids = '/proc/%d/task/%d/children' % (self.p.pid, self.p.pid)
            if os.path.exists(kids) and open(kids).read().split():
                self.pid = int(open(kids).read().split()[0])
                break
            time.sleep(0.1)
        expect(self.pid, 'systemd started')
        state = ''
        for _ in range(120):
            state = self.sh('systemctl is-system-running')[1].strip()
            if state in ('running', 'degraded'):
                break
            time.sleep(0.5)
        expect_eq(state, 'running', 'the booted chroot: %s'
                  % self.sh('systemctl --failed --plain --no-pager')[1])

    def sh(self, cmd):
        p = subprocess.run(['nsenter', '-t', str(self.pid), '-m', '-p', '-u',
                            '-r', '-w', '/usr/bin/env', '-i',
                            'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
                            'LC_ALL=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive',
                            '/bin/sh', '-c', cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        return p.returncode, p.stdout

    def poweroff(self):
        if self.pid:
            self.sh('systemctl poweroff')
        else:
            self.p.kill()
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            if self.pid:
                os.kill(self.pid, 9)    # PID 1: its whole namespace goes
            self.p.wait(timeout=30)
        for top, dirs, _ in os.walk(self.cg, topdown=False):
            for d in dirs:
                os.rmdir(os.path.join(top, d))
        os.rmdir(self.cg)


def unit_states(b, *units):
    return b.sh('systemctl is-active ' + ' '.join(units))[1].split()


def wait_for(cond, seconds):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


@test
def units_under_systemd():
    """The chroot booted: the timer and the maildrop trigger enabled and
    running; mail a user leaves in the maildrop sent within seconds; exit
    75 is no failed unit; remove stops them, install starts them."""
    needs_chroot()
    if not cgroup2() or not shutil.which('nsenter'):
        skip('no cgroup2 hierarchy or nsenter to boot the chroot')
    units = ('smtpsend-queue.timer', 'smtpsend-maildrop.path')
    os.unlink(C.path('/usr/sbin/policy-rc.d'))  # postinst may start them
    b = p = None
    try:
        b = Booted(C)
        expect_eq(b.sh('systemctl is-enabled %s %s' % units)[1].split(),
                  ['enabled', 'enabled'], 'enabled by deb-systemd-helper')
        expect_eq(unit_states(b, *units), ['active', 'active'], 'started')
        p, out, d = server()
        t = time.time()
        C.write('/var/tmp/user.eml', 'Subject: left in the maildrop\n\nhello\n')
        rc, said = b.sh('setpriv --reuid=65534 --regid=65534 --clear-groups '
                        '/usr/sbin/sendmail root </var/tmp/user.eml')
        expect_eq(rc, 0, 'sendmail as nobody: ' + said)
        expect_in('in the system maildrop', said, 'the maildrop took it')
        arrived = wait_for(lambda: 'end of message' in open(out).read(), 20)
        took = time.time() - t
        p.kill()
        got = open(out).read()
        shutil.rmtree(d, ignore_errors=True)
        expect(arrived, 'the trigger sent it: %s' % got[-1000:])
        expect_in('Subject: left in the maildrop', got, 'the message')
        log('booted with systemd: %s and %s enabled and active' % units,
            'mail nobody left in the maildrop reached the server after '
            '%.1f s (smtpsend-maildrop.path started the runner)' % took)
        # The smarthost is gone now: the runner keeps the next one, exit 75.
        rc, said = b.sh('setpriv --reuid=65534 --regid=65534 --clear-groups '
                        '/usr/sbin/sendmail root </var/tmp/user.eml')
        show = 'systemctl show -p ExecMainStatus -p Result -p ActiveState ' \
            'smtpsend-queue.service'
        expect(wait_for(lambda: 'ExecMainStatus=75' in b.sh(show)[1], 20),
               'the runner kept it: %s' % b.sh(show)[1])
        expect(wait_for(lambda: 'ActiveState=inactive' in b.sh(show)[1], 20),
               'the runner is done: %s' % b.sh(show)[1])
        expect_in('Result=success', b.sh(show)[1], 'exit 75 is no failure')
        log('the runner exited 75 (kept for later): Result=success')
        rc, said = b.sh('apt-get remove -y -q smtpsend-mta')
        expect_eq(rc, 0, 'remove: ' + said)
        expect_eq(unit_states(b, *units), ['inactive', 'inactive'],
                  'remove stops them')
        rc, said = b.sh('cd / && apt-get install -y -q ' + debs('smtpsend-mta'))
        expect_eq(rc, 0, 'install: ' + said)
        expect_eq(unit_states(b, *units), ['active', 'active'],
                  'install starts them')
        log('apt-get remove smtpsend-mta stopped both; install started both')
    finally:
        if p:
            p.kill()
        if b:
            b.poweroff()
        C.write('/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755)
        C.ok('find /var/spool/smtpsend -type f -delete', 'no kept mail left')


def kept_files():
    """The mail in the spool (not the users' .index-UID files)."""
    rc, out = C.sh("find /var/spool/smtpsend -type f ! -name '.index-*'")
    return out.split() if rc == 0 else []


@test
def remove_keeps_kept_mail_and_says_so():
    needs_chroot()
    # The test server is gone: the next cron mail is kept (exit 0, queued).
    rc, said = cron_mail()
    expect_eq(rc, 0, 'sendmail with the smarthost down: %s' % said)
    kept = kept_files()
    expect_eq(len(kept), 1, 'one message kept in the spool: ' + said)
    out = C.ok('apt-get remove -y -q smtpsend-mta', 'apt-get remove')
    expect_in('1 kept message file(s) stay in /var/spool/smtpsend', out,
              'remove says kept mail stays')
    expect_eq(kept_files(), kept, 'kept mail stays after remove')
    expect(not os.path.lexists(C.path('/usr/sbin/sendmail')),
           '/usr/sbin/sendmail removed')
    expect(C.installed('smtpsend'), 'the smtpsend package stays')
    log('apt-get remove smtpsend-mta: ' + [line for line in out.splitlines()
        if 'smtpsend-mta:' in line][0])


@test
def purge_removes_an_empty_spool_only():
    needs_chroot()
    out = C.ok('apt-get purge -y -q smtpsend-mta', 'apt-get purge')
    expect_in('left in place', out, 'purge says why the spool stays')
    expect_eq(len(kept_files()), 1, 'kept mail stays after purge')
    expect(not os.path.exists(C.path('/etc/cron.d/smtpsend')),
           'the cron line purged')
    rc, units = C.sh('find /etc/systemd/system -name "smtpsend*"')
    expect_eq(units.split(), [], 'deb-systemd-helper state purged')
    # Again with no mail left, after a user left one in the maildrop (its
    # .index-UID stays there): the spool goes.
    C.ok('cd / && apt-get install -y -q ' + debs('smtpsend-mta'), 'reinstall')
    C.write('/var/tmp/user.eml', 'Subject: left in the maildrop\n\nhello\n')
    C.ok('setpriv --reuid=65534 --regid=65534 --clear-groups '
         '/usr/sbin/sendmail root </var/tmp/user.eml', 'sendmail as nobody')
    C.sh('smtpsend -q')     # picked up, kept in root's outbox: exit 75
    expect(os.path.exists(C.path('/var/spool/smtpsend/maildrop/.index-65534')),
           "nobody's .index-65534 in the maildrop")
    C.ok('rm -f ' + ' '.join(kept_files()), 'rm the kept mail')
    C.ok('apt-get purge -y -q smtpsend-mta', 'apt-get purge')
    expect(not os.path.exists(C.path('/var/spool/smtpsend')),
           'an empty spool is purged')
    log('apt-get purge smtpsend-mta: the spool stayed while it held kept '
        'mail, went once empty')


@test
def postinst_repairs_modes_and_refuses_a_spool_not_roots():
    needs_chroot()
    C.ok('mkdir -m 0777 /var/spool/smtpsend && '
         'chown nobody /var/spool/smtpsend', 'a stranger\'s spool')
    rc, out = C.sh('cd / && apt-get install -y -q ' + debs('smtpsend-mta'))
    expect(rc != 0, 'the install fails')
    expect_in('/var/spool/smtpsend belongs to nobody, not root', out,
              'postinst says why')
    expect_eq(C.ok('stat -c %a /var/spool/smtpsend', 'stat').strip(), '777',
              'a stranger\'s directory keeps its mode')
    expect(not C.installed('smtpsend-mta'), 'left unconfigured')
    C.ok('chown root /var/spool/smtpsend', 'chown')
    out = C.ok('dpkg --configure -a', 'dpkg --configure -a')
    expect_in('/var/spool/smtpsend had mode 777; now 711', out, 'repaired')
    spool_modes('repaired')
    C.ok('chmod 0755 /var/spool/smtpsend/maildrop', 'chmod')
    out = C.ok('cd / && apt-get install -y -q --reinstall '
               + debs('smtpsend-mta'), 'reinstall')
    expect_in('maildrop had mode 755; now 1733', out, 'maildrop repaired')
    spool_modes('repaired again')
    C.ok('apt-get purge -y -q smtpsend-mta smtpsend', 'purge both')
    expect(not os.path.exists(C.path('/var/spool/smtpsend')), 'spool purged')


if __name__ == '__main__':
    if not DEBS:
        # One line in `make check`, not one per test.
        print('skipped: test_package: make check-deb runs it (SMTPSEND_DEBS '
              'names the .deb files)\n1 skipped\n0 passed, 0 failed')
        raise SystemExit(0)
    try:
        main()
    finally:
        if C is not None:
            C.remove()
