#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A private Postfix instance for the interoperability tests (and the
benchmark): its own configuration, queue, data directory, certificates,
SASL database and log, all in one temporary directory; listeners on free
127.0.0.1 ports; mail for the test domains delivered by virtual(8) into
Maildirs in that directory.  The machine's Postfix, if any, is not
touched: its /etc/postfix and queue are read-only inside the private
mount namespace the instance runs in, and nothing is ever relayed.

Postfix and Cyrus SASL are used as installed; what is not installed is
fetched with `apt-get download` into build/servers and run from there
(tests/servers/common.py: extracted), so a machine never gets a new MTA.
SMTPSEND_POSTFIX_EXTRACTED=1 uses the extracted packages even when
Postfix is installed.

As a program (for tests/bench/run.sh and for trying things by hand):

    tests/servers/postfix.py start DIR [--size-limit N] [--ports a,b,c,d]
                                       [--watch PID]
    tests/servers/postfix.py stop DIR
    tests/servers/postfix.py root


start prints the PF_* variables (also written to DIR/env.sh), stop stops
the instance and removes DIR.  With --watch, the instance is also stopped
(and DIR removed) when process PID ends, e.g. --watch $$ in a script
that may be interrupted.  root prints the directory that holds Postfix's
programs: / when it is installed, else build/servers/postfix/root (run
them with LD_LIBRARY_PATH=ROOT/usr/lib/postfix, e.g. usr/sbin/smtp-sink
for the benchmark).  See tests/postfix/README.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from servers import common  # noqa: E402

SERVER_NAME = 'postfix.test.example'
USER, PASSWORD = 'tester', 'testpass'
PORT_NAMES = ('plain', 'submission', 'smtps', 'rcptlimit')
RCPT_LIMIT = 3
PACKAGES = ('postfix', 'sasl2-bin', 'libsasl2-modules', 'libsasl2-modules-db')


class Postfix:
    name = 'postfix'

    def __init__(self, workdir=None, size_limit=20 * 1024 * 1024, ports=None,
                 reaper=True, watch=None):
        self.workdir = workdir
        self.size_limit = size_limit
        self.ports = dict(zip(PORT_NAMES, ports)) if ports else None
        self.want_reaper = reaper or bool(watch)
        self.watch = watch           # the process whose end stops the instance
        self.ns = None
        self.ns_id = None
        self.master = None
        self.reaper = None
        self.source = None
        self.version = None

    # -- paths ---------------------------------------------------------------

    def _paths(self):
        w = self.workdir
        self.conf = os.path.join(w, 'conf')          # config and meta directory
        self.queue = os.path.join(w, 'queue')
        self.data = os.path.join(w, 'data')
        self.mail = os.path.join(w, 'mail')
        # Debian's Postfix reads $config_directory/sasl/smtpd.conf whatever
        # cyrus_sasl_config_path says.
        self.sasl = os.path.join(self.conf, 'sasl')
        self.logdir = os.path.join(w, 'log')
        self.log = os.path.join(self.logdir, 'postfix.log')
        self.maildir = common.Maildir(os.path.join(self.mail, 'tester'))
        self.sender_maildir = common.Maildir(os.path.join(self.mail, 'sender'))

    # -- start ---------------------------------------------------------------

    def start(self):
        common.require_root('a private Postfix')
        force = os.environ.get('SMTPSEND_POSTFIX_EXTRACTED') == '1'
        root = common.extracted('postfix', PACKAGES, force=force)
        if root is None:
            self.source = 'installed'
            self.version = common.installed_version('postfix')
            meta_src = '/etc/postfix'
        else:
            self.source = 'extracted from .debs in ' + common.CACHE
            self.version = common.deb_version(root, 'postfix') or \
                common.installed_version('postfix')
            if not os.path.exists(os.path.join(root, 'usr/sbin/postfix')):
                # only SASL tools were missing: Postfix itself is installed
                meta_src = '/etc/postfix'
            else:
                meta_src = os.path.join(root, 'etc/postfix')
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix='smtpsend-postfix-',
                                            dir=common.WORKTOP)
        os.makedirs(self.workdir, exist_ok=True)
        os.chmod(self.workdir, 0o755)       # postfix (the user) must get in
        self._paths()
        common.check_namespaces_work(self.workdir)
        self.ns = common.Namespace(self.workdir, overlay=root,
                                   users=[('postfix', 'postfix'), (None, 'postdrop')])
        self.ns.check()
        uid, gid = self.ns.users['postfix']
        if self.ports is None:
            self.ports = dict(zip(PORT_NAMES, common.free_ports(len(PORT_NAMES))))

        for d in (self.conf, self.queue, self.mail, self.sasl, self.logdir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        for box in ('tester', 'sender'):
            for sub in ('', 'new', 'cur', 'tmp'):
                p = os.path.join(self.mail, box, sub)
                os.makedirs(p, exist_ok=True)
                os.chown(p, uid, gid)
                os.chmod(p, 0o700)
        os.chown(self.mail, uid, gid)
        self.certs = common.make_certs(os.path.join(self.workdir, 'certs'))
        os.chmod(self.certs.dir, 0o755)
        self._write_config(meta_src, uid, gid)
        self._sasldb(gid)

        p = self.ns.run(['postfix', '-c', self.conf, 'start'], check=False, timeout=120)
        if p.returncode != 0:
            raise RuntimeError('postfix -c %s start: exit %d\n%s%s\n--- %s ---\n%s' % (
                self.conf, p.returncode, common._text(p.stdout), common._text(p.stderr),
                self.log, common.tail(self.log)))
        pidfile = os.path.join(self.queue, 'pid', 'master.pid')
        with open(pidfile) as f:
            self.master = int(f.read().split()[0])
        self.ns_id = common.pin_mount_ns(self.master)
        if self.want_reaper:
            self.reaper = common.start_reaper(self.ns_id, self.workdir, self.watch)
        for name, port in self.ports.items():
            common.wait_smtp(port, implicit=(name == 'smtps'), ca=self.certs.ca,
                             what='Postfix %s listener' % name)
        return self

    def _write_config(self, meta_src, uid, gid):
        c = self.conf
        shutil.copy(os.path.join(meta_src, 'postfix-files'), c)
        d = os.path.join(meta_src, 'postfix-files.d')
        os.makedirs(os.path.join(c, 'postfix-files.d'), exist_ok=True)
        if os.path.isdir(d):
            for n in os.listdir(d):
                shutil.copy(os.path.join(d, n), os.path.join(c, 'postfix-files.d'))
        os.makedirs(os.path.join(c, 'dynamicmaps.cf.d'), exist_ok=True)
        write(os.path.join(c, 'dynamicmaps.cf'),
              '# dict-type\tso-name (pathname)\tdict-function\tmkmap-function\n')
        write(os.path.join(c, 'recipient_access'),
              'reject.example\t550 5.1.2 no such domain (smtpsend test)\n'
              'defer.example\t450 4.3.0 try again later (smtpsend test)\n')
        write(os.path.join(c, 'transport'),
              'discard.example\tdiscard:discarded by the smtpsend test server\n')
        write(os.path.join(c, 'vmailbox'),
              '# virtual(8) mailboxes below %s\n'
              '/^sender@/\tsender/\n'
              '/@/\ttester/\n' % self.mail)
        err = 'error:5.7.1 outbound delivery disabled (smtpsend test)'
        main = [
            'compatibility_level = 3.6',
            'meta_directory = ' + c,
            'queue_directory = ' + self.queue,
            'data_directory = ' + self.data,
            'mail_owner = postfix',
            'setgid_group = postdrop',
            'myhostname = ' + SERVER_NAME,
            'mydomain = test.example',
            'myorigin = $myhostname',
            'mydestination =',
            'local_recipient_maps =',
            'local_transport = error:5.1.1 no local delivery (smtpsend test)',
            'alias_maps =',
            'alias_database =',
            'inet_interfaces = 127.0.0.1',
            'inet_protocols = ipv4',
            'mynetworks = 127.0.0.1/32',
            'relay_domains = discard.example',
            'transport_maps = texthash:%s/transport' % c,
            'default_transport = ' + err,
            'relay_transport = ' + err,
            'virtual_mailbox_domains = test.example, localhost, $myhostname',
            'virtual_mailbox_base = ' + self.mail,
            'virtual_mailbox_maps = regexp:%s/vmailbox' % c,
            'virtual_uid_maps = static:%d' % uid,
            'virtual_gid_maps = static:%d' % gid,
            'virtual_minimum_uid = 1',
            'virtual_mailbox_limit = 0',
            'mailbox_size_limit = 0',
            'message_size_limit = %d' % self.size_limit,
            'smtpd_banner = $myhostname ESMTP Postfix (smtpsend test)',
            'biff = no',
            'append_dot_mydomain = no',
            'delay_warning_time = 0h',
            'smtpd_delay_reject = yes',
            'smtpd_client_restrictions =',
            'smtpd_helo_restrictions =',
            'smtpd_sender_restrictions =',
            # reject.example and defer.example answer 550 and 450; nothing
            # is relayed, authenticated or not
            'smtpd_relay_restrictions = check_recipient_access '
            'texthash:%s/recipient_access, reject_unauth_destination' % c,
            'smtpd_recipient_restrictions =',
            'smtpd_error_sleep_time = 0s',
            'in_flow_delay = 0s',
            'smtpd_peername_lookup = no',
            'smtp_dns_support_level = disabled',
            'smtp_host_lookup = native',
            'lmtp_host_lookup = native',
            'smtputf8_enable = yes',
            'smtpd_discard_ehlo_keywords =',
            'smtpd_tls_cert_file = ' + self.certs.cert,
            'smtpd_tls_key_file = ' + self.certs.key,
            'smtpd_tls_security_level = none',
            'smtpd_tls_auth_only = yes',
            'smtpd_tls_loglevel = 0',
            'smtpd_sasl_auth_enable = no',
            'smtpd_sasl_type = cyrus',
            'smtpd_sasl_path = smtpd',
            'cyrus_sasl_config_path = ' + self.sasl,
            'smtpd_sasl_local_domain = $myhostname',
            'smtpd_sasl_security_options = noanonymous',
            'smtpd_sasl_tls_security_options = noanonymous',
            'broken_sasl_auth_clients = no',
            'maillog_file = ' + self.log,
            'maillog_file_prefixes = ' + self.workdir,
        ]
        write(os.path.join(c, 'main.cf'), '\n'.join(main) + '\n')
        auth = ('-o smtpd_sasl_auth_enable=yes '
                '-o smtpd_client_restrictions=permit_sasl_authenticated,reject')
        p = self.ports
        listeners = [
            '127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/plain'
            % p['plain'],
            '127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/submission '
            '-o smtpd_tls_security_level=encrypt %s' % (p['submission'], auth),
            '127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/smtps '
            '-o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt %s'
            % (p['smtps'], auth),
            '127.0.0.1:%d inet n - n - - smtpd -o syslog_name=postfix/rcptlimit '
            '-o smtpd_recipient_limit=%d' % (p['rcptlimit'], RCPT_LIMIT),
        ]
        # Nothing chrooted: every file lives in the temporary directory.
        services = """\
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
local      unix  - n n -    - local
virtual    unix  - n n -    - virtual
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
"""
        write(os.path.join(c, 'master.cf'), '\n'.join(listeners) + '\n' + services)
        write(os.path.join(self.sasl, 'smtpd.conf'),
              'pwcheck_method: auxprop\nauxprop_plugin: sasldb\n'
              'mech_list: PLAIN LOGIN CRAM-MD5\nsasldb_path: %s/sasldb2\n' % self.sasl)

    def _sasldb(self, gid):
        db = os.path.join(self.sasl, 'sasldb2')
        self.ns.run(['saslpasswd2', '-p', '-c', '-f', db, '-u', SERVER_NAME, USER],
                    input=PASSWORD.encode(), stdin=None)
        os.chown(db, 0, gid)
        os.chmod(db, 0o640)

    # -- stop ----------------------------------------------------------------

    def stop(self):
        problems = []
        if self.master:
            try:
                os.kill(self.master, 15)      # what `postfix stop` does
            except ProcessLookupError:
                pass
            if not common.wait_gone(self.master, 15):
                problems.append('Postfix master %d still running 15 s after '
                                'SIGTERM' % self.master)
        if self.ns_id:
            # The master signals its children and exits without waiting for
            # them (under Debian 13's Postfix 3.10 one outlived it): only
            # what is still there after a grace is left behind.
            # Those are Postfix's, not smtpsend's: killed and noted, and
            # only a process that will not die is a failure.
            common.wait_namespace_empty(self.ns_id, 5)
            left = common.kill_namespace(self.ns_id)
            if left:
                print('note: Postfix processes left after the master '
                      'stopped, killed: %s' % left)
            if common.pids_in_namespace(self.ns_id):
                problems.append('processes would not die: %s'
                                % common.pids_in_namespace(self.ns_id))
        common.stop_reaper(self.reaper)
        if self.ports:
            for name, port in self.ports.items():
                try:
                    common.socket.create_connection((common.HOST, port), timeout=1).close()
                    problems.append('port %d (%s) still open after stop' % (port, name))
                except OSError:
                    pass
        if self.workdir and not common.KEEP and not problems:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if problems:
            raise RuntimeError('; '.join(problems) + ' (files kept in %s)' % self.workdir)

    # -- for tests -------------------------------------------------------------

    def env(self):
        return {
            'PF_HOST': common.HOST,
            'PF_PLAIN_PORT': str(self.ports['plain']),
            'PF_SUBMISSION_PORT': str(self.ports['submission']),
            'PF_SMTPS_PORT': str(self.ports['smtps']),
            'PF_RCPTLIMIT_PORT': str(self.ports['rcptlimit']),
            'PF_USER': USER,
            'PF_PASS': PASSWORD,
            'PF_CA': self.certs.ca,
            'PF_MAILDIR': self.maildir.path,
            'PF_LOG': self.log,
            'PF_DIR': self.workdir,
            'PF_VERSION': (self.version or '?').split('-')[0],
        }


def write(path, text, mode=0o644):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


# -- command line ---------------------------------------------------------------

def _cli(argv):
    import argparse
    import json
    import shlex
    ap = argparse.ArgumentParser(prog='tests/servers/postfix.py')
    ap.add_argument('action', choices=('start', 'stop', 'root'))
    ap.add_argument('dir', nargs='?')
    ap.add_argument('--size-limit', type=int, default=300000000)
    ap.add_argument('--ports', help='plain,submission,smtps,rcptlimit')
    ap.add_argument('--watch', type=int, metavar='PID',
                    help='stop the instance when process PID ends')
    a = ap.parse_args(argv)
    if a.action == 'root':
        try:
            root = common.extracted('postfix', PACKAGES,
                                    force=os.environ.get('SMTPSEND_POSTFIX_EXTRACTED') == '1')
        except common.Skip as e:
            sys.exit('no Postfix to be had: %s' % e)
        if not root or not os.path.exists(os.path.join(root, 'usr/sbin/postfix')):
            root = '/'               # Postfix itself is installed
        print(root)
        return 0
    if not a.dir:
        ap.error('start and stop need DIR')
    d = os.path.abspath(a.dir)
    state = os.path.join(d, 'instance.json')
    if a.action == 'start':
        ports = [int(x) for x in a.ports.split(',')] if a.ports else None
        if os.path.exists(state):
            sys.exit('%s: an instance was started there already' % d)
        pf = Postfix(workdir=d, size_limit=a.size_limit, ports=ports, reaper=False,
                     watch=a.watch)
        try:
            pf.start()
        except common.Skip as e:
            sys.exit('cannot start a private Postfix: %s' % e)
        except Exception as e:
            try:
                pf.stop()
            except Exception:
                pass
            sys.exit('private Postfix failed to start: %s' % e)
        with open(state, 'w') as f:
            json.dump({'master': pf.master, 'ns': pf.ns_id, 'ports': pf.ports,
                       'reaper': pf.reaper.pid if pf.reaper else None}, f)
        text = ''.join('export %s=%s\n' % (k, shlex.quote(v))
                       for k, v in sorted(pf.env().items()))
        write(os.path.join(d, 'env.sh'), text)
        sys.stdout.write(text)
        return 0
    try:
        with open(state) as f:
            st = json.load(f)
    except OSError:
        sys.exit('%s: no instance started there' % d)
    pf = Postfix(workdir=d, ports=[st['ports'][n] for n in PORT_NAMES], reaper=False)
    pf.master, pf.ns_id = st['master'], st['ns']
    pf.stop()
    if st.get('reaper'):          # not our child any more: by its pid
        try:
            os.kill(st['reaper'], 15)
        except OSError:
            pass
    return 0


if __name__ == '__main__':
    sys.exit(_cli(sys.argv[1:]))
