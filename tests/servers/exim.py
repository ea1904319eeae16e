# SPDX-License-Identifier: ISC
"""A private Exim (exim4-daemon-heavy) for the interoperability tests.

The package is fetched with `apt-get download` into build/servers and
extracted there (never installed), with the libraries it needs that the
machine lacks; it runs from there in a private mount namespace where the
extracted tree is overlaid on /usr and the account Debian's build wants
(Debian-exim) exists in a private copy of /etc/passwd.  Configuration
(-C), spool, logs, certificates and Maildirs live in one temporary
directory; listeners on free 127.0.0.1 ports:

  submission  STARTTLS, then AUTH PLAIN/LOGIN (required for RCPT)
  smtps       implicit TLS (tls_on_connect_ports), AUTH required
  plain       no TLS, no AUTH needed

with PIPELINING, CHUNKING, 8BITMIME, DSN, SMTPUTF8, SIZE (20 MiB),
smtp_enforce_sync, at most RCPT_LIMIT recipients per message.  Mail for
test.example and localhost goes to Maildirs; reject.example gets 550,
defer.example 450, anything else is refused.

Run by root, Exim keeps its privilege for the daemon but drops it when it
re-executes itself for delivery (-C is not in Debian's trusted list): so
everything runs as Debian-exim, which owns the temporary directory.
"""
import os
import shutil
import subprocess
import tempfile

from servers import common

USER, PASSWORD = 'tester', 'testpass'
RCPT_LIMIT = 20
PORT_NAMES = ('submission', 'smtps', 'plain')
EXIM_USER = 'Debian-exim'


class Exim:
    name = 'exim'

    def __init__(self, size_limit=20 * 1024 * 1024):
        self.size_limit = size_limit
        self.workdir = None
        self.proc = None
        self.ns_id = None
        self.reaper = None
        self.version = None

    def start(self):
        common.require_root('a private Exim')
        force = os.environ.get('SMTPSEND_EXIM_EXTRACTED') == '1'
        root = common.extracted('exim', ['exim4-daemon-heavy'], force=force)
        self.root = root
        self.version = common.deb_version(root, 'exim4-daemon-heavy') if root else \
            common.installed_version('exim4-daemon-heavy')
        self.workdir = w = tempfile.mkdtemp(prefix='smtpsend-exim-',
                                            dir=common.WORKTOP)
        os.chmod(w, 0o755)
        common.check_namespaces_work(w)
        self.ns = common.Namespace(w, overlay=root, users=[(EXIM_USER, EXIM_USER)])
        self.ns.check()
        uid, gid = self.ns.users[EXIM_USER]
        self.ports = dict(zip(PORT_NAMES, common.free_ports(len(PORT_NAMES))))
        self.spool = os.path.join(w, 'spool')
        self.logdir = os.path.join(w, 'log')
        self.mail = os.path.join(w, 'mail')
        for d in (self.spool, self.logdir, self.mail):
            os.makedirs(d)
            os.chown(d, uid, gid)
            os.chmod(d, 0o750)
        self.maildir = common.Maildir(os.path.join(self.mail, 'tester'))
        self.sender_maildir = common.Maildir(os.path.join(self.mail, 'sender'))
        self.mainlog = os.path.join(self.logdir, 'mainlog')
        self.rejectlog = os.path.join(self.logdir, 'rejectlog')
        self.paniclog = os.path.join(self.logdir, 'paniclog')
        self.certs = common.make_certs(os.path.join(w, 'certs'))
        os.chmod(self.certs.dir, 0o755)
        os.chown(self.certs.key, uid, gid)
        self.conf = os.path.join(w, 'exim.conf')
        with open(self.conf, 'w') as f:
            f.write(self._config())
        os.chmod(self.conf, 0o644)

        p = self.ns.run(['/usr/sbin/exim4', '-C', self.conf, '-bV'], check=False)
        out = common._text(p.stdout) + common._text(p.stderr)
        if p.returncode != 0:
            raise RuntimeError('exim4 -bV: exit %d\n%s' % (p.returncode, out))
        self.version_line = out.splitlines()[0] if out else '?'
        self.daemon_out = os.path.join(w, 'daemon.out')
        with open(self.daemon_out, 'wb') as out_f:
            # -bdf: the daemon stays in the foreground, as our child
            self.proc = self.ns.popen(['/usr/sbin/exim4', '-C', self.conf, '-bdf',
                                       '-oP', os.path.join(w, 'exim.pid')],
                                      stdin=subprocess.DEVNULL, stdout=out_f,
                                      stderr=subprocess.STDOUT)
        self.ns_id = common.namespace_of(self.proc)
        try:
            common.wait_port(self.ports['plain'], proc=self.proc, what='Exim')
            if self.ns_id:
                self.reaper = common.start_reaper(self.ns_id, w)
            for name, port in self.ports.items():
                common.wait_smtp(port, implicit=(name == 'smtps'), ca=self.certs.ca,
                                 proc=self.proc, what='Exim %s listener' % name)
        except Exception as e:
            raise RuntimeError('%s\n--- daemon output ---\n%s\n--- mainlog ---\n%s\n'
                               '--- paniclog ---\n%s' % (
                                   e, common.tail(self.daemon_out),
                                   common.tail(self.mainlog), common.tail(self.paniclog)))
        return self

    def _config(self):
        p = self.ports
        c = self.certs
        sub, smtps, plain = p['submission'], p['smtps'], p['plain']
        return f"""\
# Private Exim for smtpsend's interoperability tests (tests/servers/exim.py)
primary_hostname = exim.test.example
qualify_domain = test.example
exim_user = {EXIM_USER}
exim_group = {EXIM_USER}
never_users = root
exim_path = /usr/sbin/exim4
spool_directory = {self.spool}
log_file_path = {self.logdir}/%slog
pid_file_path = {self.workdir}/exim.pid
keep_environment =
log_selector = +smtp_protocol_error +smtp_syntax_error +smtp_no_mail \\
  +smtp_confirmation +tls_cipher +received_recipients +incoming_port
local_interfaces = 127.0.0.1
daemon_smtp_ports = {sub} : {smtps} : {plain}
tls_on_connect_ports = {smtps}
host_lookup = :
rfc1413_hosts = :
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number (smtpsend test)
domainlist local_domains = test.example : localhost : exim.test.example

message_size_limit = {self.size_limit}
recipients_max = {RCPT_LIMIT}
# Three messages a connection, then 421 to MAIL: -q goes on over a new one.
smtp_accept_max_per_connection = 3
smtp_enforce_sync = true
pipelining_advertise_hosts = *
chunking_advertise_hosts = *
dsn_advertise_hosts = *
smtputf8_advertise_hosts = *
accept_8bitmime = true
tls_advertise_hosts = ${{if eq{{$received_port}}{{{plain}}}{{}}{{*}}}}
tls_certificate = {c.cert}
tls_privatekey = {c.key}
auth_advertise_hosts = ${{if def:tls_in_cipher{{*}}{{}}}}
smtp_accept_max = 50
smtp_accept_queue_per_connection = 0
ignore_bounce_errors_after = 0s
timeout_frozen_after = 1h
queue_only = false

acl_smtp_rcpt = acl_rcpt
acl_smtp_mail = acl_mail

begin acl

acl_mail:
  deny    condition = ${{if eq{{$received_port}}{{{plain}}}{{no}}{{yes}}}}
          !authenticated = *
          message = 5.7.0 authentication required (smtpsend test)
  accept

acl_rcpt:
  deny    domains = reject.example
          message = 5.1.2 no such domain (smtpsend test)
  defer   domains = defer.example
          message = 4.3.0 try again later (smtpsend test)
  accept  domains = +local_domains
  deny    message = 5.7.1 relaying disabled (smtpsend test)

begin routers

sender_box:
  driver = accept
  domains = +local_domains
  local_parts = sender
  transport = to_sender

tester_box:
  driver = accept
  domains = +local_domains
  transport = to_tester

begin transports

to_tester:
  driver = appendfile
  directory = {self.mail}/tester
  maildir_format
  create_directory
  delivery_date_add = false
  envelope_to_add = false
  return_path_add = false
  user = {EXIM_USER}
  mode = 0600

to_sender:
  driver = appendfile
  directory = {self.mail}/sender
  maildir_format
  create_directory
  user = {EXIM_USER}
  mode = 0600

begin retry
*  *  F,1h,10m

begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${{if and {{{{eq{{$auth2}}{{{USER}}}}}{{eq{{$auth3}}{{{PASSWORD}}}}}}}}}
  server_set_id = $auth2
  server_advertise_condition = ${{if def:tls_in_cipher}}

login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${{if and {{{{eq{{$auth1}}{{{USER}}}}}{{eq{{$auth2}}{{{PASSWORD}}}}}}}}}
  server_set_id = $auth1
  server_advertise_condition = ${{if def:tls_in_cipher}}
"""

    def stop(self):
        problems = []
        if self.proc is not None:
            if self.proc.poll() is not None:
                problems.append('the Exim daemon had exited (status %s): %s'
                                % (self.proc.returncode, common.tail(self.daemon_out, 5)))
            else:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    problems.append('Exim daemon still running 10 s after SIGTERM')
                    self.proc.kill()
                    self.proc.wait()
        if self.ns_id:
            common.kill_namespace(self.ns_id)
            if common.pids_in_namespace(self.ns_id):
                problems.append('processes would not die: %s'
                                % common.pids_in_namespace(self.ns_id))
        common.stop_reaper(self.reaper)
        if self.workdir and not common.KEEP and not problems:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if problems:
            raise RuntimeError('; '.join(problems) + ' (files kept in %s)' % self.workdir)
