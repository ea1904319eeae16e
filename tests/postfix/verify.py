#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Check a private Postfix test instance (tests/servers/postfix.py).

Stdlib only.  Silent and exit 0 when every check passes; otherwise prints
one line per failed check to stderr and exits 1.  -v prints every check.
Settings come from the PF_* environment variables that
`tests/servers/postfix.py start DIR` prints (and writes to DIR/env.sh);
tests/test_postfix.py runs it against its own instance.  Must be able to
read the Maildir (root) for the delivery checks; the test messages it
delivers are removed afterwards.
"""
import os
import smtplib
import socket
import ssl
import sys
import time
import uuid

HOST = os.environ.get("PF_HOST", "127.0.0.1")
PLAIN = int(os.environ.get("PF_PLAIN_PORT", "10025"))
SUBMISSION = int(os.environ.get("PF_SUBMISSION_PORT", "10587"))
SMTPS = int(os.environ.get("PF_SMTPS_PORT", "10465"))
USER = os.environ.get("PF_USER", "tester")
PASS = os.environ.get("PF_PASS", "testpass")
CA = os.environ.get("PF_CA", "ca.pem")
MAILDIR = os.environ.get("PF_MAILDIR", "Maildir")
MIN_SIZE = int(os.environ.get("PF_MIN_SIZE", "1"))   # SIZE must be at least this
TIMEOUT = 10
DELIVERY_WAIT = 10.0
EXTENSIONS = ("pipelining", "chunking", "8bitmime", "size", "dsn", "smtputf8")
MECHS = ("PLAIN", "LOGIN", "CRAM-MD5")

VERBOSE = "-v" in sys.argv[1:]
failures = []
expected = {}  # token -> description of a message that must reach the Maildir


class CheckError(Exception):
    pass


def ensure(cond, msg):
    if not cond:
        raise CheckError(msg)


def check(name):
    def deco(fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report everything as a failed check
            failures.append(f"{name}: {type(e).__name__}: {e}")
            if VERBOSE:
                print(f"FAIL {name}: {e}")
        else:
            if VERBOSE:
                print(f"ok   {name}")
        return fn
    return deco


def tls_context():
    ctx = ssl.create_default_context(cafile=CA)  # verifies chain and host name
    return ctx


def message(token, rcpt, sender):
    return (
        f"From: <{sender}>\r\nTo: <{rcpt}>\r\n"
        f"Subject: smtpsend postfix verify {token}\r\n"
        f"Message-ID: <{token}@verify.test.example>\r\n\r\n"
        f"token {token}\r\n"
    ).encode()


def send_expect_delivery(s, rcpt, what):
    token = "verify-" + uuid.uuid4().hex
    sender = "verify@test.example"
    refused = s.sendmail(sender, [rcpt], message(token, rcpt, sender))
    ensure(not refused, f"recipient refused: {refused}")
    expected[token] = f"{what} to {rcpt}"


def features(s):
    return {k.lower() for k in s.esmtp_features}


def check_extensions(s, where):
    missing = [e.upper() for e in EXTENSIONS if not s.has_extn(e)]
    ensure(not missing, f"{where}: EHLO lacks {' '.join(missing)} (has {sorted(features(s))})")
    size = s.esmtp_features.get("size", "").strip()
    ensure(size.isdigit() and int(size) >= MIN_SIZE, f"{where}: SIZE {size!r} < {MIN_SIZE}")


def check_rcpt_policy(s, where):
    code, msg = s.mail("verify@test.example")
    ensure(code == 250, f"{where}: MAIL FROM -> {code} {msg!r}")
    code, msg = s.rcpt("x@reject.example")
    ensure(500 <= code <= 599, f"{where}: RCPT x@reject.example -> {code} {msg!r}, want 5xx")
    code, msg = s.rcpt("x@defer.example")
    ensure(400 <= code <= 499, f"{where}: RCPT x@defer.example -> {code} {msg!r}, want 4xx")
    code, msg = s.rcpt("x@discard.example")
    ensure(code == 250, f"{where}: RCPT x@discard.example -> {code} {msg!r}, want 250")
    code, msg = s.rcpt("x@elsewhere.example")  # nothing may be relayed off the machine
    ensure(500 <= code <= 599, f"{where}: RCPT x@elsewhere.example -> {code} {msg!r}, want 5xx")
    s.rset()


def probe(port, implicit_tls):
    """Connect, read the 220 greeting, QUIT (clean: no errors in the server log)."""
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as raw:
        conn = tls_context().wrap_socket(raw, server_hostname=HOST) if implicit_tls else raw
        with conn:
            greeting = conn.recv(512)
            ensure(greeting.startswith(b"220"), f"port {port}: greeting {greeting!r}")
            conn.sendall(b"QUIT\r\n")
            conn.recv(512)


def wait_for_ports():
    deadline = time.monotonic() + 15
    for port, implicit_tls in ((PLAIN, False), (SUBMISSION, False), (SMTPS, True)):
        while True:
            try:
                probe(port, implicit_tls)
                break
            except ConnectionRefusedError as e:
                if time.monotonic() > deadline:
                    raise CheckError(f"{HOST}:{port} not accepting connections: {e}")
                time.sleep(0.2)


@check(f"ports {PLAIN}/{SUBMISSION}/{SMTPS} listening")
def _ports():
    wait_for_ports()


if failures:  # nothing else can work
    print("verify: FAIL " + failures[0], file=sys.stderr)
    sys.exit(1)


@check(f"plain {PLAIN}: EHLO, delivery, reject/defer/discard")
def _plain():
    with smtplib.SMTP(HOST, PLAIN, timeout=TIMEOUT) as s:
        s.ehlo("verify.test.example")
        check_extensions(s, f"port {PLAIN}")
        ensure(not s.has_extn("starttls"), f"port {PLAIN} offers STARTTLS (should be plain)")
        ensure(not s.has_extn("auth"), f"port {PLAIN} offers AUTH (should need none)")
        send_expect_delivery(s, "tester@test.example", f"port {PLAIN}")
        send_expect_delivery(s, "tester", f"port {PLAIN}")
        send_expect_delivery(s, "anyone@localhost", f"port {PLAIN}")
        check_rcpt_policy(s, f"port {PLAIN}")
        refused = s.sendmail("someone@elsewhere.example", ["bench@discard.example"],
                             message("discard", "bench@discard.example", "someone@elsewhere.example"))
        ensure(not refused, f"discard.example refused: {refused}")


@check(f"submission {SUBMISSION}: STARTTLS required, cert, EHLO, AUTH")
def _submission():
    with smtplib.SMTP(HOST, SUBMISSION, timeout=TIMEOUT) as s:
        s.ehlo("verify.test.example")
        ensure(s.has_extn("starttls"), f"port {SUBMISSION}: no STARTTLS in EHLO")
        ensure(not s.has_extn("auth"), f"port {SUBMISSION}: AUTH offered before STARTTLS")
        code, msg = s.mail("verify@test.example")
        ensure(code == 530, f"port {SUBMISSION}: MAIL before STARTTLS -> {code} {msg!r}, want 530")
        s.starttls(context=tls_context())  # raises if the cert does not verify against ca.pem
        s.ehlo("verify.test.example")
        check_extensions(s, f"port {SUBMISSION} after STARTTLS")
        ensure(s.has_extn("auth"), f"port {SUBMISSION}: no AUTH after STARTTLS")
        mechs = set(s.esmtp_features["auth"].upper().split())
        ensure(set(MECHS) <= mechs, f"port {SUBMISSION}: AUTH mechanisms {sorted(mechs)}, want {MECHS}")
        # not authenticated yet: must be refused
        code, msg = s.mail("verify@test.example")
        ensure(code == 250, f"port {SUBMISSION}: MAIL FROM -> {code} {msg!r}")
        code, msg = s.rcpt("tester@test.example")
        ensure(500 <= code <= 599, f"port {SUBMISSION}: unauthenticated RCPT -> {code}, want 5xx")
        s.rset()
        # wrong password
        s.user, s.password = USER, PASS + "-wrong"
        try:
            s.auth("PLAIN", s.auth_plain)
        except smtplib.SMTPAuthenticationError as e:
            ensure(e.smtp_code == 535, f"port {SUBMISSION}: bad password -> {e.smtp_code}, want 535")
        else:
            raise CheckError(f"port {SUBMISSION}: login with a wrong password succeeded")
        s.login(USER, PASS)
        check_rcpt_policy(s, f"port {SUBMISSION} (authenticated)")
        send_expect_delivery(s, "tester@test.example", f"port {SUBMISSION}")


for _mech in MECHS:
    @check(f"submission {SUBMISSION}: AUTH {_mech} as {USER}")
    def _mech_login(mech=_mech):
        with smtplib.SMTP(HOST, SUBMISSION, timeout=TIMEOUT) as s:
            s.starttls(context=tls_context())
            s.ehlo("verify.test.example")
            s.user, s.password = USER, PASS
            fn = {"PLAIN": s.auth_plain, "LOGIN": s.auth_login, "CRAM-MD5": s.auth_cram_md5}[mech]
            code, msg = s.auth(mech, fn)
            ensure(code == 235, f"AUTH {mech} -> {code} {msg!r}")


@check(f"smtps {SMTPS}: implicit TLS, cert, EHLO, AUTH")
def _smtps():
    with smtplib.SMTP_SSL(HOST, SMTPS, timeout=TIMEOUT, context=tls_context()) as s:
        s.ehlo("verify.test.example")
        check_extensions(s, f"port {SMTPS}")
        ensure(not s.has_extn("starttls"), f"port {SMTPS}: STARTTLS offered inside TLS")
        ensure(s.has_extn("auth"), f"port {SMTPS}: no AUTH")
        code, msg = s.mail("verify@test.example")
        ensure(code == 250, f"port {SMTPS}: MAIL FROM -> {code} {msg!r}")
        code, msg = s.rcpt("tester@test.example")
        ensure(500 <= code <= 599, f"port {SMTPS}: unauthenticated RCPT -> {code}, want 5xx")
        s.rset()
        s.login(USER, PASS)
        send_expect_delivery(s, "tester@test.example", f"port {SMTPS}")


@check(f"smtps {SMTPS}: certificate valid for name 'localhost'")
def _dns_san():
    with socket.create_connection((HOST, SMTPS), timeout=TIMEOUT) as raw:
        with tls_context().wrap_socket(raw, server_hostname="localhost") as t:
            greeting = t.recv(512)
            ensure(greeting.startswith(b"220"), f"greeting {greeting!r}")
            t.sendall(b"QUIT\r\n")
            t.recv(512)


def find_tokens(tokens):
    found = {}
    new = os.path.join(MAILDIR, "new")
    for name in os.listdir(new):
        path = os.path.join(new, name)
        try:
            with open(path, "rb") as f:
                head = f.read(16384)
        except OSError:
            continue
        for t in tokens:
            if t.encode() in head:
                found[t] = path
    return found


@check(f"delivery into {MAILDIR}/new")
def _delivery():
    ensure(expected, "no test message was accepted")
    deadline = time.monotonic() + DELIVERY_WAIT
    found = {}
    while True:
        found.update(find_tokens([t for t in expected if t not in found]))
        if len(found) == len(expected) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for path in found.values():  # keep the Maildir clean for the real tests
        try:
            os.unlink(path)
        except OSError:
            pass
    missing = [d for t, d in expected.items() if t not in found]
    ensure(not missing, f"not delivered within {DELIVERY_WAIT:.0f}s: {'; '.join(missing)}")


if failures:
    for f in failures:
        print("verify: FAIL " + f, file=sys.stderr)
    sys.exit(1)
