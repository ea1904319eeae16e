# SPDX-License-Identifier: ISC
"""Private namespaces for tests that want /etc, /var/spool, a host name or
another user: `unshare -m -u` with overlays over /etc and /var/spool, so the
machine's own files and name never change (writes land in a temporary
upper directory that is thrown away).

    with System(hostname='vm', etc={'smtpsend.conf': (text, 0o600)}) as s:
        r = s.run(['a@example.org'], stdin=b'...', uid=33)
"""
import os
import shlex
import shutil
import subprocess
import tempfile

from e2e import BINARY, Result, certs

WHY_NOT = None


def available():
    """None when namespaces can be used here, else why not."""
    global WHY_NOT
    if WHY_NOT is not None:
        return WHY_NOT or None
    if os.geteuid() != 0:
        WHY_NOT = 'not root'
    elif not shutil.which('unshare') or not shutil.which('setpriv'):
        WHY_NOT = 'no unshare or setpriv'
    else:
        t = tempfile.mkdtemp(prefix='ns-probe-')
        os.makedirs(t + '/u')
        os.makedirs(t + '/w')
        # mount -n: Debian 13's mount (util-linux 2.41) would make
        # /run/mount on the machine.
        p = subprocess.run(['unshare', '-m', '-u', '--propagation', 'private',
                            'sh', '-c', 'mount -n -t overlay overlay -o '
                            'lowerdir=/etc,upperdir=%s/u,workdir=%s/w /etc && '
                            'hostname probe' % (t, t)], capture_output=True)
        shutil.rmtree(t, ignore_errors=True)
        WHY_NOT = '' if p.returncode == 0 else (
            'cannot make a private mount and UTS namespace: %s'
            % p.stderr.decode(errors='replace').strip())
    return WHY_NOT or None


class System:
    """A private /etc, /var/spool and host name, built afresh for each run.

    etc: {name: (text, mode)} written into /etc (None as text removes it).
    maildrop: create /var/spool/smtpsend/maildrop (root's, 1733), as
    `make install-sendmail` does; the spool persists across runs of one
    System in `self.spool` (the upper directory)."""

    def __init__(self, hostname=None, etc=None, maildrop=True, mailname=None):
        self.dir = tempfile.mkdtemp(prefix='sys-')
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.dirname(certs().ca), 0o755)  # for other users
        self.hostname = hostname
        self.etc = dict(etc or {})
        if mailname is not None:
            self.etc['mailname'] = (mailname + '\n' if mailname else None, 0o644)
        for d in ('etc-up', 'etc-work', 'spool-up', 'spool-work', 'homes'):
            os.makedirs(os.path.join(self.dir, d))
        os.chmod(os.path.join(self.dir, 'homes'), 0o755)
        self.spool = os.path.join(self.dir, 'spool-up')
        if maildrop:
            md = os.path.join(self.spool, 'smtpsend', 'maildrop')
            os.makedirs(md)
            os.chmod(os.path.dirname(md), 0o711)
            os.chmod(md, 0o1733)
            # Opaque: the machine's own /var/spool/smtpsend stays unseen.
            os.setxattr(os.path.dirname(md), 'trusted.overlay.opaque', b'y')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def home(self, uid):
        h = os.path.join(self.dir, 'homes', str(uid))
        if not os.path.isdir(h):
            os.makedirs(h)
            os.chown(h, uid, uid)
            os.chmod(h, 0o700)
        return h

    def maildrop(self):
        return os.path.join(self.spool, 'smtpsend', 'maildrop')

    def leave(self, name, data, uid):
        """An entry a user left in the maildrop (0600, theirs): its path."""
        path = os.path.join(self.maildrop(), name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chown(path, uid, uid)
        os.chmod(path, 0o600)
        return path

    def root_outbox(self):
        return os.path.join(self.spool, 'smtpsend')

    def _setup(self):
        d = self.dir
        lines = ['set -e',
                 'mount -n -t overlay overlay -o lowerdir=/etc,upperdir='
                 '%s/etc-up,workdir=%s/etc-work /etc' % (d, d),
                 'mount -n -t overlay overlay -o lowerdir=/var/spool,upperdir='
                 '%s/spool-up,workdir=%s/spool-work /var/spool' % (d, d)]
        for name, (text, mode) in self.etc.items():
            path = '/etc/' + name
            if text is None:
                lines.append('rm -f %s' % path)
                continue
            src = os.path.join(d, 'etcfile-' + name.replace('/', '_'))
            with open(src, 'w') as f:
                f.write(text)
            lines += ['cp %s %s' % (src, path), 'chmod %o %s' % (mode, path),
                      'chown root:root %s' % path]
        if self.hostname:
            lines.append('hostname %s' % shlex.quote(self.hostname))
        return lines

    def run(self, args, stdin=b'', uid=0, env=None, argv0=None, home=None,
            config=None, timeout=60, shell=None):
        """smtpsend (or `shell`, a command line) inside the namespace as
        `uid` (setpriv; 0 stays root)."""
        home = home or (self.home(uid) if uid else
                        tempfile.mkdtemp(prefix='roothome-'))
        e = {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': home,
             'LC_ALL': 'C'}
        e.update(env or {})
        argv = [argv0 or BINARY]
        if config is not None:
            path = os.path.join(home, 'config')
            with open(path, 'w') as f:
                f.write(config)
            os.chmod(path, 0o600)
            os.chown(path, uid, uid)
            argv += ['-C', path]
        if shell is not None:
            cmd = shell
        else:
            cmd = 'exec -a %s %s %s' % (shlex.quote(argv[0]),
                                         shlex.quote(BINARY),
                                         ' '.join(shlex.quote(a) for a in
                                                  argv[1:] + list(args)))
        if uid:
            cmd = ('exec setpriv --reuid=%d --regid=%d --clear-groups '
                   'bash -c %s' % (uid, uid, shlex.quote(cmd)))
        script = '\n'.join(self._setup() + [cmd])
        p = subprocess.run(['unshare', '-m', '-u', '--propagation', 'private',
                            'bash', '-c', script], input=stdin, env=e,
                           capture_output=True, timeout=timeout)
        return Result(p.returncode, p.stdout,
                      p.stderr.decode(errors='replace'))
