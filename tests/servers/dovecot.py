# SPDX-License-Identifier: ISC
"""A private Dovecot submission service (dovecot-core, dovecot-submissiond)
for the interoperability tests, relaying to a capture server of ours
(tests/servers/capture.py) on another free port.

The packages are fetched with `apt-get download` into build/servers and
extracted there (never installed), with the libraries they need that the
machine lacks.  Dovecot insists on fixed paths (/usr/lib/dovecot for its
programs and modules, /usr/bin/doveconf) and on the accounts dovecot and
dovenull: it runs in a private mount namespace where the extracted tree is
overlaid on /usr and those accounts exist in a private copy of
/etc/passwd.  Configuration (-c), state, logs and certificates live in one
temporary directory; listeners on free 127.0.0.1 ports:

  submission   STARTTLS, then AUTH PLAIN/LOGIN against a passwd-file
  smtps        implicit TLS, AUTH

Dovecot offers DSN (and the relay's SIZE) only in the EHLO reply after
AUTH, when it has connected to the relay.
"""
import os
import re
import shutil
import subprocess
import tempfile

from servers import common
from servers.capture import Capture

USER, PASSWORD = 'tester', 'testpass'
RCPT_LIMIT = 20
PORT_NAMES = ('submission', 'smtps')
# dovecot-sieve: Debian 13's dovecot-core has a settings plugin that doveconf
# loads and that needs libdovecot-sieve (in dovecot-sieve).
PACKAGES = ('dovecot-core', 'dovecot-submissiond', 'dovecot-sieve')


class Dovecot:
    name = 'dovecot'

    def __init__(self, size_limit=20 * 1024 * 1024):
        self.size_limit = size_limit
        self.workdir = None
        self.proc = None
        self.ns_id = None
        self.reaper = None
        self.capture = None
        self.version = None

    def start(self):
        common.require_root('a private Dovecot')
        force = os.environ.get('SMTPSEND_DOVECOT_EXTRACTED') == '1'
        root = common.extracted('dovecot', PACKAGES, force=force)
        self.root = root
        self.version = common.deb_version(root, 'dovecot-core') if root else \
            common.installed_version('dovecot-core')
        self.workdir = w = tempfile.mkdtemp(prefix='smtpsend-dovecot-',
                                            dir=common.WORKTOP)
        os.chmod(w, 0o755)
        common.check_namespaces_work(w)
        self.ns = common.Namespace(w, overlay=root,
                                   users=[('dovecot', 'dovecot'), ('dovenull', 'dovenull'),
                                          ('nobody', 'nogroup')])
        self.ns.check()
        mail_uid, mail_gid = self.ns.users['nobody']
        self.ports = dict(zip(PORT_NAMES, common.free_ports(len(PORT_NAMES))))
        # The recipient limit is the relay's: Dovecot 2.3.19's own
        # (submission_max_recipients) answers 451 to the client for the
        # recipients past it but relays them all the same when they come
        # pipelined, so they would get the message twice.
        self.capture = Capture(size=self.size_limit, max_rcpts=RCPT_LIMIT).start()
        self.logdir = os.path.join(w, 'log')
        self.log = os.path.join(self.logdir, 'dovecot.log')
        home = os.path.join(w, 'home')
        for d in (self.logdir, os.path.join(w, 'run'), os.path.join(w, 'state')):
            os.makedirs(d)
            os.chmod(d, 0o755)
        os.makedirs(home)
        os.chown(home, mail_uid, mail_gid)
        self.certs = common.make_certs(os.path.join(w, 'certs'))
        users = os.path.join(w, 'users')
        with open(users, 'w') as f:
            f.write('%s:{PLAIN}%s\n' % (USER, PASSWORD))
        os.chmod(users, 0o644)
        # The syntax of the configuration follows the version (2.3 or 2.4).
        p = self.ns.run(['/usr/sbin/dovecot', '--version'], check=False)
        m = re.match(r'(\d+)\.(\d+)', common._text(p.stdout))
        if p.returncode != 0 or not m:
            raise RuntimeError('dovecot --version: exit %d\n%s%s' % (
                p.returncode, common._text(p.stdout), common._text(p.stderr)))
        self.version_line = 'Dovecot ' + common._text(p.stdout).strip()
        self.major_minor = (int(m.group(1)), int(m.group(2)))
        self.conf = os.path.join(w, 'dovecot.conf')
        with open(self.conf, 'w') as f:
            f.write(self._config(users, home, mail_uid, mail_gid))
        self.daemon_out = os.path.join(w, 'daemon.out')
        with open(self.daemon_out, 'wb') as out_f:
            self.proc = self.ns.popen(['/usr/sbin/dovecot', '-F', '-c', self.conf],
                                      stdin=subprocess.DEVNULL, stdout=out_f,
                                      stderr=subprocess.STDOUT)
        self.ns_id = common.namespace_of(self.proc)
        try:
            common.wait_smtp(self.ports['submission'], proc=self.proc, what='Dovecot')
            if self.ns_id:
                self.reaper = common.start_reaper(self.ns_id, w)
            common.wait_smtp(self.ports['smtps'], implicit=True, ca=self.certs.ca,
                             proc=self.proc, what='Dovecot submissions listener')
        except Exception as e:
            raise RuntimeError('%s\n--- daemon output ---\n%s\n--- log ---\n%s' % (
                e, common.tail(self.daemon_out), common.tail(self.log)))
        return self

    def _config(self, users, home, uid, gid):
        """dovecot.conf in the syntax of the Dovecot found: 2.4 (Debian 13)
        renamed settings and wants its config version first; 2.3 (Debian
        12) knows no such line."""
        w = self.workdir
        c = self.certs
        v24 = self.major_minor >= (2, 4)
        head = ('dovecot_config_version = 2.4.0\n'
                'dovecot_storage_version = 2.4.0\n' if v24 else '')
        listen = 'listen' if v24 else 'address'
        if v24:
            tls = (f'ssl_server_cert_file = {c.cert}\n'
                   f'ssl_server_key_file = {c.key}\n'
                   'auth_allow_cleartext = no\n')
            dbs = (f'passdb passwd-file {{\n  passwd_file_path = {users}\n}}\n'
                   f'userdb static {{\n  fields {{\n    uid = {uid}\n'
                   f'    gid = {gid}\n    home = {home}\n  }}\n}}\n'
                   f'mail_driver = maildir\nmail_path = {home}/Maildir\n')
        else:
            tls = (f'ssl_cert = <{c.cert}\nssl_key = <{c.key}\n'
                   'disable_plaintext_auth = yes\n')
            dbs = (f'passdb {{\n  driver = passwd-file\n'
                   f'  args = scheme=PLAIN {users}\n}}\n'
                   f'userdb {{\n  driver = static\n'
                   f'  args = uid={uid} gid={gid} home={home}\n}}\n'
                   f'mail_location = maildir:{home}/Maildir\n')
        return f"""\
{head}# Private Dovecot submission for smtpsend's tests (tests/servers/dovecot.py)
base_dir = {w}/run
state_dir = {w}/state
log_path = {self.log}
protocols = submission
listen = 127.0.0.1
hostname = dovecot.test.example
submission_host = dovecot.test.example
submission_relay_host = 127.0.0.1
submission_relay_port = {self.capture.port}
submission_relay_trusted = no
submission_relay_ssl = no
# Without it Dovecot says SIZE without a number before AUTH.
submission_max_mail_size = {self.size_limit}
default_internal_user = dovecot
default_login_user = dovenull
ssl = yes
ssl_min_protocol = TLSv1.2
{tls}auth_mechanisms = plain login
# no 2 s pause after a wrong password (the penalty for the next logins
# from 127.0.0.1 stays: test_dovecot.py has its wrong password last)
auth_failure_delay = 0
{dbs}service submission-login {{
  inet_listener submission {{
    {listen} = 127.0.0.1
    port = {self.ports['submission']}
  }}
  inet_listener submissions {{
    {listen} = 127.0.0.1
    port = {self.ports['smtps']}
    ssl = yes
  }}
}}
"""

    def stop(self):
        problems = []
        if self.proc is not None:
            if self.proc.poll() is not None:
                problems.append('Dovecot had exited (status %s): %s'
                                % (self.proc.returncode, common.tail(self.daemon_out, 5)))
            else:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    problems.append('Dovecot still running 10 s after SIGTERM')
                    self.proc.kill()
                    self.proc.wait()
        if self.ns_id:
            common.kill_namespace(self.ns_id)
            if common.pids_in_namespace(self.ns_id):
                problems.append('processes would not die: %s'
                                % common.pids_in_namespace(self.ns_id))
        common.stop_reaper(self.reaper)
        if self.capture:
            self.capture.stop()
            if self.capture.errors:
                problems.append('capture server errors: %s' % self.capture.errors)
        if self.workdir and not common.KEEP and not problems:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if problems:
            raise RuntimeError('; '.join(problems) + ' (files kept in %s)' % self.workdir)
