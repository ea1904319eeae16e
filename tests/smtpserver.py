#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Scripted SMTP server for smtpsend's end-to-end tests (Python stdlib only).

Typical use:

    certs = make_certs(tmpdir)
    with Server(tls='starttls', cert=certs.cert, key=certs.key,
                replies={'RCPT': ['250 ok', '550 5.1.1 no such user']}) as srv:
        run_client(port=srv.port, ...)
        srv.wait()                      # let the server finish the connection
        msg = srv.sessions[0].messages[0]

Every reply can be overridden per stage (`replies`), the connection can be
dropped (`drop_at`) or left hanging (`stall_at`) at any stage, and each
Session records what the client sent: raw bytes, command lines, accepted
messages, aborted transactions, AUTH/TLS state and whether it pipelined.

Semantics worth knowing when writing tests:
- The reply code decides what happens: an overridden RCPT reply that is not
  2xx refuses the recipient, a DATA override other than 354 skips the data
  phase, a 2xx AUTH override logs the user in, and so on.  A list value is
  used in order (RCPT: per transaction, other stages: per connection); the
  last element repeats.  Bytes are sent exactly as given; their code is their
  first three bytes if those are digits.
- MAIL requires EHLO/HELO first (again after STARTTLS): otherwise 503.
- Session.aborted gets every transaction that was started (MAIL accepted) but
  did not end with an accepted message: dropped connection, RSET, QUIT, a
  refused DOT/BDAT reply, EHLO, STARTTLS.
- Session.pipelined entries are command names ('RCPT', 'BDAT', ...), or
  '(payload)' for message data sent before the 354, '(auth)' for a SASL
  response sent before the 334, '(data)' for anything not starting with a
  word (e.g. a TLS ClientHello sent before the 220 to STARTTLS).
- Data: only CRLF.CRLF ends it; any other line starting with '.' loses that
  first '.' (RFC 5321 4.5.2), which for a correct client is the dot-stuffing.
- A session whose client left without QUIT may still be finishing when the
  client process exits: call srv.wait() (or srv.stop()) before asserting.

Also a CLI for `make demo`:
    /usr/bin/python3 tests/smtpserver.py --port N [--tls starttls|implicit|none]
                                         [--certdir DIR] [--once]
"""

import argparse
import base64
import binascii
import datetime
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

__all__ = ['Certs', 'make_certs', 'fingerprint_sha256', 'Server', 'Session',
           'DEFAULT_EXTENSIONS', 'DEFAULT_USERS', 'STAGES']

HOSTNAME = 'test.example'
DEFAULT_EXTENSIONS = ['PIPELINING', 'SIZE 10240000', '8BITMIME', 'CHUNKING',
                      'DSN', 'SMTPUTF8', 'ENHANCEDSTATUSCODES',
                      'AUTH PLAIN LOGIN CRAM-MD5']
DEFAULT_USERS = {'tester': 'secret'}
# Stage names usable as keys of `replies` and as values of drop_at/stall_at.
STAGES = ('greeting', 'EHLO', 'HELO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT',
          'DATA', 'DOT', 'BDAT', 'BDAT_CHUNK', 'RSET', 'QUIT', 'NOOP')
AUTH_MECHANISMS = ('PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER')

POLL = 0.2                     # how often blocked reads look at the stop flag
MAX_LINE = 32 * 1024 * 1024    # longer lines are a client bug; refuse them
MAX_CHUNK = 256 * 1024 * 1024  # same for BDAT chunk sizes


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

def fingerprint_sha256(cert_path):
    """SHA-256 of the DER certificate as 'AA:BB:...' (msmtp's tls_fingerprint)."""
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


class Certs:
    """Paths of the test certificates in one directory (see make_certs)."""

    NAMES = ('ca', 'server', 'wronghost', 'selfsigned', 'expired')

    def __init__(self, directory):
        self.directory = os.path.abspath(directory)
        p = lambda name: os.path.join(self.directory, name)
        self.ca, self.ca_key = p('ca.pem'), p('ca.key')
        self.cert, self.key = p('server.pem'), p('server.key')
        self.wronghost_cert, self.wronghost_key = p('wronghost.pem'), p('wronghost.key')
        self.selfsigned_cert, self.selfsigned_key = p('selfsigned.pem'), p('selfsigned.key')
        self.expired_cert, self.expired_key = p('expired.pem'), p('expired.key')

    sha256 = staticmethod(fingerprint_sha256)

    def files(self):
        return [os.path.join(self.directory, n + ext)
                for n in self.NAMES for ext in ('.pem', '.key')]

    def complete(self):
        return all(os.path.isfile(f) and os.path.getsize(f) > 0 for f in self.files())


# Extension sections for the openssl CLI. EC P-256 keys keep generation fast.
_OPENSSL_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
[ wronghost_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
[ selfsigned_ext ]
# what a typical `openssl req -x509` self-signed server certificate looks like
basicConstraints = critical, CA:TRUE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
[ ca ]
default_ca = test_ca
[ test_ca ]
database = {work}/index.txt
new_certs_dir = {work}
serial = {work}/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
"""


def _openssl(*args, cwd):
    proc = subprocess.run(['openssl', *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError('openssl %s failed: %s'
                           % (' '.join(args), proc.stderr.decode(errors='replace')))


def _new_key_args(name):
    return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
            '-nodes', '-keyout', name + '.key']


def _generate(work):
    """Create all certificates in the directory `work` (cwd for openssl)."""
    with open(os.path.join(work, 'openssl.cnf'), 'w') as f:
        f.write(_OPENSSL_CNF.format(work=work))
    open(os.path.join(work, 'index.txt'), 'w').close()
    cnf = ['-config', 'openssl.cnf']
    run = lambda *a: _openssl(*a, cwd=work)

    run('req', *cnf, '-x509', *_new_key_args('ca'), '-out', 'ca.pem',
        '-subj', '/CN=smtpsend test CA', '-days', '3650', '-extensions', 'ca_ext')
    run('req', *cnf, '-x509', *_new_key_args('selfsigned'), '-out', 'selfsigned.pem',
        '-subj', '/CN=localhost', '-days', '3650', '-extensions', 'selfsigned_ext')
    for name, cn in (('server', 'localhost'), ('wronghost', 'wrong.example'),
                     ('expired', 'localhost')):
        run('req', *cnf, '-new', *_new_key_args(name), '-out', name + '.csr',
            '-subj', '/CN=' + cn)
    for name in ('server', 'wronghost'):
        run('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-set_serial', str(secrets.randbits(63)), '-days', '3650',
            '-extfile', 'openssl.cnf', '-extensions', name + '_ext', '-out', name + '.pem')
    # openssl 3.0's `x509 -req` cannot set notBefore/notAfter, `ca` can.
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda t: t.strftime('%y%m%d%H%M%SZ')
    run('ca', *cnf, '-batch', '-notext', '-rand_serial', '-cert', 'ca.pem',
        '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem',
        '-extensions', 'server_ext',
        '-startdate', stamp(now - datetime.timedelta(days=30)),
        '-enddate', stamp(now - datetime.timedelta(days=1)))


def make_certs(directory):
    """Create (or reuse, if already complete) the test certificates in directory."""
    os.makedirs(directory, exist_ok=True)
    certs = Certs(directory)
    # A lock so that concurrent test processes sharing a directory don't race.
    with open(os.path.join(certs.directory, '.make_certs.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not certs.complete():
            with tempfile.TemporaryDirectory(dir=certs.directory) as work:
                _generate(work)
                for path in certs.files():   # move into place only when all worked
                    os.replace(os.path.join(work, os.path.basename(path)), path)
    return certs


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------

class Server:
    """Accepts connections on 127.0.0.1 and runs one Session thread for each."""

    def __init__(self, tls=None, cert=None, key=None, extensions=None,
                 users=DEFAULT_USERS, replies=None, drop_at=None, stall_at=None,
                 starttls_inject=None, require_auth=False, hide=(),
                 hostname=HOSTNAME, timeout=10.0, pipeline_wait=0.005,
                 ssl_context=None, on_message=None, port=0, rcpt_limit=None):
        if tls not in (None, 'starttls', 'implicit'):
            raise ValueError('tls must be None, "starttls" or "implicit"')
        for stage in list(replies or {}) + [s for s in (drop_at, stall_at) if s]:
            if stage not in STAGES:
                raise ValueError('unknown stage %r (known: %s)' % (stage, ', '.join(STAGES)))
        if ssl_context is None and cert:
            ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
            ssl_context.load_cert_chain(cert, key)
        if tls and ssl_context is None:
            raise ValueError('tls=%r needs cert and key (or ssl_context)' % tls)
        self.tls = tls
        self.ssl_context = ssl_context
        self.extensions = list(DEFAULT_EXTENSIONS if extensions is None else extensions)
        self.users = dict(users or {})
        self.replies = dict(replies or {})
        self.drop_at = drop_at
        self.stall_at = stall_at
        self.starttls_inject = starttls_inject
        self.require_auth = require_auth
        self.hide = {h.upper() for h in ([hide] if isinstance(hide, str) else hide)}
        self.hostname = hostname
        self.timeout = timeout              # idle timeout for every blocking wait
        self.pipeline_wait = pipeline_wait  # see Session._collect_pending
        self.on_message = on_message        # callback(session, message dict)
        # (n, reply): a per-connection recipient cap, as smtp-server's or
        # Haraka's limit plugin: after n accepted RCPTs, every RCPT of the
        # connection gets `reply`.
        self.rcpt_limit = rcpt_limit

        self.port = port                    # 0: any free port
        self.sessions = []
        self.errors = []                    # unexpected exceptions in session threads
        self.stopping = threading.Event()
        self._cond = threading.Condition()
        self._queue_id = 0
        self._listener = None
        self._accept_thread = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', self.port or 0))
        self._listener.listen(64)
        self._listener.settimeout(POLL)
        self.port = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name='smtpserver-accept')
        self._accept_thread.start()
        return self.port

    def stop(self):
        """Close everything; returns within ~2 s even if clients stall."""
        self.stopping.set()
        if self._listener:
            try:   # shutdown wakes a thread blocked in accept(); close does not
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        for session in list(self.sessions):
            session.abort()
        deadline = time.monotonic() + 1.5
        threads = [self._accept_thread] + [s.thread for s in list(self.sessions)]
        for t in threads:
            if t is not None:
                t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def wait(self, count=1, timeout=5.0):
        """Block until >= count connections were accepted and all have ended.

        Use it before inspecting a session whose client may have disconnected
        without QUIT (e.g. `aborted` after a drop).  Returns False on timeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not (len(self.sessions) >= count
                       and all(s.done.is_set() for s in self.sessions)):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.1 if remaining is None else min(remaining, 0.1))
        return True

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, peer = self._listener.accept()
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                break                        # listener closed by stop()
            session = Session(self, conn, peer, len(self.sessions))
            with self._cond:
                self.sessions.append(session)
            session.thread = threading.Thread(target=session.run, daemon=True,
                                              name='smtpserver-session-%d' % session.index)
            session.thread.start()

    # -- helpers used by sessions -----------------------------------------

    def next_queue_id(self):
        with self._cond:
            self._queue_id += 1
            return self._queue_id

    def session_done(self):
        with self._cond:
            self._cond.notify_all()


class _Closed(Exception):
    """The connection is over (EOF, drop, timeout, stop, TLS failure)."""


def _encode_reply(value):
    """Turn a reply (str, possibly multi-line, or raw bytes) into
    (three-character code deciding what happens next, bytes to send)."""
    if isinstance(value, (bytes, bytearray)):
        head = bytes(value[:3])
        code = head.decode('ascii') if head.isdigit() and len(head) == 3 else ''
        return code, bytes(value)
    lines = [line.rstrip('\r') for line in value.split('\n')]
    return value[:3], ''.join(line + '\r\n' for line in lines).encode('utf-8')


def _keyword(extension):
    return (extension.split() or [''])[0].upper()


def _parse_path(arg, keyword):
    """Parse 'FROM:<addr> params' (keyword 'FROM') -> (addr, params) or None."""
    m = re.match(r'\s*%s:\s*<' % keyword, arg, re.I)
    if not m:
        return None
    i, quoted = m.end(), False
    while i < len(arg):      # find the closing '>' outside a quoted local part
        c = arg[i]
        if c == '\\' and quoted:
            i += 1
        elif c == '"':
            quoted = not quoted
        elif c == '>' and not quoted:
            return arg[m.end():i], arg[i + 1:].strip()
        i += 1
    return None


class Session:
    """One SMTP connection: a small state machine plus what it recorded."""

    def __init__(self, server, sock, peer, index):
        self.server = server
        self.sock = sock
        self.sock.settimeout(POLL)
        self.peer = peer
        self.index = index
        self.thread = None
        self.done = threading.Event()
        # What the tests inspect:
        self.commands = []
        self.messages = []
        self.aborted = []
        self.auth = None
        self.tls = False
        self.tls_version = None
        self.tls_error = None      # str if a TLS handshake failed
        self.pipelined = []
        self.quit = False
        # Protocol state:
        self._raw = bytearray()
        self.buf = bytearray()     # received but not yet consumed
        self.eof = False
        self.greeted = False       # EHLO/HELO accepted since connect/STARTTLS
        self.txn = None            # open mail transaction (dict) or None
        self.counts = {}           # replies sent per stage, for list overrides
        self.rcpts_taken = 0       # on this connection, for rcpt_limit

    @property
    def raw(self):
        return bytes(self._raw)

    @property
    def bare_lf_or_cr(self):
        return re.search(rb'(?<!\r)\n|\r(?!\n)', bytes(self._raw)) is not None

    def wait(self, timeout=5.0):
        return self.done.wait(timeout)

    def abort(self):
        """Called by Server.stop(): wake the session thread from any socket wait."""
        try:
            # The plain socket method, not SSLSocket.shutdown, which would
            # tear down the SSL object under the feet of the reading thread.
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass

    # -- main loop -----------------------------------------------------------

    def run(self):
        try:
            if self.server.tls == 'implicit':
                self._start_tls()
            self._greet()
            while True:
                self._handle(self._read_command())
        except _Closed:
            pass
        except Exception:          # a server bug: keep it visible to the tests
            self.server.errors.append('session %d: %s' % (self.index, traceback.format_exc()))
        finally:
            self._end_transaction(accepted=False)
            try:
                self.sock.close()
            except OSError:
                pass
            self.done.set()
            self.server.session_done()

    def _greet(self):
        code, reply = self._prepare('greeting', '220 %s ESMTP' % self.server.hostname)
        self._send(reply)

    def _handle(self, line):
        verb, _, arg = line.partition(' ')
        verb = verb.upper()
        handler = getattr(self, 'cmd_' + verb, None)
        if not line.strip():
            self._send_plain('500 5.5.2 Error: bad syntax')
        elif handler is None:
            self._send_plain('502 5.5.2 Error: command not recognized')
        else:
            handler(arg.strip())

    # -- commands ------------------------------------------------------------

    def cmd_EHLO(self, arg):
        if not arg:
            return self._send_plain('501 5.5.4 Syntax: EHLO hostname')
        lines = [self.server.hostname] + self._extensions()
        default = '\n'.join('250%s%s' % ('-' if i < len(lines) - 1 else ' ', l)
                            for i, l in enumerate(lines))
        self._greeting_command('EHLO', default)

    def cmd_HELO(self, arg):
        if not arg:
            return self._send_plain('501 5.5.4 Syntax: HELO hostname')
        self._greeting_command('HELO', '250 %s' % self.server.hostname)

    def _greeting_command(self, stage, default):
        code, reply = self._prepare(stage, default)
        if code.startswith('2'):
            self._end_transaction(accepted=False)   # EHLO/HELO imply RSET
            self.greeted = True
        self._send(reply)

    def _extensions(self):
        """EHLO keywords for the current state (STARTTLS before TLS, AUTH after)."""
        exts = list(self.server.extensions)
        if self.server.tls == 'starttls' and not self.tls and 'STARTTLS' not in exts:
            exts.insert(0, 'STARTTLS')
        if self.tls:
            exts = [e for e in exts if e.upper() != 'STARTTLS']
        elif self.server.tls:
            exts = [e for e in exts if _keyword(e) != 'AUTH']
        return [e for e in exts if _keyword(e) not in self.server.hide]

    def cmd_STARTTLS(self, arg):
        if self.tls:
            return self._send_plain('554 5.5.1 Error: TLS already active')
        if self.server.ssl_context is None:
            return self._send_plain('454 4.7.0 TLS not available due to local problem')
        code, reply = self._prepare('STARTTLS', '220 2.0.0 Ready to start TLS')
        if code != '220':
            return self._send(reply)
        self._send(reply + (self.server.starttls_inject or b''))
        # Anything the client sent after STARTTLS in cleartext must be thrown
        # away (RFC 3207 / CVE-2011-0411); it is still in `raw` and `pipelined`.
        self.buf.clear()
        self.greeted, self.auth = False, None
        self._end_transaction(accepted=False)
        self._start_tls()

    def cmd_AUTH(self, arg):
        if not self.greeted:
            return self._send_plain('503 5.5.1 Error: send HELO/EHLO first')
        if self.auth:
            return self._send_plain('503 5.5.1 Error: already authenticated')
        if self.txn:
            return self._send_plain('503 5.5.1 Error: MAIL transaction in progress')
        if self.server.tls and not self.tls:
            return self._auth_result('538 5.7.11 Encryption required for requested authentication mechanism')
        mech, _, initial = arg.partition(' ')
        mech = mech.upper()
        if mech not in self._auth_mechanisms():
            return self._auth_result('504 5.5.4 Unsupported authentication mechanism')
        try:
            user, ok = getattr(self, '_auth_' + mech.replace('-', '_'))(initial.strip() or None)
        except _AuthAbort as exc:
            return self._auth_result(str(exc))
        default = ('235 2.7.0 Authentication successful' if ok
                   else '535 5.7.8 Error: authentication failed')
        self._auth_result(default, (mech, user))

    def _auth_mechanisms(self):
        """Implemented mechanisms, limited to the advertised AUTH line if any."""
        for ext in self.server.extensions:
            words = ext.upper().split()
            if words and words[0] == 'AUTH':
                return [m for m in words[1:] if m in AUTH_MECHANISMS]
        return list(AUTH_MECHANISMS)

    def _auth_result(self, default, who=None):
        code, reply = self._prepare('AUTH', default)
        if code.startswith('2') and who:
            self.auth = who
        self._send(reply)

    def _auth_response(self, challenge, initial=None):
        """Send a 334 challenge (unless an initial response was given) and
        return the decoded client response."""
        if initial is None:
            code, reply = self._prepare('AUTH', '334 ' + challenge, override=False)
            self._send(reply, expect='(auth)')
            initial = self._read_command()
        if initial.strip() == '*':
            raise _AuthAbort('501 5.7.0 Authentication aborted')
        if initial.strip() == '=':
            return b''
        try:
            return base64.b64decode(initial.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise _AuthAbort('501 5.5.2 Cannot decode response')

    def _check_password(self, user, password):
        expected = self.server.users.get(user)
        return expected is not None and hmac.compare_digest(expected.encode(), password)

    def _auth_PLAIN(self, initial):
        parts = self._auth_response('', initial).split(b'\0')
        if len(parts) != 3:
            raise _AuthAbort('501 5.5.2 Cannot decode response')
        user = parts[1].decode('utf-8', 'surrogateescape')
        return user, self._check_password(user, parts[2])

    def _auth_LOGIN(self, initial):
        user = self._auth_response('VXNlcm5hbWU6', initial).decode('utf-8', 'surrogateescape')
        password = self._auth_response('UGFzc3dvcmQ6')
        return user, self._check_password(user, password)

    def _auth_CRAM_MD5(self, initial):
        if initial is not None:
            raise _AuthAbort('501 5.7.0 CRAM-MD5 takes no initial response')
        challenge = '<%d.%d@%s>' % (secrets.randbits(32), time.time(), self.server.hostname)
        response = self._auth_response(base64.b64encode(challenge.encode()).decode())
        user, _, digest = response.decode('utf-8', 'surrogateescape').rpartition(' ')
        expected = self.server.users.get(user)
        ok = expected is not None and hmac.compare_digest(
            hmac.new(expected.encode(), challenge.encode(), 'md5').hexdigest(), digest.lower())
        return user, ok

    def _oauth_error(self, kind):
        """A bad token: the error challenge (a JSON status, as Gmail and
        Microsoft send it), then the client's answer must be what the
        mechanism requires: an empty line (XOAUTH2) or ^A (OAUTHBEARER)."""
        status = b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
        self._send(_encode_reply('334 ' + base64.b64encode(status).decode())[1],
                   expect='(auth)')
        answer = self._read_command().strip()
        self.oauth_error_answer = answer
        want = '' if kind == 'XOAUTH2' else 'AQ=='
        if answer != want:
            raise _AuthAbort('501 5.5.2 Bad answer to the error challenge')

    def _auth_XOAUTH2(self, initial):
        text = self._auth_response('', initial).decode('utf-8', 'surrogateescape')
        fields = dict(f.split('=', 1) for f in text.split('\x01') if '=' in f)
        user, token = fields.get('user', ''), fields.get('auth', '')
        ok = token == 'Bearer ' + self.server.users.get(user, '\0')
        self.oauth_line_len = len(initial or '')
        if not ok:
            self._oauth_error('XOAUTH2')
        return user, ok

    def _auth_OAUTHBEARER(self, initial):
        text = self._auth_response('', initial).decode('utf-8', 'surrogateescape')
        head, _, rest = text.partition('\x01')
        user = head.split('a=', 1)[1].rstrip(',') if 'a=' in head else ''
        fields = dict(f.split('=', 1) for f in rest.split('\x01') if '=' in f)
        ok = fields.get('auth', '') == 'Bearer ' + self.server.users.get(user, '\0')
        if not ok:
            self._oauth_error('OAUTHBEARER')
        return user, ok

    def cmd_MAIL(self, arg):
        if not self.greeted:
            return self._send_plain('503 5.5.1 Error: send HELO/EHLO first')
        if self.txn:
            return self._send_plain('503 5.5.1 Error: nested MAIL command')
        if self.server.require_auth and not self.auth:
            return self._send_plain('530 5.7.0 Authentication required')
        parsed = _parse_path(arg, 'FROM')
        if parsed is None:
            return self._send_plain('501 5.5.4 Syntax: MAIL FROM:<address>')
        code, reply = self._prepare('MAIL', '250 2.1.0 Ok')
        if code.startswith('2'):
            self.txn = {'mail_from': parsed[0], 'mail_params': parsed[1], 'rcpts': [],
                        'rcpt_params': [], 'data': bytearray(), 'via': None}
            self.counts['RCPT'] = 0      # RCPT list overrides count per transaction
        self._send(reply)

    def cmd_RCPT(self, arg):
        if not self.txn:
            return self._send_plain('503 5.5.1 Error: need MAIL command')
        parsed = _parse_path(arg, 'TO')
        if parsed is None:
            return self._send_plain('501 5.5.4 Syntax: RCPT TO:<address>')
        limit = self.server.rcpt_limit
        if limit and self.rcpts_taken >= limit[0]:
            return self._send_plain(limit[1])
        code, reply = self._prepare('RCPT', '250 2.1.5 Ok')
        if code.startswith('2'):
            self.rcpts_taken += 1
            self.txn['rcpts'].append(parsed[0])
            self.txn['rcpt_params'].append(parsed[1])
        self._send(reply)

    def cmd_DATA(self, arg):
        if not self.txn:
            return self._send_plain('503 5.5.1 Error: need MAIL command', stage='DATA')
        if self.txn['via'] == 'BDAT':
            return self._send_plain('503 5.5.1 Error: BDAT in progress', stage='DATA')
        if not self.txn['rcpts']:
            return self._send_plain('554 5.5.1 Error: no valid recipients', stage='DATA')
        code, reply = self._prepare('DATA', '354 End data with <CR><LF>.<CR><LF>')
        if code != '354':
            return self._send(reply)
        self._send(reply, expect='(payload)')
        self.txn['via'] = 'DATA'
        self._read_data(self.txn['data'])
        self._complete('DOT')

    def _read_data(self, data):
        """Read the DATA payload. Only CRLF.CRLF ends it: a '.' between bare
        LFs is payload (SMTP smuggling tests rely on that)."""
        while True:
            line = self._read_until(b'\r\n')
            if line == b'.\r\n':
                return
            # RFC 5321 4.5.2: drop the first '.' of any other line starting
            # with '.' -- for a correct client that is exactly the stuffing.
            data += line[1:] if line.startswith(b'.') else line

    def cmd_BDAT(self, arg):
        m = re.fullmatch(r'(\d+)(\s+LAST)?', arg, re.I)
        if not m:
            return self._send_plain('501 5.5.4 Syntax: BDAT count [LAST]')
        size, last = int(m.group(1)), bool(m.group(2))
        if size > MAX_CHUNK:
            self._send_plain('552 5.3.4 Chunk too big')
            raise _Closed()
        chunk = self._read_exact(size)      # always consume it, even to refuse it
        stage = 'BDAT' if last else 'BDAT_CHUNK'
        if not self.txn:
            return self._send_plain('503 5.5.1 Error: need MAIL command', stage=stage)
        if self.txn['via'] == 'DATA' or not self.txn['rcpts']:
            self._end_transaction(accepted=False)   # RFC 3030: a failed chunk ends it
            return self._send_plain('554 5.5.1 Error: no valid recipients', stage=stage)
        self.txn['via'] = 'BDAT'
        self.txn['data'] += chunk
        if last:
            return self._complete('BDAT')
        code, reply = self._prepare('BDAT_CHUNK', '250 2.0.0 Ok: %d octets' % size)
        if not code.startswith('2'):
            self._end_transaction(accepted=False)
        self._send(reply)

    def _complete(self, stage):
        """Final reply of a transaction; record it before replying so that a
        client which saw 250 can rely on `messages` being filled in."""
        default = '250 2.0.0 Ok: queued as %d' % self.server.next_queue_id()
        code, reply = self._prepare(stage, default)
        self._end_transaction(accepted=code.startswith('2'))
        self._send(reply)

    def _end_transaction(self, accepted):
        if not self.txn:
            return
        message = dict(self.txn, data=bytes(self.txn['data']))
        self.txn = None
        if accepted:
            self.messages.append(message)
            if self.server.on_message:
                self.server.on_message(self, message)
        else:
            self.aborted.append(message)

    def cmd_RSET(self, arg):
        code, reply = self._prepare('RSET', '250 2.0.0 Ok')
        self._end_transaction(accepted=False)
        self._send(reply)

    def cmd_NOOP(self, arg):
        code, reply = self._prepare('NOOP', '250 2.0.0 Ok')
        self._send(reply)

    def cmd_QUIT(self, arg):
        self.quit = True
        code, reply = self._prepare('QUIT', '221 2.0.0 Bye')
        self._send(reply, expect=None)
        raise _Closed()

    # -- replies -------------------------------------------------------------

    def _prepare(self, stage, default, override=True):
        """Apply drop_at/stall_at and the reply override of `stage`.

        Returns (code, bytes); the caller updates its state from the code and
        then sends.  Raises _Closed for drop_at (the open transaction, if any,
        then ends up in `aborted`)."""
        if self.server.drop_at == stage:
            raise _Closed()
        if self.server.stall_at == stage:
            self._stall()
        value = default
        if override and stage in self.server.replies:
            value = self.server.replies[stage]
            n = self.counts.get(stage, 0)
            self.counts[stage] = n + 1
            if isinstance(value, list):          # i-th use gets i-th reply
                value = value[min(n, len(value) - 1)]
        return _encode_reply(value)

    def _send_plain(self, text, stage=None):
        """Send a protocol-error reply; drop_at/stall_at still apply to stage."""
        if stage:
            self._prepare(stage, text, override=False)
        self._send(_encode_reply(text)[1])

    def _send(self, data, expect='command'):
        """Write a reply. First note whether the client already sent what
        comes next without waiting for this reply (pipelining)."""
        if expect:
            self._collect_pending()
            if self.buf:
                self.pipelined.append(self._next_name() if expect == 'command' else expect)
        try:
            self.sock.settimeout(self.server.timeout)
            self.sock.sendall(data)
        except OSError:
            raise _Closed()
        finally:
            self._set_poll_timeout()

    def _next_name(self):
        m = re.match(rb'[A-Za-z]+', self.buf)
        return m.group().decode().upper() if m else '(data)'

    # -- input ---------------------------------------------------------------

    def _record(self, data):
        self._raw += data
        self.buf += data

    def _set_poll_timeout(self):
        try:
            self.sock.settimeout(POLL)
        except OSError:
            pass

    def _fill(self, deadline):
        """Block until more input arrives (appended to buf and raw).

        Polls so that stop() is noticed; deadline None means wait until
        stopped or the client closes."""
        while not self.eof:
            if self.server.stopping.is_set():
                raise _Closed()
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                if deadline is not None and time.monotonic() > deadline:
                    self._send_idle_timeout()
                continue
            except (ssl.SSLError, OSError):
                raise _Closed()
            if not data:
                break
            self._record(data)
            return
        self.eof = True
        raise _Closed()

    def _send_idle_timeout(self):
        try:
            self.sock.settimeout(1)
            self.sock.sendall(b'421 4.4.2 %s Error: timeout exceeded\r\n'
                              % self.server.hostname.encode())
        except OSError:
            pass
        raise _Closed()

    def _read_until(self, sep):
        """Return the next piece of input up to and including sep."""
        start = 0
        while True:
            i = self.buf.find(sep, start)
            if i >= 0:
                piece = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return piece
            if len(self.buf) > MAX_LINE:
                self._send(b'500 5.5.0 Error: line too long\r\n', expect=None)
                raise _Closed()
            start = max(0, len(self.buf) - len(sep) + 1)   # don't rescan
            self._fill(time.monotonic() + self.server.timeout)

    def _read_exact(self, size):
        while len(self.buf) < size:
            self._fill(time.monotonic() + self.server.timeout)
        chunk = bytes(self.buf[:size])
        del self.buf[:size]
        return chunk

    def _read_command(self):
        """Next command line without its terminator (CRLF, or a bare LF as
        Postfix accepts it for commands); recorded in `commands`."""
        line = self._read_until(b'\n')
        line = line[:-2] if line.endswith(b'\r\n') else line[:-1]
        text = line.decode('utf-8', 'surrogateescape')
        self.commands.append(text)
        return text

    def _collect_pending(self):
        """Pull in input that is already in flight, without consuming it.

        A client that waits for each reply never has anything in flight, so
        waiting a few milliseconds cannot cause a false positive; it catches
        clients that pipeline with separate writes."""
        if self.buf or self.eof:
            return
        try:
            pending = self.tls and self.sock.pending()
            if not pending and not select.select([self.sock], [], [], self.server.pipeline_wait)[0]:
                return
            self.sock.settimeout(0)
            data = self.sock.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, ValueError):
            return                           # partial TLS record: nothing yet
        except OSError:
            self.eof = True
            return
        finally:
            self._set_poll_timeout()
        if data:
            self._record(data)
        else:
            self.eof = True

    def _stall(self):
        """Never reply: keep reading (into raw) until stopped or the client leaves."""
        while True:
            self.buf.clear()
            self._fill(None)

    def _start_tls(self):
        self.sock = self.server.ssl_context.wrap_socket(
            self.sock, server_side=True, do_handshake_on_connect=False)
        self._set_poll_timeout()
        deadline = time.monotonic() + self.server.timeout
        while True:
            if self.server.stopping.is_set():
                raise _Closed()
            try:
                self.sock.do_handshake()
                break
            except TimeoutError:             # retry: lets us notice stop()
                if time.monotonic() > deadline:
                    self.tls_error = 'TimeoutError: handshake timed out'
                    raise _Closed()
            except (ssl.SSLError, OSError) as exc:
                # Expected when the client rejects our certificate.
                self.tls_error = '%s: %s' % (type(exc).__name__, exc)
                raise _Closed()
        self.tls = True
        self.tls_version = self.sock.version()


class _AuthAbort(Exception):
    """AUTH ends early; the message is the reply to send."""


# ---------------------------------------------------------------------------
# CLI (make demo)
# ---------------------------------------------------------------------------

def _print_message(session, message):
    out = ['--- message received (connection %d, via %s, tls %s, auth %s) ---'
           % (session.index + 1, message['via'], 'yes' if session.tls else 'no',
              session.auth[1] if session.auth else 'none'),
           ('MAIL FROM:<%s> %s' % (message['mail_from'], message['mail_params'])).rstrip()]
    for rcpt, params in zip(message['rcpts'], message['rcpt_params']):
        out.append(('RCPT TO:<%s> %s' % (rcpt, params)).rstrip())
    out.append('--- data (%d bytes) ---' % len(message['data']))
    out.append(message['data'].decode('utf-8', 'backslashreplace').rstrip('\r\n'))
    out.append('--- end of message ---')
    print('\n'.join(line.replace('\r', '') for line in out), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Scripted SMTP test server.')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--tls', choices=['starttls', 'implicit', 'none'], default='none')
    ap.add_argument('--certdir', help='where to create/reuse test certificates')
    ap.add_argument('--user', action='append', metavar='NAME:PASSWORD',
                    help='SASL user (default tester:secret)')
    ap.add_argument('--once', action='store_true', help='exit after the first connection')
    args = ap.parse_args(argv)

    tls = None if args.tls == 'none' else args.tls
    users = dict(u.split(':', 1) for u in args.user) if args.user else DEFAULT_USERS
    cert = key = None
    if tls:
        certdir = args.certdir or tempfile.mkdtemp(prefix='smtpserver-certs-')
        certs = make_certs(certdir)
        cert, key = certs.cert, certs.key
    srv = Server(tls=tls, cert=cert, key=key, users=users, on_message=_print_message,
                 port=args.port)
    port = srv.start()
    print('listening on 127.0.0.1:%d' % port, flush=True)
    if tls:
        print('CA certificate: %s' % certs.ca, flush=True)
    try:
        if args.once:
            srv.wait(count=1, timeout=None)
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
