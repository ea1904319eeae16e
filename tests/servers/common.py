# SPDX-License-Identifier: ISC
"""What the private server instances share: a test runner that knows
skips, the check that the machine's own mail system was left alone, free
loopback ports, a test CA, Debian packages fetched into build/servers and
extracted there (never installed), private mount namespaces, and cleanup
of every process a test program started even when it is killed.

Nothing here writes outside the temporary directory of a test program and
the cache directory build/servers (SMTPSEND_SERVERS_CACHE), except that
`apt-get update` may be run once when a download fails.
"""
import hashlib
import json
import os
import pwd
import grp
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
import harness  # noqa: E402  (Failure, so that harness.expect* work here)

CACHE = os.path.abspath(os.environ.get('SMTPSEND_SERVERS_CACHE')
                        or os.path.join(ROOT, 'build', 'servers'))
KEEP = os.environ.get('SMTPSEND_SERVERS_KEEP') == '1'
# The servers' directories go straight into $TMPDIR, not below the program's
# harness.TMP: their Unix sockets want short paths (108 bytes at most).
WORKTOP = harness.TOP
VERBOSE = bool(os.environ.get('VERBOSE'))
# Every message a test sends carries this in its Subject: the check of
# the system's queue looks for it.
RUN_ID = 'smtpsend-it-' + secrets.token_hex(6)
HOST = '127.0.0.1'


def log(msg):
    if VERBOSE:
        print('  ' + msg, flush=True)


def token():
    return '%s-%s' % (RUN_ID, secrets.token_hex(8))


# ---------------------------------------------------------------------------
# Test runner: like harness.main, plus skips
# ---------------------------------------------------------------------------

class Skip(getattr(harness, 'Skipped', Exception)):
    """A test (or a whole server) that cannot run here: counted as skipped,
    never as passed.  (harness.skip() is counted the same.)"""


_SKIPS = (Skip, getattr(harness, 'Skipped', Skip))


def skip(why):
    raise Skip(why)


_tests = []


def test(fn):
    _tests.append(fn)
    return fn


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main(start, stop, after_each=None, name='servers'):
    """Run the registered tests between start() and stop().

    start() raising Skip skips every test with its reason; any other
    exception is one failure (and the tests are skipped).  after_each(name)
    runs after every test that ran (e.g. to read the server's log) and may
    fail it.  Before start and after stop, the machine's mail system is
    snapshotted: any difference is a failure.  Prints `N skipped` and then
    `N passed, N failed`."""
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    only = sys.argv[1:]
    t0 = time.monotonic()
    passed = failed = skipped = 0
    guard = SystemGuard()
    guard.take()
    why_not = None
    try:
        try:
            start()
        except _SKIPS as e:
            why_not = str(e)
        except Exception:
            failed += 1
            print('FAIL start %s: exception\n%s' % (name, traceback.format_exc()),
                  flush=True)
            why_not = 'the %s server did not start (see FAIL start)' % name
        for fn in _tests:
            if only and fn.__name__ not in only:
                continue
            if why_not:
                skipped += 1
                print('skipped: %s: %s' % (fn.__name__, why_not), flush=True)
                continue
            outcome, detail = 'ok', ''
            t = time.monotonic()
            try:
                fn()
            except _SKIPS as e:
                outcome, detail = 'skip', str(e)
            except harness.Failure as e:
                outcome, detail = 'fail', str(e)
            except Exception:
                outcome, detail = 'fail', 'exception\n' + traceback.format_exc()
            if after_each:
                try:
                    after_each(fn.__name__)
                except harness.Failure as e:
                    outcome = 'fail'
                    detail = (detail + '; ' if detail else '') + str(e)
                except Exception:
                    outcome = 'fail'
                    detail += 'after_each: exception\n' + traceback.format_exc()
            took = time.monotonic() - t
            if outcome == 'ok':
                passed += 1
                if VERBOSE:
                    print('ok   %s (%.1fs)' % (fn.__name__, took), flush=True)
            elif outcome == 'skip':
                skipped += 1
                print('skipped: %s: %s' % (fn.__name__, detail), flush=True)
            else:
                failed += 1
                print('FAIL %s: %s' % (fn.__name__, detail), flush=True)
    finally:
        try:
            stop()
        except Exception:
            failed += 1
            print('FAIL stop %s: exception\n%s' % (name, traceback.format_exc()),
                  flush=True)
    problems = guard.compare()
    if problems:
        failed += 1
        print('FAIL system_mail_setup_unchanged: %s' % '; '.join(problems),
              flush=True)
    else:
        passed += 1
        if VERBOSE:
            print('ok   system_mail_setup_unchanged (%s)' % guard.summary(),
                  flush=True)
    if VERBOSE:
        print('  %s took %.1fs' % (name, time.monotonic() - t0), flush=True)
    print('%d skipped' % skipped, flush=True)
    print('%d passed, %d failed' % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------
# The machine's own mail system must not change
# ---------------------------------------------------------------------------

GUARD_TREES = ('/etc/postfix', '/etc/exim4', '/etc/dovecot', '/etc/sasl2')
GUARD_FILES = ('/etc/aliases', '/etc/aliases.db', '/etc/mailname', '/etc/sasldb2')
# The accounts a mail server wants: none may appear (or change) on the
# machine.  (Not a hash of /etc/passwd and /etc/group: a package installed
# meanwhile may legitimately add an account of its own.)
GUARD_ACCOUNTS = ('postfix', 'postdrop', 'Debian-exim', 'dovecot', 'dovenull',
                  'smtptest', 'tester', 'sender')
GUARD_LISTINGS = ('/home', '/var/spool/postfix', '/var/spool/exim4',
                  '/var/lib/dovecot', '/var/mail')


def _describe(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 'absent'
    except OSError as e:
        return 'unreadable %s' % e.strerror
    meta = '%o %d:%d' % (st.st_mode, st.st_uid, st.st_gid)
    if os.path.islink(path):
        return 'link %s -> %s' % (meta, os.readlink(path))
    if os.path.isfile(path):
        h = hashlib.sha256()
        try:
            with open(path, 'rb') as f:
                for block in iter(lambda: f.read(1 << 16), b''):
                    h.update(block)
        except OSError as e:
            return 'file %s unreadable %s' % (meta, e.strerror)
        return 'file %s sha256:%s' % (meta, h.hexdigest())
    if os.path.isdir(path):
        return 'dir %s' % meta
    return 'special %s' % meta


def tree_digest(top):
    """{path: description} for top and everything below (symlinks not
    followed): type, mode, owner, and sha256 of file contents."""
    out = {top: _describe(top)}
    if os.path.isdir(top) and not os.path.islink(top):
        for d, dirs, files in os.walk(top):
            for n in sorted(dirs + files):
                p = os.path.join(d, n)
                out[p] = _describe(p)
    return out


def _proc_pids():
    return [int(p) for p in os.listdir('/proc') if p.isdigit()]


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def mount_ns(pid='self'):
    return _readlink('/proc/%s/ns/mnt' % pid)


def _listening_inodes():
    """{socket inode: 'addr:port'} of every listening TCP socket."""
    out = {}
    for name, v6 in (('/proc/net/tcp', False), ('/proc/net/tcp6', True)):
        try:
            with open(name) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != '0A':
                continue
            addr, port = fields[1].split(':')
            raw = bytes.fromhex(addr)
            if v6:
                raw = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                ip = '[%s]' % socket.inet_ntop(socket.AF_INET6, raw)
            else:
                ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
            out[fields[9]] = '%s:%d' % (ip, int(port, 16))
    return out


def process_listeners(pid, inodes=None):
    inodes = _listening_inodes() if inodes is None else inodes
    found = set()
    try:
        fds = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return found
    for fd in fds:
        link = _readlink('/proc/%d/fd/%s' % (pid, fd)) or ''
        m = re.fullmatch(r'socket:\[(\d+)\]', link)
        if m and m.group(1) in inodes:
            found.add(inodes[m.group(1)])
    return found


def system_postfix_masters():
    """PIDs of Postfix master processes of the machine (in our own mount
    namespace: the private instances run in namespaces of their own)."""
    mine = mount_ns()
    pids = []
    for pid in _proc_pids():
        try:
            with open('/proc/%d/comm' % pid) as f:
                if f.read().strip() != 'master':
                    continue
        except OSError:
            continue
        exe = _readlink('/proc/%d/exe' % pid) or ''
        if 'postfix' in exe and mount_ns(pid) == mine:
            pids.append(pid)
    return sorted(pids)


def _system_queue_dirs():
    qdir = '/var/spool/postfix'
    try:
        with open('/etc/postfix/main.cf') as f:
            for line in f:
                m = re.match(r'\s*queue_directory\s*=\s*(\S+)', line)
                if m:
                    qdir = m.group(1)
    except OSError:
        pass
    dirs = [os.path.join(qdir, d) for d in ('maildrop', 'incoming', 'active',
                                            'deferred', 'hold', 'corrupt',
                                            'bounce', 'defer')]
    # smtpsend's own outbox for root, and the system's mail spools
    dirs += ['/var/spool/smtpsend', '/var/spool/exim4/input', '/var/mail']
    return [d for d in dirs if os.path.isdir(d)]


class SystemGuard:
    """Before/after picture of the machine's mail setup."""

    def __init__(self):
        self.before = None
        self.started = time.time()

    def snapshot(self):
        snap = {}
        for top in GUARD_TREES:
            snap.update(tree_digest(top))
        for path in GUARD_FILES:
            snap[path] = _describe(path)
        for name in GUARD_ACCOUNTS:
            try:
                p = pwd.getpwnam(name)
                snap['user ' + name] = '%d:%d %s %s' % (p.pw_uid, p.pw_gid, p.pw_dir,
                                                         p.pw_shell)
            except KeyError:
                snap['user ' + name] = 'absent'
            try:
                g = grp.getgrnam(name)
                snap['group ' + name] = '%d %s' % (g.gr_gid, ','.join(g.gr_mem))
            except KeyError:
                snap['group ' + name] = 'absent'
        for d in GUARD_LISTINGS:
            try:
                snap[d + '/*'] = ' '.join(sorted(os.listdir(d)))
            except OSError as e:
                snap[d + '/*'] = 'unlistable %s' % (e.strerror or e)
        inodes = _listening_inodes()
        masters = system_postfix_masters()
        snap['system postfix masters'] = ' '.join(map(str, masters)) or 'none'
        for pid in masters:
            snap['system postfix %d listens on' % pid] = ' '.join(
                sorted(process_listeners(pid, inodes)))
        return snap

    def take(self):
        self.started = time.time()
        self.before = self.snapshot()

    def summary(self):
        files = sum(1 for k, v in self.before.items() if v.startswith('file '))
        ls = [v for k, v in self.before.items() if k.endswith('listens on')]
        return '%d files hashed, system Postfix listeners: %s' % (
            files, ' | '.join(ls) or 'none')

    def compare(self):
        after = self.snapshot()
        problems = []
        for k in sorted(set(self.before) | set(after)):
            b, a = self.before.get(k, 'absent'), after.get(k, 'absent')
            if a != b:
                problems.append('%s changed: %r -> %r' % (k, b, a))
        problems += self.queue_leaks()
        return problems

    def queue_leaks(self):
        """Messages of this run in the system's queue or mail spool."""
        needle = RUN_ID.encode()
        leaks = []
        for top in _system_queue_dirs():
            for d, _, files in os.walk(top):
                for n in files:
                    p = os.path.join(d, n)
                    try:
                        if os.lstat(p).st_mtime < self.started - 5:
                            continue
                        with open(p, 'rb') as f:
                            if needle in f.read(4 << 20):
                                leaks.append('a message of this run is in the '
                                             'system queue: %s' % p)
                    except OSError:
                        continue
        return leaks


# ---------------------------------------------------------------------------
# Ports, waiting, certificates
# ---------------------------------------------------------------------------

def free_ports(n):
    """n distinct loopback ports that were free a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port, timeout=20.0, proc=None, what='server'):
    """Until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=2).close()
            return
        except OSError as e:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError('%s exited (status %s) before listening on %d'
                                   % (what, proc.returncode, port))
            if time.monotonic() > deadline:
                raise RuntimeError('%s not listening on %s:%d after %.0fs: %s'
                                   % (what, HOST, port, timeout, e))
            time.sleep(0.05)


def wait_smtp(port, implicit=False, ca=None, timeout=20.0, proc=None, what='server'):
    """Until the server on 127.0.0.1:port greets with 220 (after a TLS
    handshake if implicit); each probe ends with QUIT, so that the server
    has nothing to complain about.  Returns the greeting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            g = greeting(port, implicit, ca)
            if g.startswith(b'220'):
                return g
            err = 'greeting %r' % g
        except OSError as e:
            err = str(e)
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('%s exited (status %s) before greeting on %d'
                               % (what, proc.returncode, port))
        if time.monotonic() > deadline:
            raise RuntimeError('%s not greeting on %s:%d after %.0fs: %s'
                               % (what, HOST, port, timeout, err))
        time.sleep(0.05)


def greeting(port, implicit=False, ca=None, timeout=10):
    """The 220 greeting of the server on port (implicit: after a TLS
    handshake verified against ca)."""
    with socket.create_connection((HOST, port), timeout=timeout) as raw:
        s = raw
        if implicit:
            ctx = ssl.create_default_context(cafile=ca)
            s = ctx.wrap_socket(raw, server_hostname='localhost')
        data = b''
        while not data.endswith(b'\n'):
            more = s.recv(512)
            if not more:
                break
            data += more
        s.sendall(b'QUIT\r\n')
        try:
            s.recv(512)
            if implicit:
                s.unwrap()
        except (OSError, ValueError):
            pass
        return data


class Certs:
    def __init__(self, d):
        self.dir = d
        self.ca = os.path.join(d, 'ca.pem')
        self.ca_key = os.path.join(d, 'ca.key')
        self.cert = os.path.join(d, 'cert.pem')
        self.key = os.path.join(d, 'key.pem')
        self.chain = os.path.join(d, 'chain.pem')   # cert + CA


_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[srv]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def make_certs(d):
    """A test CA and a certificate for localhost / 127.0.0.1 signed by it
    (EC P-256: fast), made with the openssl command."""
    os.makedirs(d, exist_ok=True)
    c = Certs(d)
    cnf = os.path.join(d, 'openssl.cnf')
    with open(cnf, 'w') as f:
        f.write(_CNF)
    key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

    def ossl(*args):
        p = subprocess.run(['openssl'] + list(args), cwd=d, capture_output=True,
                           stdin=subprocess.DEVNULL)
        if p.returncode:
            raise RuntimeError('openssl %s: %s' % (' '.join(args),
                                                   p.stderr.decode(errors='replace')))
    ossl('req', '-config', cnf, '-x509', *key, '-keyout', c.ca_key, '-out', c.ca,
         '-subj', '/CN=smtpsend interop test CA', '-days', '30', '-extensions', 'ca')
    csr = os.path.join(d, 'srv.csr')
    ossl('req', '-config', cnf, '-new', *key, '-keyout', c.key, '-out', csr,
         '-subj', '/CN=localhost')
    ossl('x509', '-req', '-in', csr, '-CA', c.ca, '-CAkey', c.ca_key,
         '-set_serial', str(secrets.randbits(62)), '-days', '30', '-sha256',
         '-extfile', cnf, '-extensions', 'srv', '-out', c.cert)
    with open(c.chain, 'wb') as out:
        for p in (c.cert, c.ca):
            with open(p, 'rb') as f:
                out.write(f.read())
    for p in (c.ca, c.cert, c.chain):
        os.chmod(p, 0o644)
    os.chmod(c.key, 0o600)
    return c


# ---------------------------------------------------------------------------
# Debian packages, downloaded and extracted (never installed)
# ---------------------------------------------------------------------------

_installed_cache = {}


def installed(names):
    """The subset of names that dpkg says are installed."""
    ask = [n for n in names if n not in _installed_cache]
    if ask:
        for n in ask:
            _installed_cache[n] = False
        p = subprocess.run(['dpkg-query', '-W', '-f', '${Package}\t${db:Status-Status}\n']
                           + ask, capture_output=True, text=True)
        for line in p.stdout.splitlines():
            name, _, status = line.partition('\t')
            if status.strip() == 'installed':
                _installed_cache[name.split(':')[0]] = True
    return {n for n in names if _installed_cache.get(n)}


def _depends(deb):
    p = subprocess.run(['dpkg-deb', '-f', deb, 'Pre-Depends', 'Depends'],
                       capture_output=True, text=True)
    text = ' '.join(line.split(':', 1)[1] if ':' in line else line
                    for line in p.stdout.splitlines())
    groups = []
    for group in text.split(','):
        alts = []
        for alt in group.split('|'):
            name = re.sub(r'\(.*?\)|\[.*?\]|<.*?>', '', alt).strip()
            name = name.split(':')[0]
            if name:
                alts.append(name)
        if alts:
            groups.append(alts)
    return groups


class _Apt:
    updated = False


def _download(pkg, debs):
    cached = sorted((f for f in os.listdir(debs)
                     if f.startswith(pkg + '_') and f.endswith('.deb')),
                    key=lambda f: os.path.getmtime(os.path.join(debs, f)))
    if cached:
        return os.path.join(debs, cached[-1])
    if not shutil.which('apt-get'):
        raise Skip('%s is needed but not installed, and there is no apt-get to '
                   'download it' % pkg)
    for attempt in (1, 2):
        p = subprocess.run(['apt-get', 'download', '-q', pkg], cwd=debs,
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=600)
        if p.returncode == 0:
            break
        if attempt == 1 and os.geteuid() == 0 and not _Apt.updated:
            _Apt.updated = True
            subprocess.run(['apt-get', 'update', '-q'], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=600)
            continue
        raise Skip('apt-get download %s failed: %s' % (
            pkg, (p.stderr.strip().splitlines() or ['?'])[-1]))
    found = [f for f in os.listdir(debs) if f.startswith(pkg + '_') and f.endswith('.deb')]
    if not found:
        raise Skip('apt-get download %s left no %s_*.deb' % (pkg, pkg))
    return os.path.join(debs, found[0])


def _merge(src, dst):
    """Move the tree src into dst, merging directories."""
    os.makedirs(dst, exist_ok=True)
    for n in os.listdir(src):
        s, t = os.path.join(src, n), os.path.join(dst, n)
        if os.path.isdir(s) and not os.path.islink(s) and os.path.isdir(t) \
                and not os.path.islink(t):
            _merge(s, t)
        else:
            if os.path.lexists(t):
                if os.path.isdir(t) and not os.path.islink(t):
                    shutil.rmtree(t)
                else:
                    os.unlink(t)
            os.rename(s, t)
    os.rmdir(src)


def extracted(name, wanted, force=False):
    """Make the packages `wanted` available without installing them.

    Returns None when all of them are installed (unless force), otherwise
    the directory into which the missing ones, and the libraries they need
    that are not installed, were extracted with dpkg-deb -x (cached in
    CACHE/NAME/root, the .debs in CACHE/debs).  Raises Skip when a package
    cannot be had."""
    need = list(wanted) if force else [p for p in wanted if p not in installed(wanted)]
    if not need:
        return None
    for tool in ('dpkg-deb', 'dpkg-query'):
        if not shutil.which(tool):
            raise Skip('%s missing: cannot extract %s' % (tool, ' '.join(need)))
    debs = os.path.join(CACHE, 'debs')
    os.makedirs(debs, exist_ok=True)
    chosen = {}
    todo = [[p] for p in need]
    while todo:
        alts = todo.pop(0)
        if any(a in chosen for a in alts):
            continue
        err = None
        for a in alts:
            try:
                chosen[a] = _download(a, debs)
                break
            except Skip as e:
                err = e
        else:
            raise err
        for group in _depends(chosen[a]):
            if any(g in chosen for g in group) or installed(group):
                continue
            libs = [g for g in group if g.startswith('lib')]
            if libs:           # only libraries: no daemons, no maintainer tools
                todo.append(libs)
    base = os.path.join(CACHE, name)
    root = os.path.join(base, 'root')
    stamp = os.path.join(base, 'stamp.json')
    want = sorted(os.path.basename(d) for d in chosen.values())
    try:
        with open(stamp) as f:
            if json.load(f) == want and os.path.isdir(root):
                return root
    except (OSError, ValueError):
        pass
    os.makedirs(base, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='root.', dir=base)
    for deb in sorted(chosen.values()):
        p = subprocess.run(['dpkg-deb', '-x', deb, staging], capture_output=True, text=True)
        if p.returncode:
            shutil.rmtree(staging, ignore_errors=True)
            raise Skip('dpkg-deb -x %s failed: %s' % (deb, p.stderr.strip()))
    # A merged-/usr system (Debian 12) sees /lib, /bin, /sbin under /usr:
    # so shall the overlay.
    for top in ('lib', 'lib64', 'bin', 'sbin'):
        s = os.path.join(staging, top)
        if os.path.isdir(s) and not os.path.islink(s) and os.path.islink('/' + top):
            _merge(s, os.path.join(staging, 'usr', top))
    os.chmod(staging, 0o755)
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.rename(staging, root)
    with open(stamp, 'w') as f:
        json.dump(want, f)
    return root


def deb_version(root, package):
    """Version of an extracted package (from its .deb in the cache)."""
    debs = os.path.join(CACHE, 'debs')
    for f in sorted(os.listdir(debs)) if os.path.isdir(debs) else []:
        if f.startswith(package + '_') and f.endswith('.deb'):
            p = subprocess.run(['dpkg-deb', '-f', os.path.join(debs, f), 'Version'],
                               capture_output=True, text=True)
            return p.stdout.strip()
    return None


def installed_version(package):
    p = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', package],
                       capture_output=True, text=True)
    return p.stdout.strip() or None


# ---------------------------------------------------------------------------
# Private mount namespaces
# ---------------------------------------------------------------------------

def require_root(what):
    if os.geteuid() != 0:
        raise Skip('%s needs root (a private mount namespace, daemons that '
                   'change user)' % what)
    if not shutil.which('unshare'):
        raise Skip('no unshare command (util-linux): cannot make a private '
                   'mount namespace for %s' % what)


def _free_id(taken, start=64900):
    i = start
    while i in taken:
        i += 1
    taken.add(i)
    return i


class Namespace:
    """`unshare --mount` with:
      * the extracted packages (overlay) read-only on top of /usr,
      * /etc/passwd and /etc/group with the system accounts a daemon wants
        and the machine lacks (the machine's files are not touched: copies
        are bind-mounted over them inside the namespace only),
      * the machine's mail directories (GUARD_TREES, the system queue...)
        read-only, so that nothing started in it can change them.
    """

    RO = ('/etc/postfix', '/var/spool/postfix', '/var/lib/postfix',
          '/etc/exim4', '/var/spool/exim4', '/var/log/exim4',
          '/etc/dovecot', '/var/lib/dovecot', '/etc/sasl2', '/var/mail', '/home')

    def __init__(self, workdir, overlay=None, users=()):
        self.workdir = workdir
        self.overlay = overlay
        self.users = {}
        self.groups = {}
        lines_p, lines_g = [], []
        taken_u = {p.pw_uid for p in pwd.getpwall()}
        taken_g = {g.gr_gid for g in grp.getgrall()}
        for user, group in users:      # e.g. ('Debian-exim', 'Debian-exim')
            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                gid = self.groups.get(group) or _free_id(taken_g)
                if group not in self.groups:
                    lines_g.append('%s:x:%d:' % (group, gid))
                self.groups[group] = gid
            if user is None:           # a group of its own, e.g. postdrop
                continue
            try:
                pw = pwd.getpwnam(user)
                self.users[user] = (pw.pw_uid, pw.pw_gid)
            except KeyError:
                uid = _free_id(taken_u)
                lines_p.append('%s:x:%d:%d:smtpsend test (namespace only):'
                               '/nonexistent:/usr/sbin/nologin' % (user, uid, gid))
                self.users[user] = (uid, gid)
        self.passwd = self.group = None
        if lines_p or lines_g:
            self.passwd = os.path.join(workdir, 'ns-passwd')
            self.group = os.path.join(workdir, 'ns-group')
            for src, dst, extra in (('/etc/passwd', self.passwd, lines_p),
                                    ('/etc/group', self.group, lines_g)):
                with open(src) as f:
                    text = f.read()
                if text and not text.endswith('\n'):
                    text += '\n'
                with open(dst, 'w') as f:
                    f.write(text + ''.join(l + '\n' for l in extra))
                os.chmod(dst, 0o644)

    def uid(self, user):
        return self.users[user][0]

    def gid(self, group):
        if group in self.groups:
            return self.groups[group]
        return grp.getgrnam(group).gr_gid

    def _ro_paths(self):
        keep = [os.path.realpath(p) for p in (self.workdir, CACHE, ROOT)]
        out = []
        for p in self.RO:
            if not os.path.isdir(p) or os.path.islink(p):
                continue
            rp = os.path.realpath(p)
            if any(k == rp or k.startswith(rp + '/') for k in keep):
                continue     # our own files live below it
            out.append(p)
        return out

    def prelude(self):
        q = shlex.quote
        cmds = ['set -e']
        if self.overlay:
            for top in ('usr', 'lib', 'lib64', 'bin', 'sbin'):
                src = os.path.join(self.overlay, top)
                if not os.path.isdir(src) or os.path.islink('/' + top) \
                        or not os.path.isdir('/' + top):
                    continue
                if re.search(r'[:,\s]', src):
                    raise Skip('cache path %r cannot be an overlay layer' % src)
                cmds.append('mount -t overlay smtpsend-test -o lowerdir=%s:/%s /%s'
                            % (src, top, top))
        if self.passwd:
            cmds.append('mount --bind %s /etc/passwd' % q(self.passwd))
            cmds.append('mount --bind %s /etc/group' % q(self.group))
        for p in self._ro_paths():
            cmds.append('mount --bind %s %s && mount -o remount,bind,ro %s'
                        % (q(p), q(p), q(p)))
        return '\n'.join(cmds) + '\nexec "$@"\n'

    def check(self):
        """Skip unless this namespace can be made here (overlayfs, bind
        mounts, remounting read-only)."""
        p = subprocess.run(self.argv(['true']), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if p.returncode != 0:
            raise Skip('cannot set up the private mount namespace (%s): %s'
                       % ('overlay of %s on /usr' % self.overlay if self.overlay
                          else 'bind mounts', p.stderr.strip() or 'exit %d' % p.returncode))

    def argv(self, cmd):
        return ['unshare', '--mount', '--propagation', 'private', '--',
                '/bin/sh', '-c', self.prelude(), 'smtpsend-ns'] + list(cmd)

    def run(self, cmd, check=True, **kw):
        kw.setdefault('capture_output', True)
        kw.setdefault('stdin', subprocess.DEVNULL)
        kw.setdefault('timeout', 120)
        p = subprocess.run(self.argv(cmd), **kw)
        if check and p.returncode != 0:
            raise RuntimeError('%s: exit %d\n%s%s' % (
                ' '.join(cmd), p.returncode, _text(p.stdout), _text(p.stderr)))
        return p

    def popen(self, cmd, **kw):
        return subprocess.Popen(self.argv(cmd), **kw)


def _text(b):
    if b is None:
        return ''
    return b.decode(errors='replace') if isinstance(b, bytes) else b


def check_namespaces_work(workdir):
    """Raise Skip unless a private mount namespace with an overlay can be
    made here (containers without CAP_SYS_ADMIN cannot)."""
    p = subprocess.run(['unshare', '--mount', '--propagation', 'private', '--',
                        '/bin/sh', '-c', 'mount --bind "$1" "$1" && echo ok',
                        'x', workdir], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=30)
    if p.stdout.strip() != 'ok':
        raise Skip('cannot make a private mount namespace (unshare --mount): %s'
                   % (p.stderr.strip() or 'exit %d' % p.returncode))


# ---------------------------------------------------------------------------
# Processes: everything in a private namespace is ours
# ---------------------------------------------------------------------------

def pids_in_namespace(ns):
    if not ns or ns == mount_ns():
        return []
    return [pid for pid in _proc_pids() if mount_ns(pid) == ns]


_PINNED = {}     # mount namespace id -> an open descriptor of it


def pin_mount_ns(pid):
    """The id of pid's mount namespace, pinned for the life of this program.
    A namespace's id is an inode number the kernel gives to the next
    namespace made on the machine once this one is freed; without the pin,
    kill_namespace() and the reaper would signal the processes of that
    namespace (another suite's, seen while two ran at once). An open
    descriptor of it keeps it from being freed."""
    try:
        fd = os.open('/proc/%d/ns/mnt' % pid, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    ns = _readlink('/proc/self/fd/%d' % fd)
    if ns is None or ns in _PINNED:
        os.close(fd)
    else:
        _PINNED[ns] = fd
    return ns


def namespace_of(proc, timeout=10.0):
    """The mount namespace of a process started through Namespace.popen,
    once unshare has made it (None if the process ended first), pinned."""
    mine = mount_ns()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ns = mount_ns(proc.pid)
        if ns is None or proc.poll() is not None:
            return None
        if ns != mine:
            return pin_mount_ns(proc.pid)
        time.sleep(0.01)
    return None


def wait_namespace_empty(ns, timeout):
    """True once no process is left in mount namespace ns."""
    deadline = time.monotonic() + timeout
    while pids_in_namespace(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not pids_in_namespace(ns)


def kill_namespace(ns, grace=5.0):
    """SIGTERM, then SIGKILL, every process left in mount namespace ns;
    returns the PIDs that needed a signal."""
    pids = pids_in_namespace(ns)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while pids_in_namespace(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids_in_namespace(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2
    while pids_in_namespace(ns) and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:   # a zombie child of ours
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


_REAPER = r'''
import os, shutil, signal, sys, time
parent, start, ns, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
signal.signal(signal.SIGINT, signal.SIG_IGN)
def alive():
    try:
        with open('/proc/%d/stat' % parent) as f:
            return f.read().rsplit(')', 1)[1].split()[19] == start
    except OSError:
        return False
def ours():
    out = []
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.readlink('/proc/%s/ns/mnt' % p) == ns:
                    out.append(int(p))
            except OSError:
                pass
    return out
while alive():
    time.sleep(0.5)
for sig in (signal.SIGTERM, signal.SIGKILL):
    for p in ours():
        try:
            os.kill(p, sig)
        except OSError:
            pass
    for _ in range(50):
        if not ours():
            break
        time.sleep(0.1)
if workdir != '-':
    shutil.rmtree(workdir, ignore_errors=True)
'''


def start_reaper(ns, workdir, parent=None):
    """A watcher that stops everything in namespace ns (and removes
    workdir) should this test program (or the process parent) die without
    its cleanup (e.g. SIGKILL from tests/run.py's time limit).  Returns
    its Popen."""
    parent = parent or os.getpid()
    with open('/proc/%d/stat' % parent) as f:
        start = f.read().rsplit(')', 1)[1].split()[19]
    pin = _PINNED.get(ns)     # the reaper holds the namespace too
    return subprocess.Popen([sys.executable, '-c', _REAPER, str(parent), start,
                             ns, workdir if not KEEP else '-'],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True,
                            pass_fds=(pin,) if pin is not None else ())


def stop_reaper(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tail(path, n=30):
    try:
        with open(path, 'rb') as f:
            lines = f.read().decode(errors='replace').splitlines()
    except OSError as e:
        return '(%s: %s)' % (path, e.strerror)
    return '\n'.join(lines[-n:])


class LogWatch:
    """New lines of log files since the last look, and the ones matching
    complaint patterns."""

    def __init__(self, paths, patterns, ignore=()):
        self.paths = list(paths)
        self.patterns = [re.compile(p, re.I) for p in patterns]
        self.ignore = [re.compile(p, re.I) for p in ignore]
        self.offsets = {p: 0 for p in self.paths}
        self.skip()

    def skip(self):
        for p in self.paths:
            try:
                self.offsets[p] = os.path.getsize(p)
            except OSError:
                self.offsets[p] = 0

    def new_lines(self):
        out = []
        for p in self.paths:
            try:
                with open(p, 'rb') as f:
                    f.seek(self.offsets[p])
                    data = f.read()
            except OSError:
                continue
            self.offsets[p] += len(data)
            out += ['%s: %s' % (os.path.basename(p), l)
                    for l in data.decode(errors='replace').splitlines()]
        return out

    def complaints(self):
        return [l for l in self.new_lines()
                if any(r.search(l) for r in self.patterns)
                and not any(r.search(l) for r in self.ignore)]


class Maildir:
    def __init__(self, path):
        self.path = path

    def files(self):
        out = []
        for sub in ('new', 'cur'):
            d = os.path.join(self.path, sub)
            try:
                out += [os.path.join(d, n) for n in os.listdir(d)]
            except OSError:
                pass
        return out

    def find(self, tok):
        found = []
        needle = tok.encode()
        for p in self.files():
            try:
                with open(p, 'rb') as f:
                    head = f.read(65536)
                    if needle in head:
                        found.append(head + f.read())
            except OSError:
                continue
        return found

    def wait(self, tok, count=1, timeout=15.0):
        """Messages holding tok, once count of them arrived (or at the
        timeout: what there is)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(tok)
            if len(found) >= count or time.monotonic() > deadline:
                if found and len(found) >= count:
                    time.sleep(0.2)          # a straggler would show now
                    found = self.find(tok)
                return found
            time.sleep(0.05)
