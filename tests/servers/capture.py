# SPDX-License-Identifier: ISC
"""A small SMTP server on 127.0.0.1 that keeps every message it accepts:
the relay target behind Dovecot submission.  Stdlib only.

Recipients @reject.example get 550, @defer.example 450, those past
max_rcpts in one transaction 452; MAIL with a SIZE=
above `size` gets 552, as does a message that turns out larger.  DATA and
BDAT (CHUNKING) are both taken; the extensions offered are `extensions`.
The reply to QUIT can be made to wait (quit_delay).
"""
import re
import socket
import threading
import time

EXTENSIONS = ('PIPELINING', 'CHUNKING', '8BITMIME', 'DSN', 'ENHANCEDSTATUSCODES',
              'SMTPUTF8')


class Capture:
    def __init__(self, size=20 * 1024 * 1024, extensions=EXTENSIONS,
                 hostname='relay.test.example', quit_delay=0.0, max_rcpts=0):
        self.size = size
        self.max_rcpts = max_rcpts      # per transaction; 0: no limit
        self.quit_delay = quit_delay    # seconds before the 221
        self.extensions = list(extensions) + ['SIZE %d' % size]
        self.hostname = hostname
        self.messages = []          # dicts: mail_from, mail_params, rcpts, rcpt_params, data, via
        self.transcripts = []       # per connection: the command lines received
        self.errors = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._sock = None
        self.port = None

    def start(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', 0))
        s.listen(32)
        s.settimeout(0.2)
        self._sock = s
        self.port = s.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        if self._sock:
            self._sock.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(c,), daemon=True).start()

    def wait_for(self, needle, count=1, timeout=10.0):
        needle = needle.encode() if isinstance(needle, str) else needle
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if needle in m['data']]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._cond.wait(min(left, 0.1))

    # -- one connection ------------------------------------------------------

    def _session(self, conn):
        conn.settimeout(30)
        buf = bytearray()
        transcript = []
        with self._cond:
            self.transcripts.append(transcript)
        txn = None

        def send(text):
            conn.sendall(text.encode() + b'\r\n')

        def fill():
            data = conn.recv(1 << 16)
            if not data:
                raise EOFError
            buf.extend(data)

        def line():
            while True:
                i = buf.find(b'\r\n')
                if i >= 0:
                    out = bytes(buf[:i])
                    del buf[:i + 2]
                    return out
                if len(buf) > 1 << 20:
                    raise EOFError
                fill()

        def exact(n):
            while len(buf) < n:
                fill()
            out = bytes(buf[:n])
            del buf[:n]
            return out

        def finish(t):
            if len(t['data']) > self.size:
                send('552 5.3.4 message too big')
                return
            with self._cond:
                self.messages.append(dict(t, data=bytes(t['data'])))
                self._cond.notify_all()
            send('250 2.0.0 Ok: queued as %d' % len(self.messages))

        try:
            send('220 %s ESMTP capture' % self.hostname)
            while True:
                raw = line()
                cmd = raw.decode('utf-8', 'replace')
                transcript.append(cmd)
                verb = cmd.split(' ', 1)[0].upper()
                arg = cmd[len(verb):].strip()
                if verb in ('EHLO', 'LHLO'):
                    txn = None
                    lines = [self.hostname] + self.extensions
                    for i, l in enumerate(lines):
                        send('250%s%s' % ('-' if i < len(lines) - 1 else ' ', l))
                elif verb == 'HELO':
                    send('250 %s' % self.hostname)
                elif verb == 'MAIL':
                    m = re.match(r'FROM:\s*<([^>]*)>\s*(.*)', arg, re.I)
                    if not m:
                        send('501 5.5.4 syntax')
                        continue
                    sz = re.search(r'\bSIZE=(\d+)', m.group(2), re.I)
                    if sz and int(sz.group(1)) > self.size:
                        send('552 5.3.4 message size exceeds fixed limit')
                        continue
                    txn = {'mail_from': m.group(1), 'mail_params': m.group(2),
                           'rcpts': [], 'rcpt_params': [], 'data': bytearray(),
                           'via': None}
                    send('250 2.1.0 Ok')
                elif verb == 'RCPT':
                    m = re.match(r'TO:\s*<([^>]*)>\s*(.*)', arg, re.I)
                    if txn is None or not m:
                        send('503 5.5.1 need MAIL' if txn is None else '501 5.5.4 syntax')
                        continue
                    domain = m.group(1).rpartition('@')[2].lower()
                    if domain == 'reject.example':
                        send('550 5.1.2 no such domain (smtpsend test)')
                    elif domain == 'defer.example':
                        send('450 4.3.0 try again later (smtpsend test)')
                    elif self.max_rcpts and len(txn['rcpts']) >= self.max_rcpts:
                        send('452 4.5.3 too many recipients (smtpsend test)')
                    else:
                        txn['rcpts'].append(m.group(1))
                        txn['rcpt_params'].append(m.group(2))
                        send('250 2.1.5 Ok')
                elif verb == 'DATA':
                    if txn is None or not txn['rcpts']:
                        send('554 5.5.1 no valid recipients')
                        continue
                    send('354 go ahead')
                    while True:
                        l = line()
                        if l == b'.':
                            break
                        txn['data'] += (l[1:] if l.startswith(b'.') else l) + b'\r\n'
                    txn['via'] = 'DATA'
                    finish(txn)
                    txn = None
                elif verb == 'BDAT':
                    m = re.fullmatch(r'(\d+)(\s+LAST)?', arg, re.I)
                    if not m:
                        send('501 5.5.4 syntax')
                        continue
                    chunk = exact(int(m.group(1)))
                    if txn is None or not txn['rcpts']:
                        send('554 5.5.1 no valid recipients')
                        txn = None
                        continue
                    txn['data'] += chunk
                    txn['via'] = 'BDAT'
                    if m.group(2):
                        finish(txn)
                        txn = None
                    else:
                        send('250 2.0.0 %d octets' % len(chunk))
                elif verb == 'RSET':
                    txn = None
                    send('250 2.0.0 Ok')
                elif verb == 'NOOP':
                    send('250 2.0.0 Ok')
                elif verb == 'QUIT':
                    time.sleep(self.quit_delay)
                    send('221 2.0.0 Bye')
                    return
                else:
                    send('502 5.5.2 command not recognized')
        except (EOFError, OSError):
            pass
        except Exception as e:       # a bug here: keep it visible
            self.errors.append(repr(e))
        finally:
            conn.close()
