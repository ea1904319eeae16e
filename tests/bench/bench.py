#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""tests/bench/bench.py -- smtpsend beside msmtp and curl (the issue "Performance:
a benchmark beside msmtp and curl").  Normally started by tests/bench/run.sh, which
installs the packages and starts a private Postfix first (tests/servers/postfix.py
start; its PF_* variables are in the environment).

    bench.py --smtpsend build/smtpsend --workdir DIR

What it does:

  * writes equivalent configurations for smtpsend (-C) and msmtp (-C) and the
    matching curl command lines, for the private Postfix's submission port
    ($PF_SUBMISSION_PORT: STARTTLS + AUTH), its smtps port ($PF_SMTPS_PORT:
    implicit TLS + AUTH), both trusting $PF_CA, and an smtp-sink on a free
    port (plain).  smtp-sink is $BENCH_SMTP_SINK, run with LD_LIBRARY_PATH=
    $BENCH_SMTP_SINK_LIBS (run.sh takes both from tests/servers/postfix.py
    root);
  * writes identical messages (1 KB, 10 MiB, 200 MiB; the big ones a MIME
    message with a base64 attachment).  smtpsend and msmtp read the message
    on stdin with LF line ends, as sendmail callers give it; curl uploads the
    same message with CRLF line ends (curl sends the file as is), so the same
    bytes go on the wire;
  * starts smtp-sink (raw throughput; it discards everything) and two
    tests/bench/delayproxy.py instances (50 ms each way) in front of the
    submission and smtps ports;
  * runs the three tools interleaved (smtpsend msmtp curl smtpsend msmtp curl
    ...), N times each per scenario after one untimed warm-up round, and
    reports the median wall time, median CPU time (user+sys), the highest
    peak RSS, the exit statuses and smtpsend's ratios to msmtp and curl;
  * prints a summary table and the project's targets (met / missed), and
    writes the summary to tests/bench/last-results.txt.

Measurement: every run is `/usr/bin/time -q -f '%M %x' -o FILE -- TOOL ...`.
Peak RSS is time's %M (KB): the kernel's ru_maxrss of the tool itself.  It has
to come from a small wrapper: ru_maxrss survives exec, so a child forked
straight from this Python process would report Python's own ~10 MB.  Wall time
is measured here (perf_counter around spawn .. reap); CPU time is user+sys
from wait4() on the time process (microsecond resolution; time's %U/%S only
have 10 ms).  Both therefore include /usr/bin/time's own start-up, printed as
the "rig floor" (/usr/bin/time running /bin/true) so it can be subtracted.

Exit status: 0 whatever the numbers are; 2 if the rig cannot be set up
(a server does not start, a tool is missing).  Stdlib only.
"""
import argparse
import base64
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "last-results.txt")

TOOLS = ("smtpsend", "msmtp", "curl")
HOST = "127.0.0.1"
# The private Postfix of tests/servers/postfix.py start (run.sh exports its
# PF_* variables); the defaults are the old fixed ports, for by-hand runs.
HOST = os.environ.get("PF_HOST", HOST)
PF_STARTTLS = int(os.environ.get("PF_SUBMISSION_PORT", 10587))
PF_SMTPS = int(os.environ.get("PF_SMTPS_PORT", 10465))
USER = os.environ.get("PF_USER", "tester")
PASSWORD = os.environ.get("PF_PASS", "testpass")
CA = os.environ.get("PF_CA", "")
PF_VERSION = os.environ.get("PF_VERSION", "?")
SMTP_SINK = os.environ.get("BENCH_SMTP_SINK", "/usr/sbin/smtp-sink")
SMTP_SINK_LIBS = os.environ.get("BENCH_SMTP_SINK_LIBS", "/usr/lib/postfix")
SENDER = "bench@test.example"
RCPT1 = ["rcpt1@discard.example"]
RCPT3 = ["rcpt1@discard.example", "rcpt2@discard.example", "rcpt3@discard.example"]
DELAY = 0.050                    # per direction in the proxy: RTT = 100 ms
RTT = 2 * DELAY
TIME = "/usr/bin/time"
MANY = 20                        # messages of the -q and -bs scenarios


class RigError(Exception):
    """The rig cannot be set up: the only reason to exit non-zero."""


def log(msg=""):
    print(msg, flush=True)


# ------------------------------------------------------------------ servers --

def free_port():
    """A loopback port that was free a moment ago (for smtp-sink, which
    cannot be asked to pick one itself)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def smtp_probe(port, timeout=5.0):
    """Connect, read the greeting, EHLO, QUIT.  Returns the EHLO keywords."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        f = s.makefile("rwb")
        greeting = f.readline()
        if not greeting.startswith(b"220"):
            raise OSError(f"greeting {greeting!r}")
        f.write(b"EHLO bench.probe\r\n")
        f.flush()
        words = []
        while True:
            line = f.readline()
            if not line.startswith(b"250"):
                raise OSError(f"EHLO reply {line!r}")
            words.append(line[4:].decode("ascii", "replace").strip())
            if line[3:4] != b"-":
                break
        f.write(b"QUIT\r\n")
        f.flush()
        f.readline()
        return [w for w in words[1:] if w]       # words[0] is the host name


class Servers:
    """smtp-sink and the delay proxies: started by us, stopped by pid."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []
        self.sink_port = None
        self.sink_log = os.path.join(workdir, "smtp-sink.out")
        self.sink_ehlo = []
        self.proxy = {}                 # target port -> listening port

    def start_sink(self):
        # smtp-sink [options] host:port backlog.  -c: counters on stdout
        # (we read "mesg=N" to check that messages really arrived); -u: it
        # refuses to run as root without dropping privileges; -a: no AUTH
        # announced (none of the clients would use it without credentials).
        for attempt in range(5):
            port = free_port()
            argv = [SMTP_SINK, "-c", "-a"]
            if os.geteuid() == 0:
                argv += ["-u", "nobody"]
            argv += [f"{HOST}:{port}", "1000"]
            out = open(self.sink_log, "wb")
            env = dict(os.environ, LD_LIBRARY_PATH=SMTP_SINK_LIBS)
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=env)
            out.close()
            for _ in range(50):
                if p.poll() is not None:
                    break
                try:
                    self.sink_ehlo = smtp_probe(port)
                    self.procs.append(p)
                    self.sink_port = port
                    return
                except OSError:
                    time.sleep(0.1)
            p.kill()
            p.wait()
        with open(self.sink_log, "rb") as f:
            tail = f.read()[-500:].decode("utf-8", "replace")
        raise RigError(f"smtp-sink did not start: {tail.strip()}")

    def sink_messages(self):
        """smtp-sink's running message counter, or None."""
        try:
            with open(self.sink_log, "rb") as f:
                counts = re.findall(rb"mesg=(\d+)", f.read())
            return int(counts[-1]) if counts else 0
        except OSError:
            return None

    def start_proxy(self, target_port):
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "delayproxy.py"),
             "--listen", f"{HOST}:0", "--target", f"{HOST}:{target_port}",
             "--delay", str(DELAY)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        line = p.stdout.readline().decode()
        m = re.match(r"listening on [\d.]+:(\d+)", line)
        if not m:
            raise RigError(f"delayproxy.py did not start (said {line!r})")
        self.proxy[target_port] = int(m.group(1))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# ----------------------------------------------------------- configuration --

def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def smtpsend_config(port, mode):
    """mode: starttls | smtps | plain"""
    lines = ["account default", f"host {HOST}", f"port {port}"]
    if mode == "plain":
        lines += ["tls off"]
    else:
        if mode == "smtps":
            lines += ["tls_starttls off"]
        lines += [f"user {USER}", f"password {PASSWORD}", f"tls_trust_file {CA}"]
    lines += [f"from {SENDER}", "syslog off"]
    return "\n".join(lines) + "\n"


def msmtp_config(port, mode):
    lines = ["account default", f"host {HOST}", f"port {port}"]
    if mode == "plain":
        lines += ["tls off", "auth off"]
    else:
        lines += ["tls on", "tls_starttls " + ("on" if mode == "starttls" else "off"),
                  f"tls_trust_file {CA}", "auth on", f"user {USER}", f"password {PASSWORD}"]
    lines += [f"from {SENDER}", "syslog off"]
    return "\n".join(lines) + "\n"


def commands(workdir, bin_smtpsend, name, port, mode, rcpts, msg):
    """{tool: (argv, stdin path or None)} for one scenario."""
    ss_conf = os.path.join(workdir, f"smtpsend-{name}.conf")
    ms_conf = os.path.join(workdir, f"msmtp-{name}.rc")
    write_private(ss_conf, smtpsend_config(port, mode))
    write_private(ms_conf, msmtp_config(port, mode))
    scheme = "smtps" if mode == "smtps" else "smtp"
    curl = ["curl", "-sS", "--url", f"{scheme}://{HOST}:{port}"]
    if mode != "plain":
        curl += ["--ssl-reqd", "--cacert", CA, "--user", f"{USER}:{PASSWORD}"]
    curl += ["--mail-from", SENDER]
    for r in rcpts:
        curl += ["--mail-rcpt", r]
    curl += ["--upload-file", msg["crlf"]]
    return {
        "smtpsend": ([bin_smtpsend, "-C", ss_conf] + rcpts, msg["lf"]),
        "msmtp": (["msmtp", "-C", ms_conf] + rcpts, msg["lf"]),
        "curl": (curl, None),
    }


def many_commands(workdir, bin_smtpsend, port, msg):
    """The 20-message scenarios on the delayed 587: smtpsend -q over a kept
    outbox of 20 entries, smtpsend -bs with a 20-message conversation, and
    msmtp and curl once per message (msmtp has no queue run of its own:
    msmtpq runs msmtp per message).  Returns ({tool: cmd} for -q, for -bs,
    and the function that refills the outbox before each -q run)."""
    box = os.path.join(workdir, "outbox")
    snap = os.path.join(workdir, "outbox-20")
    conf = os.path.join(workdir, "smtpsend-many.conf")
    # The entries are made with this very file (an entry goes with its
    # configuration), while it points at a port where nothing listens.
    dead = free_port()
    write_private(conf, smtpsend_config(dead, "starttls") + f"outbox {box}\n")
    for i in range(MANY):
        with open(msg["lf"], "rb") as fin:
            p = subprocess.run([bin_smtpsend, "-C", conf, RCPT1[0]], stdin=fin,
                               capture_output=True)
        if p.returncode != 75:
            raise RigError(f"could not fill the outbox: {p.stderr.decode()!r}")
    write_private(conf, smtpsend_config(port, "starttls") + f"outbox {box}\n")
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(box, snap)

    def refill(tool):
        if tool != "smtpsend":
            return
        for name in os.listdir(snap):
            shutil.copy2(os.path.join(snap, name), os.path.join(box, name))

    bs = os.path.join(workdir, "bs-20.smtp")
    body = open(msg["crlf"], "rb").read().replace(b"\r\n.", b"\r\n..")
    with open(bs, "wb") as f:
        f.write(b"EHLO bench.example\r\n")
        for i in range(MANY):
            f.write(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n%s.\r\n"
                    % (SENDER.encode(), RCPT1[0].encode(), body))
        f.write(b"QUIT\r\n")
    one = commands(workdir, bin_smtpsend, "loop", port, "starttls", RCPT1, msg)
    loops = {}
    for tool in ("msmtp", "curl"):
        argv, stdin_path = one[tool]
        line = " ".join("'%s'" % a for a in argv) + (f" < '{stdin_path}'" if stdin_path else "")
        loops[tool] = (["/bin/sh", "-c", f"for i in $(seq {MANY}); do {line} || exit $?; done"],
                       None)
    q = dict(loops, smtpsend=([bin_smtpsend, "-C", conf, "-q"], None))
    bsc = dict(loops, smtpsend=([bin_smtpsend, "-C", conf, "-bs"], bs))
    return q, bsc, refill


# ---------------------------------------------------------------- messages --

def write_message(workdir, name, size):
    """A message of about `size` bytes (LF form), in LF and CRLF forms.

    Small: a plain text mail.  Big: multipart/mixed with a base64 attachment
    of pseudo-random bytes (fixed seed), lines of 76 characters, 7-bit ASCII,
    no line starting with '.', so no tool needs to re-encode anything."""
    head = (f"From: Bench <{SENDER}>\n"
            "To: Bench recipients <rcpt1@discard.example>\n"
            f"Subject: smtpsend benchmark, {name}\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
            f"Message-ID: <bench-{name}@test.example>\n"
            "MIME-Version: 1.0\n")
    rng = random.Random(size)
    if size <= 64 * 1024:
        head += "Content-Type: text/plain; charset=us-ascii\n\n"
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur",
                 "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"]
        body, line = [], []
        length = len(head)
        while length < size:
            w = rng.choice(words)
            if sum(len(x) + 1 for x in line) + len(w) > 70:
                body.append(" ".join(line) + "\n")
                length += len(body[-1])
                line = []
            line.append(w)
        data = (head + "".join(body)).encode("ascii")
    else:
        head += ("Content-Type: multipart/mixed; boundary=\"=_bench\"\n\n"
                 "--=_bench\nContent-Type: text/plain; charset=us-ascii\n\n"
                 "The attachment is pseudo-random bytes.\n\n"
                 "--=_bench\nContent-Type: application/octet-stream\n"
                 "Content-Transfer-Encoding: base64\n"
                 "Content-Disposition: attachment; filename=\"bench.bin\"\n\n")
        tail = "\n--=_bench--\n"
        # base64.encodebytes: 57 input bytes -> 76 chars + LF = 77 bytes
        nraw = (size - len(head) - len(tail)) * 57 // 77
        data = head.encode() + base64.encodebytes(rng.randbytes(nraw)) + tail.encode()
    paths = {"lf": os.path.join(workdir, f"msg-{name}.lf.eml"),
             "crlf": os.path.join(workdir, f"msg-{name}.crlf.eml"),
             "size": len(data)}
    with open(paths["lf"], "wb") as f:
        f.write(data)
    with open(paths["crlf"], "wb") as f:
        f.write(data.replace(b"\n", b"\r\n"))
    return paths


# ------------------------------------------------------------------ running --

class Result:
    def __init__(self, wall, cpu, rss, rc, err):
        self.wall, self.cpu, self.rss, self.rc, self.err = wall, cpu, rss, rc, err


def run_once(workdir, argv, stdin_path, timeout):
    """One timed run under /usr/bin/time.  Returns a Result (rc -9 on timeout)."""
    tfile = os.path.join(workdir, "time.out")
    efile = os.path.join(workdir, "stderr.out")
    cmd = [TIME, "-q", "-f", "%M %x", "-o", tfile, "--"] + argv
    if os.path.exists(tfile):
        os.unlink(tfile)
    with open(stdin_path or os.devnull, "rb") as fin, open(efile, "wb") as ferr:
        t0 = time.perf_counter()
        # Own process group, so that on a timeout we can stop exactly the
        # processes of this run (time and the tool) by their group id.
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=ferr,
                             start_new_session=True)
        timed_out = []

        def kill_run():
            timed_out.append(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(timeout, kill_run)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)       # blocking: no polling delay
        wall = time.perf_counter() - t0
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)   # reaped by wait4 already
    cpu = ru.ru_utime + ru.ru_stime
    rss, rc = None, p.returncode
    try:
        with open(tfile) as f:
            fields = f.read().split()
        rss, rc = int(fields[-2]), int(fields[-1])
    except (OSError, ValueError, IndexError):
        pass
    if timed_out:
        rc = -9
    with open(efile, "rb") as f:
        err = f.read().decode("utf-8", "replace").strip()
    return Result(wall, cpu, rss, rc, err)


class Scenario:
    def __init__(self, key, title, n, cmds, timeout, roundtrips=False, rss_main=False,
                 sink=False, per=1, prepare=None):
        self.key, self.title, self.n, self.cmds = key, title, n, cmds
        self.per, self.prepare = per, prepare    # messages a run; before each run
        self.timeout, self.roundtrips, self.rss_main, self.sink = timeout, roundtrips, rss_main, sink
        self.results = {t: [] for t in TOOLS}
        self.warm = []                   # warm-up results (not in the figures)
        self.busy = None                 # cpu share used by others, sampled before

    def summary(self, tool):
        rs = self.results[tool]
        ok = [r for r in rs if r.rc == 0]
        use = ok or rs
        return {
            "wall": statistics.median(r.wall for r in use) if use else None,
            "min": min((r.wall for r in use), default=None),
            "cpu": statistics.median(r.cpu for r in use) if use else None,
            "rss": max((r.rss for r in use if r.rss is not None), default=None),
            "runs": len(rs),
            "fails": len(rs) - len(ok),
            "rcs": sorted({r.rc for r in rs if r.rc != 0}),
        }


FAILURES = []                            # "scenario: tool run N: exit X: message"


def run_scenario(sc, workdir, warmup):
    sc.busy = cpu_busy()
    log(f"== {sc.title}: {sc.n} runs per tool" + (" after a warm-up round" if warmup else "")
        + ("" if sc.busy is None else f" (others busy: {sc.busy:.0%} of the cpus)"))
    for i in range(-warmup, sc.n):
        for tool in TOOLS:
            argv, stdin_path = sc.cmds[tool]
            if sc.prepare:
                sc.prepare(tool)
            r = run_once(workdir, argv, stdin_path, sc.timeout)
            tag = "warm-up" if i < 0 else f"run {i + 1}"
            if r.rc != 0:
                why = "timed out" if r.rc == -9 else f"exit {r.rc}"
                last = r.err.splitlines()[-1] if r.err else "(nothing on stderr)"
                log(f"   FAIL {tool} {tag}: {why}: {last}")
                FAILURES.append(f"{sc.title}: {tool} {tag}: {why}: {last}")
            (sc.results[tool] if i >= 0 else sc.warm).append(r)
        if i >= 0 and sc.n > 3:
            print(".", end="", flush=True)
    if sc.n > 3:
        print(flush=True)


# ------------------------------------------------------------------ report --

def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x * 1000:.1f}" if x < 10 else f"{x * 1000:.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def table(scenarios):
    head = ("scenario", "tool", "runs", "wall ms", "min ms", "cpu ms", "peak RSS KB", "exit",
            "/msmtp", "/curl", "RTs")
    rows = [head]
    for sc in scenarios:
        s = {t: sc.summary(t) for t in TOOLS}
        for j, tool in enumerate(TOOLS):
            m = s[tool]
            if m["runs"] == 0:
                continue
            exitcol = "0" if m["fails"] == 0 else \
                f"FAIL {m['fails']}/{m['runs']} ({','.join(map(str, m['rcs']))})"
            r_ms = r_cu = ""
            if tool == "smtpsend":
                key = "rss" if sc.rss_main else "wall"
                r_ms = fmt_ratio(ratio(m[key], s["msmtp"][key]))
                r_cu = fmt_ratio(ratio(m[key], s["curl"][key]))
                if sc.rss_main:
                    r_ms, r_cu = "rss " + r_ms, "rss " + r_cu
            rts = f"{m['wall'] / RTT / sc.per:.2f}" if sc.roundtrips and m["wall"] else ""
            rows.append((sc.title if j == 0 else "", tool, str(m["runs"]), fmt_ms(m["wall"]),
                         fmt_ms(m["min"]), fmt_ms(m["cpu"]), str(m["rss"] or "-"), exitcol,
                         r_ms, r_cu, rts))
        if sc.rss_main:
            m = s["smtpsend"]
            rows.append(("", "", "", "", "", "", "", "", "wall " + fmt_ratio(ratio(m["wall"], s["msmtp"]["wall"])),
                         "wall " + fmt_ratio(ratio(m["wall"], s["curl"]["wall"])), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for k, r in enumerate(rows):
        cells = []
        for i, c in enumerate(r):
            cells.append(c.ljust(widths[i]) if i < 2 or i == 7 else c.rjust(widths[i]))
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def targets(scen):
    """The project's targets: (description, value, limit, met) -- informational."""
    out = []

    def get(key, tool, what="wall"):
        sc = scen.get(key)
        if not sc or not sc.results[tool]:
            return None
        return sc.summary(tool)[what]

    def add(desc, value, limit, fmt):
        met = None if value is None else value <= limit
        out.append((desc, "-" if value is None else fmt(value), fmt(limit),
                    {None: "not measured", True: "met", False: "MISSED"}[met]))

    x = lambda v: f"{v:.3f}x"  # noqa: E731
    rt = lambda v: f"{v:.2f}"  # noqa: E731
    # Issue 18: round trips 5.8 on 587 (smtpsend does AUTH itself after
    # libcurl's STARTTLS+EHLO, in a round trip of its own, not pipelined with
    # MAIL) and 4.2 on 465; large messages at most 1.1x curl's wall time at
    # 10 MB and 200 MB plain in one side-by-side run, peak RSS under 16 MiB.
    # Three recipients: one round trip more than one recipient (as before).
    add("1 KB 587: wall vs msmtp", ratio(get("1k-587", "smtpsend"), get("1k-587", "msmtp")), 0.25, x)
    for key in ("1k-587", "1k-465"):
        add(f"1 KB {key[3:]}: wall vs curl", ratio(get(key, "smtpsend"), get(key, "curl")), 1.0, x)
    for key, desc, limit in (("rt1-587", "587, 1 rcpt", 5.8), ("rt1-465", "465, 1 rcpt", 4.2),
                             ("rt3-587", "587, 3 rcpts", 6.8), ("rt3-465", "465, 3 rcpts", 5.2)):
        w = get(key, "smtpsend")
        add(f"round trips, {desc}", None if w is None else w / RTT, limit, rt)
    # Issue 24: 20 messages over one connection, a round trip each or so.
    for key, desc in (("q20-587", "-q of 20, a message"), ("bs20-587", "-bs of 20, a message")):
        w = get(key, "smtpsend")
        add(f"round trips, {desc}", None if w is None else w / RTT / MANY, 1.3, rt)
    mib = lambda v: f"{v:.1f}"  # noqa: E731
    for key, desc in (("10m", "10 MB"), ("200m", "200 MB")):
        add(f"{desc}: wall vs curl", ratio(get(key, "smtpsend"), get(key, "curl")), 1.1, x)
        rss = get(key, "smtpsend", "rss")
        add(f"{desc}: peak RSS (MiB)", None if rss is None else rss / 1024, 16.0, mib)
    add("10 MB: wall vs msmtp", ratio(get("10m", "smtpsend"), get("10m", "msmtp")), 0.3, x)
    add("--version: wall vs curl", ratio(get("version", "smtpsend"), get("version", "curl")), 1.0, x)
    return out


def target_lines(scen):
    t = targets(scen)
    w0 = max(len(r[0]) for r in t)
    lines = ["Targets (informational: the benchmark never fails on a number)"]
    for desc, val, lim, verdict in t:
        lines.append(f"  {desc.ljust(w0)}  {val:>7}  (limit <= {lim:>5})  {verdict}")
    return lines


def cpu_busy(seconds=0.5):
    """Share of all cpus busy during `seconds` while we run nothing ourselves
    (our servers idle): how much other processes compete with the benchmark."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]              # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
        return 1.0 - (i1 - i0) / max(t1 - t0, 1)
    except (OSError, ValueError, IndexError):
        return None


def first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, timeout=10).stdout
        return out.decode("utf-8", "replace").splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


# -------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description="smtpsend beside msmtp and curl")
    ap.add_argument("--smtpsend", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--n-small", type=int, default=int(os.environ.get("BENCH_N_SMALL", 7)))
    ap.add_argument("--n-big", type=int, default=int(os.environ.get("BENCH_N_BIG", 3)))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("BENCH_WARMUP", 1)),
                    help="untimed rounds before each scenario (default 1)")
    ap.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""),
                    help="comma-separated scenario keys: version,1k-587,1k-465,"
                         "rt1-587,rt3-587,rt1-465,rt3-465,q20-587,bs20-587,10m,200m")
    args = ap.parse_args()
    bin_smtpsend = os.path.abspath(args.smtpsend)
    workdir = args.workdir
    only = {k for k in args.only.split(",") if k}
    started = time.monotonic()

    for tool in (bin_smtpsend, "/usr/bin/msmtp", "/usr/bin/curl", TIME, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            raise RigError(f"{tool} is missing")
    if not CA or not os.path.isfile(CA):
        raise RigError(f"no test CA (PF_CA={CA!r}); start the bench with tests/bench/run.sh, "
                       "which starts a private Postfix (tests/servers/postfix.py start)")
    for port in (PF_STARTTLS, PF_SMTPS):
        try:
            socket.create_connection((HOST, port), timeout=3).close()
        except OSError as exc:
            raise RigError(f"Postfix is not listening on {HOST}:{port} ({exc}); "
                           "start the bench with tests/bench/run.sh")

    servers = Servers(workdir)
    try:
        servers.start_sink()
        servers.start_proxy(PF_STARTTLS)
        servers.start_proxy(PF_SMTPS)

        want = lambda k: not only or k in only  # noqa: E731
        log("writing the messages ...")
        msgs = {"1k": write_message(workdir, "1k", 1024)}
        if want("10m"):
            msgs["10m"] = write_message(workdir, "10m", 10 * 1024 * 1024)
        if want("200m"):
            msgs["200m"] = write_message(workdir, "200m", 200 * 1024 * 1024)

        c = lambda *a: commands(workdir, bin_smtpsend, *a)  # noqa: E731
        px587, px465, sink = servers.proxy[PF_STARTTLS], servers.proxy[PF_SMTPS], servers.sink_port
        ns, nb = args.n_small, args.n_big
        scenarios = [
            Scenario("version", "start-up: --version", ns,
                     {"smtpsend": ([bin_smtpsend, "--version"], None),
                      "msmtp": (["msmtp", "--version"], None),
                      "curl": (["curl", "--version"], None)}, 30),
            Scenario("1k-587", "1 KB, 587 STARTTLS+AUTH", ns,
                     c("1k-587", PF_STARTTLS, "starttls", RCPT1, msgs["1k"]), 60),
            Scenario("1k-465", "1 KB, 465 TLS+AUTH", ns,
                     c("1k-465", PF_SMTPS, "smtps", RCPT1, msgs["1k"]), 60),
            Scenario("rt1-587", "RTT 100ms, 587, 1 rcpt", ns,
                     c("rt1-587", px587, "starttls", RCPT1, msgs["1k"]), 60, roundtrips=True),
            Scenario("rt3-587", "RTT 100ms, 587, 3 rcpts", ns,
                     c("rt3-587", px587, "starttls", RCPT3, msgs["1k"]), 60, roundtrips=True),
            Scenario("rt1-465", "RTT 100ms, 465, 1 rcpt", ns,
                     c("rt1-465", px465, "smtps", RCPT1, msgs["1k"]), 60, roundtrips=True),
            Scenario("rt3-465", "RTT 100ms, 465, 3 rcpts", ns,
                     c("rt3-465", px465, "smtps", RCPT3, msgs["1k"]), 60, roundtrips=True),
        ]
        if want("q20-587") or want("bs20-587"):
            q20, bs20, refill = many_commands(workdir, bin_smtpsend, px587, msgs["1k"])
            scenarios += [
                Scenario("q20-587", f"RTT 100ms, 587, -q of {MANY} (RTs a message)", ns, q20,
                         300, roundtrips=True, per=MANY, prepare=refill),
                Scenario("bs20-587", f"RTT 100ms, 587, -bs of {MANY} (RTs a message)", ns, bs20,
                         300, roundtrips=True, per=MANY),
            ]
        if "10m" in msgs:
            scenarios.append(Scenario("10m", "10 MiB plain, smtp-sink", nb,
                                      c("10m", sink, "plain", RCPT1, msgs["10m"]), 120, sink=True))
        if "200m" in msgs:
            scenarios.append(Scenario("200m", "200 MiB plain, smtp-sink", nb,
                                      c("200m", sink, "plain", RCPT1, msgs["200m"]), 600,
                                      rss_main=True, sink=True))
        scenarios = [s for s in scenarios if want(s.key)]

        # The rig floor: what /usr/bin/time itself costs in every figure.
        floor = [run_once(workdir, ["/bin/true"], None, 10) for _ in range(18)][3:]
        floor_line = (f"rig floor (/usr/bin/time -- /bin/true, median of 15): wall "
                      f"{fmt_ms(statistics.median(r.wall for r in floor))} ms, cpu "
                      f"{fmt_ms(statistics.median(r.cpu for r in floor))} ms, "
                      f"RSS {max(r.rss or 0 for r in floor)} KB")
        log(floor_line)

        sink_before = servers.sink_messages()
        for sc in scenarios:
            run_scenario(sc, workdir, args.warmup)
        sink_after = servers.sink_messages()
    finally:
        servers.stop()

    # smtp-sink's own count of messages received, against the runs that
    # reported success (warm-ups included): a tool that exits 0 without
    # delivering would show here.
    sink_ok = sum(1 for sc in scenarios if sc.sink
                  for r in sc.warm + [r for t in TOOLS for r in sc.results[t]] if r.rc == 0)
    sink_got = None if sink_after is None else sink_after - (sink_before or 0)
    sink_note = (f"check: smtp-sink counted {sink_got} messages, {sink_ok} runs to it exited 0"
                 + ("" if sink_got == sink_ok else "  <-- MISMATCH"))

    header = [
        "smtpsend benchmark beside msmtp and curl  (tests/bench/run.sh)",
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}  host: {platform.node()}  "
        f"{platform.system()} {platform.release()}  cpus: {os.cpu_count()}",
        f"smtpsend: {first_line([bin_smtpsend, '--version'])}",
        f"msmtp:    {first_line(['msmtp', '--version'])}",
        f"curl:     {first_line(['curl', '--version'])}",
        f"Postfix {PF_VERSION} (private instance, tests/servers/postfix.py) on "
        f"{HOST}:{PF_STARTTLS} (STARTTLS+AUTH) and :{PF_SMTPS} (TLS+AUTH); "
        "recipients @discard.example",
        f"smtp-sink on {HOST}:{servers.sink_port} announces: {' '.join(servers.sink_ehlo)}",
        "  (no CHUNKING, no SIZE, no STARTTLS: every tool sends DATA with dot-stuffing there)",
        f"delay proxy: {DELAY * 1000:.0f} ms each way, RTs = median wall / {RTT * 1000:.0f} ms "
        "(process start and local work included)",
        floor_line,
        "wall, cpu: medians over the runs (cpu = user+sys); min: fastest run; "
        "peak RSS: highest run (/usr/bin/time %M);",
        "/msmtp, /curl: smtpsend's median wall divided by theirs (200 MiB: peak RSS, wall below)",
        "smtpsend and msmtp read the message on stdin (LF); curl --upload-file (same message, CRLF)",
        f"-q / -bs of {MANY}: smtpsend over one connection; msmtp and curl once per message "
        "(msmtpq runs msmtp per message); RTs: per message",
        sink_note,
    ]
    body = table(scenarios)
    tgt = target_lines({s.key: s for s in scenarios})
    busy = [sc.busy for sc in scenarios if sc.busy is not None]
    elapsed = f"total time {time.monotonic() - started:.0f} s"
    if busy:
        elapsed += (f"; other processes kept {min(busy):.0%}..{max(busy):.0%} of the cpus busy "
                     "(sampled before each scenario)")
        if max(busy) > 0.10:
            elapsed += "\nWARNING: the machine was not idle; figures are noisy, rerun when it is"
    fails = ["", "Failures (every run that did not exit 0):"] + ["  " + x for x in FAILURES] \
        if FAILURES else ["", "Every run exited 0."]
    report = header + [""] + body + fails + [""] + tgt + ["", elapsed]
    log("")
    log("\n".join(report))
    try:
        with open(RESULTS, "w") as f:
            f.write("\n".join(report) + "\n")
        log(f"(written to {os.path.relpath(RESULTS)})")
    except OSError as exc:
        log(f"(could not write {RESULTS}: {exc})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RigError as exc:
        print(f"bench: cannot set up the rig: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
