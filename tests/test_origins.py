#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What a -C file a calling program names can make smtpsend do (CONTRACT
section 8, issue 22 H3 and M4): the keys that write files or run commands
only from a file nobody else can have written, logfile_time_format a
strftime format and nothing else, -C a regular file of bounded size. A real
PHP mail() call with a fifth parameter, as www-data, in a private namespace
(tests/ns.py)."""
import os
import shlex
import shutil
import subprocess
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, skip, main
from e2e import BINARY, run, write_config
from ns import System, available

WWW = 33


def need_ns():
    why = available()
    if why:
        skip(why)


@test
def php_fifth_parameter_cannot_write_a_shell():
    """H3: PHP mail()'s fifth parameter `-C /tmp/upload`, the file a web
    form uploaded, wrote a working PHP shell through logfile and
    logfile_time_format."""
    need_ns()
    if not shutil.which('php'):
        skip('no php-cli')
    with System() as s:
        web = os.path.join(s.dir, 'html')
        os.makedirs(web)
        os.chown(web, WWW, WWW)
        upload = os.path.join(s.dir, 'upload')
        with open(upload, 'w') as f:
            f.write('host 127.0.0.1\nport 9\ntls off\nsyslog off\n'
                    'logfile %s/shell.php\n'
                    'logfile_time_format <?php system($_GET["c"]); ?>\n'
                    'outbox %s/outbox\n' % (web, web))
        os.chown(upload, WWW, WWW)
        code = ('var_dump(mail("to@example.net", "hi", "body\\n", "", '
                '"-C %s"));' % upload)
        r = s.run([], uid=WWW, home=os.path.join(s.dir, 'html'),
                  shell='php -d sendmail_path=%s -r %s'
                  % (shlex.quote(BINARY + ' -t -i'), shlex.quote(code)))
        expect_in('bool(false)', r.out.decode(), 'mail() failed %r' % r)
        expect_not_in('shell.php', os.listdir(web), 'no file written')
        expect_not_in('outbox', os.listdir(web), 'no outbox made')
        expect_in('logfile_time_format', r.err, 'names the key %r' % r)


def refused(cfg, key, home=None):
    path = write_config(cfg, directory=home)
    r = run(['-C', path, 'a@example.net'], stdin=b'Subject: x\n\nhi\n')
    expect_eq(r.rc, 78, '%s refused %r' % (key, r))
    expect_in(key, r.err, 'names %s' % key)
    return r


@test
def time_format_is_a_time_format():
    """H3: nothing a configuration file says ends up in a file unescaped."""
    for bad in ('<?php system($_GET["c"]); ?>', '%b %d%n', '%Q', 'a;b',
                "%H'", 'x' * 65):
        refused('host 127.0.0.1\nlogfile_time_format %s\n' % bad,
                'logfile_time_format')
    for good in ('%b %d %H:%M:%S', '%Y-%m-%dT%H:%M:%S%z', '[%F %T]', '%s',
                 '%Ec'):
        path = write_config('host 127.0.0.1\nport 1\ntls off\nsyslog off\n'
                            'maildomain example.org\n'
                            'logfile_time_format %s\n' % good)
        r = run(['-C', path, '--pretend', 'a@example.net'],
                stdin=b'Subject: x\n\nhi\n')
        expect_eq(r.rc, 0, '%r accepted %r' % (good, r))


def sticky_tmp(s):
    """A /tmp of the namespace's: mode 1777, as a web form's uploads land."""
    tmp = os.path.join(s.dir, 'tmp')
    os.makedirs(tmp)
    os.chmod(tmp, 0o1777)
    return tmp


@test
def writing_keys_only_from_a_file_nobody_else_wrote():
    """H3: logfile, outbox and the *eval keys from a caller-owned file
    outside the caller's home (an upload directory): 78, naming the key.
    The same file in the caller's home is honoured."""
    need_ns()
    with System() as s:
        tmp, home = sticky_tmp(s), s.home(WWW)
        for key, value in (('logfile', '%s/log' % tmp),
                           ('outbox', '%s/ob' % tmp),
                           ('passwordeval', 'echo pw'),
                           ('oauth2_client_secreteval', 'echo s')):
            text = ('host 127.0.0.1\nport 1\ntls off\nsyslog off\n'
                    'user u\nauth plain\n%s %s\n' % (key, value))
            for where, ok in ((tmp, False), (home, True)):
                path = os.path.join(where, 'c-' + key)
                with open(path, 'w') as f:
                    f.write(text)
                os.chown(path, WWW, WWW)
                os.chmod(path, 0o600)
                r = s.run(['-C', path, '--pretend', 'a@example.net'],
                          stdin=b'Subject: x\n\nhi\n', uid=WWW, home=home)
                if ok:
                    expect(r.rc != 78 or key not in r.err,
                           '%s in the home is honoured %r' % (key, r))
                else:
                    expect_eq(r.rc, 78, '%s from %s refused %r'
                              % (key, where, r))
                    expect_in(key + ' writes a file or runs a command',
                              r.err, 'names the key')
            expect_not_in('log', os.listdir(tmp), 'nothing written')
        # Writable by others, even in the home: refused.
        path = os.path.join(home, 'c-shared')
        with open(path, 'w') as f:
            f.write('host 127.0.0.1\nlogfile %s/log\n' % home)
        os.chown(path, WWW, WWW)
        os.chmod(path, 0o666)
        r = s.run(['-C', path, 'a@example.net'], stdin=b'x\n', uid=WWW,
                  home=home)
        expect_eq(r.rc, 78, 'a file others can write %r' % r)
        # Root's, but anyone may write it: refused too.
        os.chown(path, 0, 0)
        r = s.run(['-C', path, 'a@example.net'], stdin=b'x\n', uid=WWW,
                  home=home)
        expect_eq(r.rc, 78, "root's file that others can write %r" % r)
        expect_in('logfile writes a file', r.err, 'names the key')


@test
def a_web_upload_in_the_home_writes_nothing():
    """`logfile ~/x` wrote the log (with a recipient of the form's choice)
    from a file in /tmp; and www-data's home is /var/www, web root and
    upload directory included, where an upload is the caller's, 0644: a -C
    file there that writes or runs must be one only its owner can read."""
    need_ns()
    with System() as s:
        tmp, home = sticky_tmp(s), s.home(WWW)
        uploads = os.path.join(home, 'html', 'uploads')
        os.makedirs(uploads)
        for d in (os.path.dirname(uploads), uploads):
            os.chown(d, WWW, WWW)
        cases = ((tmp, 'logfile ~/shell.php', 0o600, False),
                 (tmp, 'outbox ~/ob', 0o600, False),
                 (uploads, 'logfile %s/shell.php' % home, 0o644, False),
                 (uploads, 'logfile ~/shell.php', 0o644, False),
                 (uploads, 'outbox %s/ob' % home, 0o640, False),
                 (uploads, 'logfile %s/own.log' % home, 0o600, True),
                 # CONTRACT 3: an existing ~/.msmtprc works with -C.
                 (home, 'logfile ~/cron.log', 0o644, True))
        for where, line, mode, ok in cases:
            path = os.path.join(where, '.msmtprc' if where == home else
                                'avatar.png')
            with open(path, 'w') as f:
                f.write('host 127.0.0.1\nport 1\ntls off\nsyslog off\n'
                        'from www@example.org\n%s\n' % line)
            os.chown(path, WWW, WWW)
            os.chmod(path, mode)
            r = s.run(['-C', path, '"<?=`$_GET[c]`?>"@example.org'],
                      stdin=b'Subject: x\n\nhi\n', uid=WWW, home=home)
            what = '%s in %s, %o' % (line, where, mode)
            if ok:
                expect(r.rc != 78, '%s honoured %r' % (what, r))
            else:
                expect_eq(r.rc, 78, '%s refused %r' % (what, r))
                expect_in('writes a file or runs a command', r.err,
                          'says why')
                expect_in('chmod 600', r.err, 'says what to do')
            os.unlink(path)
        expect_not_in('shell.php', os.listdir(home), 'no shell written')
        expect_not_in('ob', os.listdir(home), 'no outbox made')
        expect_in('own.log', os.listdir(home), "the owner's private file")
        expect_in('cron.log', os.listdir(home), "the home's ~/.msmtprc")


@test
def c_takes_a_regular_file_of_bounded_size():
    """M4: -C /dev/urandom never ended and wrote 20 GB of errors; -C
    /dev/zero grew memory to the limit; a FIFO would wait."""
    for dev in ('/dev/urandom', '/dev/zero'):
        t0 = time.monotonic()
        r = run(['-C', dev, 'a@example.net'], stdin=b'x\n', timeout=20)
        expect_eq(r.rc, 78, '%s refused %r' % (dev, r))
        expect_in('not a regular file', r.err, 'says why')
        expect(len(r.err) < 2000, 'one line, not a flood')
        expect(time.monotonic() - t0 < 5, 'at once')
    d = os.path.dirname(write_config('x'))
    fifo = os.path.join(d, 'fifo')
    os.mkfifo(fifo)
    r = run(['-C', fifo, 'a@example.net'], stdin=b'x\n', timeout=20)
    expect_eq(r.rc, 78, 'a FIFO refused at once %r' % r)
    big = write_config('# x\n' * (300 * 1024))
    r = run(['-C', big, 'a@example.net'], stdin=b'x\n', timeout=20)
    expect_eq(r.rc, 78, 'over 1 MiB refused %r' % r)
    expect_in('larger than 1 MiB', r.err, 'says why')


if __name__ == '__main__':
    main()
