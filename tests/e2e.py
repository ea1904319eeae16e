# SPDX-License-Identifier: ISC
"""Running the smtpsend binary in tests: a private HOME, a config file made
for the test, stdin in, exit status and both outputs back."""
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402,F401  (harness.TMP: what is made here goes at exit)
import smtpserver  # noqa: E402

BINARY = os.environ.get('SMTPSEND') or os.path.join(HERE, '..', 'build',
                                                    'smtpsend')
_certs = None


def certs():
    """Test certificates, made once per test program."""
    global _certs
    if _certs is None:
        _certs = smtpserver.make_certs(tempfile.mkdtemp(prefix='certs-'))
    return _certs


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return 'rc=%d stderr=%r' % (self.rc, self.err[-600:])


def config_home(text, home):
    """Where run() writes a -C file: one directory per outbox the config
    names, so that the runs of one test that share an outbox share one -C
    file, as a person edits one file (entries go with their -C file,
    CONTRACT section 7); else `home`."""
    boxes = [line.split(None, 1)[1].strip() for line in text.splitlines()
             if line.startswith('outbox /')]
    if not boxes:
        return home
    d = os.path.join(tempfile.gettempdir(), 'cfg-' + hashlib.sha256(
        boxes[-1].encode()).hexdigest()[:16])
    os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def write_config(text, mode=0o600, directory=None):
    directory = directory or config_home(text, None) or tempfile.mkdtemp(
        prefix='cfg-')
    path = os.path.join(directory, 'config')
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)
    return path


_private_spool = None


def private_spool():
    """As root, smtpsend's own outbox is /var/spool/smtpsend whatever the
    environment says: tests run it in a mount namespace with a tmpfs over
    /var/spool, so the machine's spool never sees a test's message."""
    global _private_spool
    if _private_spool is None:
        _private_spool = []
        if os.geteuid() == 0:
            probe = subprocess.run(SPOOL_WRAP + ['true'], capture_output=True)
            if probe.returncode == 0:
                _private_spool = SPOOL_WRAP
    return _private_spool


SPOOL_WRAP = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
              'mount -t tmpfs -o mode=0755 tmpfs /var/spool && exec "$@"',
              'sh']


def run(args, stdin=b'', config=None, env=None, argv0=None, timeout=60):
    """Run smtpsend; `config` is the text of a -C file (mode 0600)."""
    home = tempfile.mkdtemp(prefix='home-')
    e = {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': home, 'LC_ALL': 'C'}
    e.update(env or {})
    argv = [argv0 or BINARY]
    if config is not None:
        argv += ['-C', write_config(config, directory=config_home(config,
                                                                   home))]
    wrap = private_spool()
    if wrap:
        # exec -a keeps argv[0] (mailq, sendmail) through the wrapper.
        cmd = wrap[:-2] + ['mount -t tmpfs -o mode=0755 tmpfs /var/spool && '
                           'exec -a "$0" "$@"', argv[0], BINARY] + argv[1:]
        cmd[cmd.index('sh')] = 'bash'
    else:
        cmd = argv
    # A file object is the standard input itself (a regular file), not a pipe.
    given = {'stdin': stdin} if hasattr(stdin, 'fileno') else {'input': stdin}
    p = subprocess.run(cmd + list(args), env=e,
                       executable=None if wrap else BINARY,
                       capture_output=True, timeout=timeout, **given)
    return Result(p.returncode, p.stdout, p.stderr.decode(errors='replace'))


def account(port, tls='starttls', user='tester', password='secret', extra=''):
    """A config for the scripted server on `port`."""
    # Failures keep the message: in a directory of the test's own.
    outbox = os.path.join(tempfile.mkdtemp(prefix='ob-'), 'outbox')
    lines = ['account default', 'host 127.0.0.1', 'port %d' % port,
             'from sender@example.org', 'syslog off', 'timeout 10',
             'outbox %s' % outbox]
    if tls is None:
        lines.append('tls off')
    else:
        lines.append('tls_trust_file %s' % certs().ca)
        if tls == 'implicit':
            lines.append('tls_starttls off')
    if user:
        lines += ['user %s' % user, 'password %s' % password]
    return '\n'.join(lines) + '\n' + extra


def server(tls='starttls', cert=None, key=None, **kw):
    c = certs()
    if tls:
        kw.setdefault('cert', cert or c.cert)
        kw.setdefault('key', key or c.key)
    s = smtpserver.Server(tls=tls, **kw)
    s.start()
    return s


def normalise(data):
    """CONTRACT section 5, as a reference implementation for comparisons."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b'\r':
            j = i
            while j < n and data[j:j + 1] == b'\r':
                j += 1
            if j < n and data[j:j + 1] == b'\n':
                out += b'\r\n'
                i = j + 1
            else:
                out += b' ' * (j - i)
                i = j
            continue
        out += b'\r\n' if c == b'\n' else c
        i += 1
    if out and not out.endswith(b'\r\n'):
        out += b'\r\n'
    return bytes(out)


class BsClient:
    """Talks to `smtpsend -bs` over its pipes, one reply at a time
    (tests/test_bs.py, tests/test_many.py)."""

    def __init__(self, cfg):
        self.p = subprocess.Popen([BINARY, '-C', write_config(cfg), '-bs'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)

    def reply(self):
        lines = []
        while True:
            line = self.p.stdout.readline().decode()
            if not line:
                return lines
            lines.append(line.rstrip('\r\n'))
            if len(line) < 4 or line[3] != '-':
                return lines

    def cmd(self, text):
        self.p.stdin.write(text.encode() + b'\r\n')
        self.p.stdin.flush()
        return self.reply()

    def code(self, text):
        r = self.cmd(text)
        return int(r[-1][:3]) if r else 0

    def message(self, rcpt, body):
        """MAIL, RCPT for each of `rcpt` (a comma list), DATA, the body:
        the last line of the reply to the end of data."""
        self.cmd('MAIL FROM:<sender@example.org>')
        for one in rcpt.split(','):
            self.cmd('RCPT TO:<%s>' % one)
        self.cmd('DATA')
        self.p.stdin.write(body + b'\r\n.\r\n')
        self.p.stdin.flush()
        return self.reply()[-1]

    def close(self, quit=False):
        if quit:
            self.cmd('QUIT')
        self.p.stdin.close()
        rc = self.p.wait(timeout=30)
        return rc, self.p.stderr.read().decode()
