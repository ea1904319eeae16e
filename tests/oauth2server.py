# SPDX-License-Identifier: ISC
"""A scripted OAuth2 authorization server on 127.0.0.1 for the tests:
token endpoint (refresh_token, client_credentials, device_code and
authorization_code grants), device authorization endpoint (RFC 8628) and
an authorization endpoint that redirects at once (the browser's part),
checking PKCE (RFC 7636, S256).

    srv = AuthServer(rotate=True, on_issue=lambda tok: ...)
    srv.start()
    srv.url('/token')
    srv.refresh_tokens.add('rt-0')    # a refresh token it accepts
    srv.approve(user_code)            # the person entered the code
    srv.requests                      # [(path, form dict)], in order
    srv.stop()

What it can be told to do: rotate refresh tokens, issue short-lived or
long access tokens, refuse every refresh with invalid_grant, answer
authorization_pending N times and slow_down once before the tokens.
`closed_port()` gives a port where nothing listens (an endpoint that is
down); AuthServer(port=P) brings it up later.
"""
import base64
import hashlib
import http.server
import json
import secrets
import socket
import threading
import time
import urllib.parse


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class AuthServer:
    def __init__(self, port=0, client_id='smtpsend-test', client_secret=None,
                 rotate=False, expires_in=3600, token_len=40,
                 invalid_grant=False, pending=0, slow_down_once=False,
                 interval=1, device_expires_in=600, on_issue=None,
                 refresh_delay=0):
        self.port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self.rotate = rotate
        self.expires_in = expires_in
        self.token_len = token_len
        self.invalid_grant = invalid_grant
        self.pending = pending
        self.slow_down_once = slow_down_once
        self.interval = interval
        self.device_expires_in = device_expires_in
        self.on_issue = on_issue
        self.refresh_delay = refresh_delay   # seconds a refresh takes
        self.refresh_tokens = set()     # accepted now
        self.issued = []                # every access token, in order
        self.issued_refresh = []
        self.requests = []              # (path, form) in order
        self.polls = []                 # (time, answer) of device polls
        self.devices = {}               # device_code -> state
        self.codes = {}                 # authorization code -> request
        self.pkce_checked = 0
        self.lock = threading.Lock()
        self._n = 0
        self._httpd = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        owner = self

        class Handler(_Handler):
            server_owner = owner
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', self.port),
                                                      Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True,
                         name='oauth2server').start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    # -- what tests ask ----------------------------------------------------

    def hits(self, path='/token', grant_type=None):
        return sum(1 for p, f in self.requests if p == path and
                   (grant_type is None or f.get('grant_type') == grant_type))

    def forms(self, grant_type):
        return [f for p, f in self.requests if f.get('grant_type') == grant_type]

    def approve(self, user_code):
        with self.lock:
            for d in self.devices.values():
                if d['user_code'] == user_code:
                    d['approved'] = True
                    return True
        return False

    # -- tokens --------------------------------------------------------------

    def _token(self, kind):
        self._n += 1
        body = '%s-%d-' % (kind, self._n)
        return body + secrets.token_urlsafe(self.token_len)[:max(
            1, self.token_len - len(body))]

    def issue(self, refresh=True):
        with self.lock:
            access = self._token('at')
            self.issued.append(access)
            answer = {'access_token': access, 'token_type': 'Bearer',
                      'expires_in': self.expires_in}
            if refresh:
                rt = self._token('rt')
                self.refresh_tokens.add(rt)
                self.issued_refresh.append(rt)
                answer['refresh_token'] = rt
        if self.on_issue:
            self.on_issue(access)
        return answer

    def client_ok(self, form):
        if form.get('client_id') != self.client_id:
            return False
        return self.client_secret is None or \
            form.get('client_secret') == self.client_secret

    # -- grants ----------------------------------------------------------------

    def token(self, form):
        if not self.client_ok(form):
            return 401, {'error': 'invalid_client',
                         'error_description': 'unknown client'}
        grant = form.get('grant_type')
        handler = {
            'refresh_token': self._refresh,
            'client_credentials': lambda f: (200, self.issue(refresh=False)),
            'urn:ietf:params:oauth:grant-type:device_code': self._device_poll,
            'authorization_code': self._code,
        }.get(grant)
        if handler is None:
            return 400, {'error': 'unsupported_grant_type'}
        return handler(form)

    def _refresh(self, form):
        rt = form.get('refresh_token')
        time.sleep(self.refresh_delay)
        if self.invalid_grant or rt not in self.refresh_tokens:
            return 400, {'error': 'invalid_grant', 'error_description':
                         'AADSTS70000: the refresh token has been revoked'}
        if self.rotate:
            with self.lock:
                self.refresh_tokens.discard(rt)
        return 200, self.issue(refresh=self.rotate)

    def _device_poll(self, form):
        d = self.devices.get(form.get('device_code'))
        if d is None:
            return 400, {'error': 'invalid_grant'}
        with self.lock:
            if time.time() > d['expires']:
                answer = 'expired_token'
            elif d['pending'] > 0:
                d['pending'] -= 1
                answer = 'authorization_pending'
            elif d['slow_down']:
                d['slow_down'] = False
                answer = 'slow_down'
            elif not d['approved']:
                answer = 'authorization_pending'
            else:
                answer = 'ok'
            self.polls.append((time.monotonic(), answer))
        if answer != 'ok':
            return 400, {'error': answer}
        del self.devices[form['device_code']]
        return 200, self.issue()

    def _code(self, form):
        req = self.codes.pop(form.get('code'), None)
        if req is None or req['redirect_uri'] != form.get('redirect_uri'):
            return 400, {'error': 'invalid_grant'}
        verifier = form.get('code_verifier', '')
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b'=').decode()
        if len(verifier) < 43 or challenge != req['code_challenge']:
            return 400, {'error': 'invalid_grant',
                         'error_description': 'PKCE verification failed'}
        self.pkce_checked += 1
        return 200, self.issue()

    def device(self, form):
        if form.get('client_id') != self.client_id:
            return 400, {'error': 'invalid_client'}
        code = secrets.token_urlsafe(24)
        user_code = '%04d-%04d' % (secrets.randbelow(10000),
                                   secrets.randbelow(10000))
        with self.lock:
            self.devices[code] = {
                'user_code': user_code, 'approved': False,
                'pending': self.pending, 'slow_down': self.slow_down_once,
                'expires': time.time() + self.device_expires_in}
        return 200, {'device_code': code, 'user_code': user_code,
                     'verification_uri': self.url('/device'),
                     'verification_uri_complete':
                         self.url('/device?code=' + user_code),
                     'expires_in': self.device_expires_in,
                     'interval': self.interval}

    def authorize(self, query):
        """The provider's login page, logged in at once: 302 back."""
        q = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        redirect = q.get('redirect_uri', '')
        if (q.get('client_id') != self.client_id or
                q.get('response_type') != 'code' or
                q.get('code_challenge_method') != 'S256' or
                not redirect.startswith('http://127.0.0.1:')):
            return None
        code = secrets.token_urlsafe(20)
        self.codes[code] = q
        self.requests.append(('/authorize', q))
        return redirect + '?' + urllib.parse.urlencode(
            {'code': code, 'state': q.get('state', '')})


class _Handler(http.server.BaseHTTPRequestHandler):
    server_owner = None

    def log_message(self, *args):
        pass

    def _send(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        owner = self.server_owner
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n).decode()
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        path = self.path.split('?')[0]
        owner.requests.append((path, form))
        if path == '/token':
            self._send(*owner.token(form))
        elif path == '/devicecode':
            self._send(*owner.device(form))
        else:
            self._send(404, {'error': 'not_found'})

    def do_GET(self):
        path, _, query = self.path.partition('?')
        location = self.server_owner.authorize(query) \
            if path == '/authorize' else None
        if location is None:
            self._send(400, {'error': 'invalid_request'})
            return
        self.send_response(302)
        self.send_header('Location', location)
        self.send_header('Content-Length', '0')
        self.end_headers()
