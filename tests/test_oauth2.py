#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Built-in OAuth2 end to end (CONTRACT section 11): smtpsend against the
scripted SMTP server and tests/oauth2server.py, both on loopback.

The token file lives in a directory of the test's own: XDG_STATE_HOME for
a user; as root (whose file is /var/lib/smtpsend/oauth2/ACCOUNT whatever
the environment says) smtpsend runs in a mount namespace with that
directory bound over /var/lib, and a tmpfs over /var/spool as e2e does.
"""
import os
import pty
import re
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import BINARY, Result, account, server, write_config
import oauth2server

MAIL = b'From: sender@example.org\nTo: a@example.net\nSubject: t\n\nhello\n'
EXT = ['PIPELINING', 'AUTH XOAUTH2 OAUTHBEARER']
CLIENT_SECRET = 'cs-' + 'S3cr3t' * 4
WRAP = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
        'mount -t tmpfs -o mode=0755 tmpfs /var/spool && '
        'mount --bind "$0" /var/lib && exec "$@"']
_wrap_ok = None


def wrapped(state):
    """The command line that runs smtpsend with its token file in state."""
    global _wrap_ok
    if os.geteuid() != 0:
        return [BINARY]
    if _wrap_ok is None:
        probe = subprocess.run(WRAP + [tempfile.mkdtemp(), 'true'],
                               capture_output=True)
        _wrap_ok = probe.returncode == 0
    if not _wrap_ok:
        skip('root without mount namespaces: the token file would be the '
             "machine's own")
    return WRAP + [state, BINARY]


class Rig:
    """An SMTP server that takes the tokens the auth server issues, a
    state directory, and a config naming both."""

    def __init__(self, account_name='default', grant='client_credentials',
                 token_port=None, extra='', **auth):
        self.smtp = server(extensions=EXT, users={'tester': 'none yet'})
        auth.setdefault('on_issue', self._took)
        self.auth = oauth2server.AuthServer(**auth)
        if token_port is None:
            self.auth.start()
            token_port = self.auth.port
        self.token_port = token_port
        self.name = account_name
        self.state = tempfile.mkdtemp(prefix='smtpsend-state-')
        self.home = tempfile.mkdtemp(prefix='smtpsend-home-')
        base = 'http://127.0.0.1:%d' % token_port
        text = account(self.smtp.port, user=None, extra=(
            'user tester\nauth xoauth2\n'
            'oauth2_client_id smtpsend-test\n'
            'oauth2_token_endpoint %s/token\n'
            'oauth2_device_endpoint %s/devicecode\n'
            'oauth2_auth_endpoint %s/authorize\n'
            'oauth2_scope offline_access https://outlook.office.com/SMTP.Send\n'
            'oauth2_grant %s\n' % (base, base, base, grant)) + extra)
        text = text.replace('account default', 'account ' + account_name)
        self.outbox = re.search(r'^outbox (.*)$', text, re.M).group(1)
        self.config = write_config(text, directory=self.home)

    def _took(self, token):
        self.smtp.users['tester'] = token

    def env(self):
        e = {'PATH': '/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': self.home,
             'LC_ALL': 'C'}
        if os.geteuid() != 0:
            e['XDG_STATE_HOME'] = self.state
        return e

    def argv(self, args):
        return wrapped(self.state) + ['-C', self.config] + \
            (['-a', self.name] if self.name != 'default' else []) + list(args)

    def run(self, args=('a@example.net',), stdin=MAIL):
        p = subprocess.run(self.argv(args), input=stdin, env=self.env(),
                           capture_output=True, timeout=60)
        return Result(p.returncode, p.stdout, p.stderr.decode(errors='replace'))

    @property
    def token_file(self):
        return os.path.join(self.state, 'smtpsend', 'oauth2', self.name)

    def read_tokens(self):
        with open(self.token_file) as f:
            return dict(l.rstrip('\n').split(' ', 1) for l in f
                        if l.strip() and not l.startswith('#'))

    def write_tokens(self, **kv):
        """The token file as --authorize leaves it, bound to this rig."""
        d = os.path.dirname(self.token_file)
        os.makedirs(d, mode=0o700, exist_ok=True)
        for p in (d, os.path.dirname(d)):
            os.chmod(p, 0o700)
        base = {'token_endpoint': 'http://127.0.0.1:%d/token' % self.token_port,
                'client_id': 'smtpsend-test', 'host': '127.0.0.1',
                'port': str(self.smtp.port)}
        base.update(kv)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(''.join('%s %s\n' % i for i in base.items()))

    def age_access_token(self, seconds_left=30):
        """The cached token expires within the minute: it is old."""
        t = self.read_tokens()
        t['expires_at'] = str(int(time.time()) + seconds_left)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, 'w') as f:
            f.write(''.join('%s %s\n' % i for i in t.items()))

    def kept(self):
        return [n for n in os.listdir(self.outbox) if not n.startswith('.')] \
            if os.path.isdir(self.outbox) else []

    def delivered(self):
        return sum(len(s.messages) for s in self.smtp.sessions)

    def stop(self):
        self.smtp.stop()
        self.auth.stop()


def secrets_of(rig):
    return [CLIENT_SECRET] + rig.auth.issued + rig.auth.issued_refresh + \
        sorted(rig.auth.refresh_tokens)


@test
def client_credentials_fetch_once_cache_and_fetch_after_expiry():
    rig = Rig(client_secret=CLIENT_SECRET,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    try:
        r = rig.run()
        expect_eq(r.rc, 0, 'first send %r' % r)
        r = rig.run()
        expect_eq(r.rc, 0, 'second send %r' % r)
        expect_eq(rig.auth.hits('/token', 'client_credentials'), 1,
                  'the cached token is used the second time')
        form = rig.auth.forms('client_credentials')[0]
        expect_eq(form.get('client_secret'), CLIENT_SECRET, 'secret sent')
        rig.age_access_token()
        r = rig.run()
        expect_eq(r.rc, 0, 'after expiry %r' % r)
        expect_eq(rig.auth.hits('/token', 'client_credentials'), 2,
                  'a token within a minute of expiry is fetched again')
        expect_eq(rig.delivered(), 3, 'three messages')
        expect_not_in('refresh_token', open(rig.token_file).read(),
                      'client_credentials has no refresh token')
    finally:
        rig.stop()


@test
def refresh_rotation_is_stored_and_the_old_token_never_sent_again():
    rig = Rig(grant='device', rotate=True)
    try:
        rig.auth.refresh_tokens.add('rt-0-initial')
        rig.write_tokens(refresh_token='rt-0-initial')
        r = rig.run()
        expect_eq(r.rc, 0, 'refreshed and sent %r' % r)
        stored = rig.read_tokens()
        expect_eq(stored['refresh_token'], rig.auth.issued_refresh[-1],
                  'the rotated refresh token is stored')
        expect_eq(stored['access_token'], rig.auth.issued[-1], 'cached')
        rig.age_access_token()
        r = rig.run()
        expect_eq(r.rc, 0, 'second refresh %r' % r)
        sent = [f['refresh_token'] for f in rig.auth.forms('refresh_token')]
        expect_eq(sent, ['rt-0-initial', rig.auth.issued_refresh[0]],
                  'each refresh token used once, the old one never again')
        expect_eq(rig.delivered(), 2, 'both sent')
        expect_eq(rig.auth.forms('refresh_token')[0].get('scope'),
                  'offline_access https://outlook.office.com/SMTP.Send',
                  'scope sent with the refresh')
    finally:
        rig.stop()


@test
def invalid_grant_keeps_the_message_and_names_authorize():
    rig = Rig(account_name='work', grant='device', invalid_grant=True)
    try:
        rig.write_tokens(refresh_token='rt-revoked')
        r = rig.run()
        expect_eq(r.rc, 75, 'temporary %r' % r)
        expect_in('smtpsend --authorize -a work', r.err, 'the fix named')
        expect_in('invalid_grant', r.err, "the provider's error quoted")
        expect_eq(len(rig.kept()), 1, 'the message is kept')
        expect_eq(rig.delivered(), 0, 'nothing sent')
        expect_not_in('rt-revoked', r.err, 'the refresh token not shown')
    finally:
        rig.stop()


@test
def not_authorized_yet_is_temporary_and_says_what_to_run():
    rig = Rig(account_name='mine', grant='device')
    try:
        r = rig.run()
        expect_eq(r.rc, 75, 'temporary %r' % r)
        expect_in('not authorized yet: run smtpsend --authorize -a mine',
                  r.err, 'the fix')
        expect_eq(rig.auth.hits(), 0, 'no request without a refresh token')
    finally:
        rig.stop()


@test
def endpoint_down_keeps_the_message_and_q_sends_it_later():
    port = oauth2server.closed_port()
    rig = Rig(token_port=port, client_secret=CLIENT_SECRET,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    try:
        r = rig.run()
        expect_eq(r.rc, 75, 'endpoint down: temporary %r' % r)
        expect_in('127.0.0.1:%d' % port, r.err, 'the endpoint named')
        expect_eq(len(rig.kept()), 1, 'kept')
        rig.auth.port = port
        rig.auth.start()
        r = rig.run(['-q'], stdin=b'')
        expect_eq(r.rc, 0, '-q once it is up %r' % r)
        expect_eq(rig.delivered(), 1, 'delivered by -q')
        expect_eq(rig.kept(), [], 'and gone from the outbox')
    finally:
        rig.stop()


def at_terminal(rig, args, on_output, timeout=60, env=None, typing=False):
    """Run smtpsend with a pseudo-terminal on stdin, stdout and stderr;
    on_output(text so far) is called as output comes, until it returns
    True (with `typing`, on_output(text, type) where type(bytes) types at
    the terminal). Returns (exit status, all output).

    A pty hands output over in pieces that need not end where a line or
    a write does: read in small ones, on_output sees partial lines on
    every run, and must act on complete lines only (a URL cut short once
    sent the browser to a truncated address: HTTP 400)."""
    master, slave = pty.openpty()
    e = rig.env()
    e.update(env or {})
    p = subprocess.Popen(rig.argv(args), stdin=slave, stdout=slave,
                         stderr=slave, env=e, close_fds=True)
    os.close(slave)
    out = bytearray()
    done = [False]
    failed = []

    def reader():
        while True:
            try:
                chunk = os.read(master, 64)
            except OSError:
                return
            if not chunk:
                return
            out.extend(chunk)
            if not done[0]:
                text = out.decode(errors='replace')
                try:
                    done[0] = bool(on_output(text, lambda b: os.write(master, b))
                                   if typing else on_output(text))
                except Exception as e:  # the browser's: no use waiting
                    failed.append(e)
                    done[0] = True
                    p.kill()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    t.join(5)
    os.close(master)
    if failed:
        raise AssertionError('%r; smtpsend said: %r' % (
            failed[0], out.decode(errors='replace')))
    return rc, out.decode(errors='replace')


@test
def authorize_device_flow_with_pending_and_slow_down():
    rig = Rig(account_name='m365', grant='device', pending=1,
              slow_down_once=True, interval=1)
    try:
        seen = {}

        def approve(text):
            m = re.search(r'open (\S+) and enter the code (\S+)\s', text)
            if m:
                seen['url'], seen['code'] = m.groups()
                return rig.auth.approve(m.group(2))
            return False
        start = time.monotonic()
        rc, out = at_terminal(rig, ['--authorize'], approve)
        took = time.monotonic() - start
        expect_eq(rc, 0, 'authorized: %r' % out)
        expect_in('To authorize smtpsend for m365, open %s/device and enter '
                  'the code %s' % (rig.auth.url(''), seen.get('code')), out,
                  'the address and the code')
        expect_in('(or open %s/device?code=' % rig.auth.url(''), out,
                  'the complete address')
        expect_in('m365 is authorized', out, 'says so')
        answers = [a for _, a in rig.auth.polls]
        expect_eq(answers, ['authorization_pending', 'slow_down', 'ok'],
                  'polled until approved')
        gap = rig.auth.polls[2][0] - rig.auth.polls[1][0]
        expect(gap >= 5.5, 'slow_down adds 5 s to the interval (%.1f s)' % gap)
        expect(took < 20, 'no needless waiting (%.1f s)' % took)
        expect_eq(rig.read_tokens()['refresh_token'],
                  rig.auth.issued_refresh[0], 'the refresh token is stored')
        for s in secrets_of(rig):
            expect_not_in(s, out, 'no token on the terminal')
        r = rig.run()
        expect_eq(r.rc, 0, 'then a send uses it %r' % r)
        expect_eq(rig.auth.hits('/token', 'refresh_token'), 0,
                  'with the cached access token')
    finally:
        rig.stop()


@test
def authorize_authcode_with_pkce_through_the_loopback_redirect():
    rig = Rig(account_name='gmail', grant='authcode')
    try:
        got = {}
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def browse(text):
            m = re.search(r'^  (http://\S+)\r?\n', text, re.M)
            if not m:
                return False
            got['url'] = m.group(1)
            # The browser: log in (a redirect), land on the listener.
            with opener.open(got['url'], timeout=10) as resp:
                got['page'] = resp.read().decode()
                got['landed'] = resp.geturl()
            return True
        rc, out = at_terminal(rig, ['--authorize'], browse)
        expect_eq(rc, 0, 'authorized: %r' % out)
        expect_in('smtpsend: authorized, you may close this window',
                  got.get('page', ''), 'the page the browser shows')
        expect(got['landed'].startswith('http://127.0.0.1:'),
               'redirected to the loopback listener')
        q = rig.auth.requests[0][1]
        expect_eq(q.get('code_challenge_method'), 'S256', 'S256')
        expect_eq(len(q.get('state', '')) >= 16, True, 'a state')
        expect_eq(rig.auth.pkce_checked, 1, 'the verifier matched')
        expect_eq(rig.read_tokens()['refresh_token'],
                  rig.auth.issued_refresh[0], 'stored')
    finally:
        rig.stop()


@test
def a_token_file_others_can_read_is_refused():
    rig = Rig(client_secret=CLIENT_SECRET,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    try:
        expect_eq(rig.run().rc, 0, 'first send')
        st = os.stat(rig.token_file)
        expect_eq(stat.S_IMODE(st.st_mode), 0o600, 'file 0600')
        d = os.stat(os.path.dirname(rig.token_file))
        expect_eq(stat.S_IMODE(d.st_mode), 0o700, 'directory 0700')
        expect_eq(sorted(os.listdir(os.path.dirname(rig.token_file))),
                  ['.default.lock', 'default'],
                  'no temporary file left (the lock stays, empty)')
        os.chmod(rig.token_file, 0o644)
        r = rig.run()
        expect_eq(r.rc, 78, 'refused %r' % r)
        expect_in('can be read by others', r.err, 'says why')
        os.chmod(rig.token_file, 0o600)
        os.rename(rig.token_file, rig.token_file + '.real')
        os.symlink(rig.token_file + '.real', rig.token_file)
        r = rig.run()
        expect_eq(r.rc, 78, 'a symbolic link is refused %r' % r)
    finally:
        rig.stop()


@test
def tokens_of_another_configuration_are_not_used():
    rig = Rig(grant='device')
    try:
        rig.auth.refresh_tokens.add('rt-elsewhere')
        rig.write_tokens(refresh_token='rt-elsewhere',
                         token_endpoint='https://login.example/token')
        r = rig.run()
        expect_eq(r.rc, 78, 'bound to another endpoint %r' % r)
        expect_in('smtpsend --authorize -a default', r.err, 'the fix')
        expect_eq(rig.auth.hits(), 0, 'the refresh token went nowhere')
        rig.write_tokens(refresh_token='rt-1 2')
        r = rig.run()
        expect_eq(r.rc, 78, 'a damaged file %r' % r)
        expect_in('damaged', r.err, 'says so')
    finally:
        rig.stop()


@test
def configuration_errors_are_78():
    rig = Rig()
    try:
        cases = [
            ('oauth2_token_endpoint http://192.0.2.1/token\n',
             'plain http only to a loopback'),
            ('oauth2_provider google\noauth2_grant device\n',
             "Google's device flow refuses"),
            ('oauth2_provider microsoft\noauth2_grant client_credentials\n'
             'oauth2_token_endpoint x\n', ''),
        ]
        for extra, want in cases[:2]:
            text = open(rig.config).read() + extra
            os.chmod(rig.config, 0o600)
            cfg = write_config(text, directory=tempfile.mkdtemp(dir=rig.home))
            p = subprocess.run(wrapped(rig.state) + ['-C', cfg,
                               'a@example.net'], input=MAIL, env=rig.env(),
                               capture_output=True, timeout=30)
            expect_eq(p.returncode, 78, '%r: %r' % (extra, p.stderr))
            expect_in(want, p.stderr.decode(), 'why')
        text = re.sub(r'^oauth2_(token|device|auth)_endpoint .*\n', '',
                      open(rig.config).read(), flags=re.M) + \
            'oauth2_provider microsoft\n'
        cfg = write_config(text, directory=tempfile.mkdtemp(dir=rig.home))
        p = subprocess.run(wrapped(rig.state) + ['-C', cfg, 'a@example.net'],
                           input=MAIL, env=rig.env(), capture_output=True,
                           timeout=30)
        expect_eq(p.returncode, 78, 'client_credentials without a tenant')
        expect_in('needs the directory', p.stderr.decode(), 'why')
    finally:
        rig.stop()


@test
def a_token_longer_than_the_line_goes_after_the_challenge():
    rig = Rig(client_secret=CLIENT_SECRET, token_len=2000,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    try:
        r = rig.run()
        expect_eq(r.rc, 0, 'sent %r' % r)
        expect(len(rig.auth.issued[0]) >= 2000, 'a long token')
        auth = [c for c in rig.smtp.sessions[0].commands
                if c.startswith('AUTH')]
        expect_eq(auth, ['AUTH XOAUTH2'], 'no initial response')
    finally:
        rig.stop()


@test
def verbose_output_never_shows_a_secret():
    rig = Rig(grant='device', rotate=True, client_secret=CLIENT_SECRET,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    try:
        rig.auth.refresh_tokens.add('rt-0-verbose')
        rig.write_tokens(refresh_token='rt-0-verbose')
        r = rig.run(['-v', 'a@example.net'])
        expect_eq(r.rc, 0, 'sent %r' % r)
        expect_in(': a refreshed access token, good for', r.err,
                  '-v says the token was refreshed')
        for s in secrets_of(rig) + ['rt-0-verbose']:
            expect_not_in(s, r.err, '-v output')
            expect_not_in(s, r.out.decode(errors='replace'), 'stdout')
        r = rig.run(['-v', 'a@example.net'])
        expect_eq(r.rc, 0, 'cached %r' % r)
        expect_in(': the cached access token, good for', r.err,
                  '-v says the cached token was used')
        for s in secrets_of(rig):
            expect_not_in(s, r.err, '-v output with a cached token')
    finally:
        rig.stop()


def free_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


@test
def authorize_authcode_over_ssh_fixed_port_and_pasted_address():
    """No browser can reach the listener (it runs on the person's own
    machine): the fixed port and the ssh -L line, and the address the
    browser was sent to pasted at the terminal, state checked."""
    port = free_port()
    rig = Rig(account_name='gmail', grant='authcode',
              extra='oauth2_redirect_port %d\n' % port)
    try:
        got = {}
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), NoRedirect())

        def browse_elsewhere(text, type_):
            m = re.search(r'^  (http://\S+/authorize\S+)\s*$', text, re.M)
            if not m or 'press Enter' not in text:
                return False
            if 'forged' not in got:
                try:
                    opener.open(m.group(1), timeout=10)
                except urllib.error.HTTPError as e:
                    got['location'] = e.headers['Location']
                got['forged'] = re.sub(r'state=[^&]+', 'state=forged',
                                       got['location'])
                type_(got['forged'].encode() + b'\n')
                return False
            if 'still waiting' in text:
                type_(got['location'].encode() + b'\n')
                return True
            return False
        rc, out = at_terminal(rig, ['--authorize'], browse_elsewhere,
                              env={'SSH_CONNECTION': '10.1.2.3 50000 '
                                   '10.9.8.7 22', 'USER': 'jane'},
                              typing=True)
        expect_eq(rc, 0, 'authorized from the pasted address: %r' % out)
        expect_in('  ssh -L %d:127.0.0.1:%d jane@10.9.8.7\n' % (port, port),
                  out.replace('\r\n', '\n'), 'the forward to run')
        expect_in('redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A%d%%2F' % port,
                  out, 'the fixed port in the address')
        expect(got.get('location', '').startswith(
            'http://127.0.0.1:%d/?' % port), 'sent to the fixed port')
        expect_in('belongs to another authorization (its state differs); '
                  'still waiting', out, 'a forged state is refused')
        expect_eq(rig.auth.pkce_checked, 1, 'the verifier matched')
        expect_eq(rig.read_tokens()['refresh_token'],
                  rig.auth.issued_refresh[0], 'stored')
    finally:
        rig.stop()


# ---------------------------------------------------------------- issue 22 --

def set_config(rig, text):
    with open(rig.config, 'w') as f:
        f.write(text)
    os.chmod(rig.config, 0o600)


def authorized(rig):
    """A refresh token, refreshed once: the store bound as now, with a
    cached access token."""
    rig.auth.refresh_tokens.add('rt-0')
    rig.write_tokens(refresh_token='rt-0')
    r = rig.run()
    expect_eq(r.rc, 0, 'first send %r' % r)


@test
def a_calling_program_cannot_redirect_or_weaken_a_token_account():
    """H2: --tls-certcheck=off, --tls-trust-file and the like from a
    program (stdin not a terminal) for an account whose secret is a stored
    token: 78, and no token goes anywhere."""
    rig = Rig(grant='device', rotate=True)
    try:
        authorized(rig)
        hits, sessions = len(rig.auth.requests), len(rig.smtp.sessions)
        for opt in (['--tls-certcheck=off'], ['--tls-trust-file=/etc/hosts'],
                    ['--host=127.0.0.2'], ['--port=1'], ['--tls=off']):
            r = rig.run(opt + ['a@example.net'])
            expect_eq(r.rc, 78, '%s refused %r' % (opt, r))
            expect_in(opt[0].split('=')[0], r.err, 'names the option')
        expect_eq(len(rig.auth.requests), hits, 'no refresh')
        expect_eq(len(rig.smtp.sessions), sessions, 'no connection')
    finally:
        rig.stop()


@test
def a_stored_token_goes_only_under_its_tls_and_proxy():
    """H2: the binding covers TLS, certificate checking, trust file, pin and
    proxy: a file that turns certificate checking off or adds a proxy gets
    neither the cached access token nor a refresh."""
    rig = Rig(grant='device', rotate=True)
    try:
        authorized(rig)
        text = open(rig.config).read()
        hits, sessions = len(rig.auth.requests), len(rig.smtp.sessions)
        for extra in ('tls_certcheck off\n',
                      'proxy_host 127.0.0.1\nproxy_port 1\n',
                      'tls_fingerprint ' + ':'.join(['AB'] * 32) + '\n'):
            set_config(rig, text + extra)
            r = rig.run()
            expect_eq(r.rc, 78, '%r: refused %r' % (extra, r))
            expect_in('--authorize', r.err, 'the fix')
        expect_eq(len(rig.auth.requests), hits, 'no refresh token sent')
        expect_eq(len(rig.smtp.sessions), sessions, 'no access token sent')
        stored = rig.read_tokens()
        expect_eq((stored.get('tls'), stored.get('certcheck')),
                  ('starttls', 'on'), 'the binding is recorded')
    finally:
        rig.stop()


@test
def client_credentials_follows_a_new_host_or_port():
    """Issue 24 point 5: client_credentials needs no --authorize; a store
    bound to another port fetches a new token."""
    rig = Rig(client_secret=CLIENT_SECRET,
              extra='oauth2_client_secret %s\n' % CLIENT_SECRET)
    moved = server(extensions=EXT, users={'tester': 'none yet'})
    try:
        expect_eq(rig.run().rc, 0, 'first send')
        old = rig.smtp
        rig.smtp = moved
        set_config(rig, open(rig.config).read().replace(
            'port %d' % old.port, 'port %d' % moved.port))
        r = rig.run()
        expect_eq(r.rc, 0, 'sent on the new port %r' % r)
        expect_eq(rig.auth.hits('/token', 'client_credentials'), 2,
                  'a new token for the new port')
        expect_eq(len(moved.sessions[0].messages), 1, 'delivered')
        expect_eq(rig.read_tokens()['port'], str(moved.port), 'rebound')
        old.stop()
    finally:
        rig.stop()


@test
def a_refresh_token_follows_a_port_but_not_a_host():
    """Issue 24 point 5: a port change on the same host (TLS unchanged and
    checked) refreshes and keeps working; another host needs --authorize."""
    rig = Rig(grant='device', rotate=True)
    moved = server(extensions=EXT, users={'tester': 'none yet'})
    try:
        authorized(rig)
        old = rig.smtp
        rig.smtp = moved
        text = open(rig.config).read().replace('port %d' % old.port,
                                               'port %d' % moved.port)
        set_config(rig, text)
        r = rig.run()
        expect_eq(r.rc, 0, 'sent on the new port %r' % r)
        expect_eq(len(rig.auth.forms('refresh_token')), 2,
                  'the cached access token was not used: a refresh')
        expect_eq(len(moved.sessions[0].messages), 1, 'delivered')
        hits = len(rig.auth.requests)
        set_config(rig, text.replace('host 127.0.0.1', 'host localhost'))
        r = rig.run()
        expect_eq(r.rc, 78, 'another host %r' % r)
        expect_in('smtpsend --authorize -a default', r.err, 'the fix')
        expect_eq(len(rig.auth.requests), hits, 'the refresh token stayed')
        old.stop()
    finally:
        rig.stop()


@test
def concurrent_sends_spend_one_refresh_token():
    """M3: two sends at once both refreshed with the same refresh token;
    one failed with invalid_grant (and providers that detect reuse revoke
    the whole family). One refresh, under a lock; both use its result."""
    rig = Rig(grant='device', rotate=True, refresh_delay=1.0)
    try:
        rig.auth.refresh_tokens.add('rt-0')
        rig.write_tokens(refresh_token='rt-0')
        # The message from a file: both start at once, not one after
        # the other's standard input.
        path = os.path.join(rig.home, 'mail')
        with open(path, 'wb') as f:
            f.write(MAIL)
        procs = []
        for _ in range(2):
            with open(path, 'rb') as mail:
                procs.append(subprocess.Popen(
                    rig.argv(['a@example.net']), env=rig.env(), stdin=mail,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (_, err) in zip(procs, outs):
            expect_eq(p.returncode, 0, 'both sent: %r' % err[-300:])
        expect_eq(len(rig.auth.forms('refresh_token')), 1, 'one refresh')
        expect_eq(rig.delivered(), 2, 'two messages')
        expect_eq(rig.read_tokens()['refresh_token'],
                  rig.auth.issued_refresh[-1], 'the rotated token stored')
    finally:
        rig.stop()


@test
def a_forged_state_does_not_end_authorize():
    """L3: any local user could end --authorize with one request carrying a
    wrong state to the loopback listener (its port is in /proc/net/tcp):
    it is answered, ignored, and the listener waits for the browser."""
    rig = Rig(account_name='gmail', grant='authcode')
    try:
        got = {}
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def browse(text):
            m = re.search(r'^  (http://\S+)\r?\n', text, re.M)
            if not m:
                return False
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(m.group(1)).query)
            forged = q['redirect_uri'][0] + '?code=evil&state=forged'
            try:
                opener.open(forged, timeout=10)
            except urllib.error.HTTPError as e:
                got['forged'] = e.code
            with opener.open(m.group(1), timeout=10) as resp:
                got['page'] = resp.read().decode()
            return True
        rc, out = at_terminal(rig, ['--authorize'], browse)
        expect_eq(got.get('forged'), 400, 'the forged redirect is answered')
        expect_eq(rc, 0, 'and ignored: authorized %r' % out)
        expect_eq(rig.auth.pkce_checked, 1, 'with the real code')
    finally:
        rig.stop()


if __name__ == '__main__':
    main()
