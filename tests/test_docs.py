#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The examples of README.md and smtpsend.1 that issue 25 touched, run as
written (taken from the files, not copied here), on a host whose name has
no dot and without /etc/mailname (tests/ns.py), with the configuration in
~/.config/smtpsend/config where the documents put it."""
import os
import re

from harness import test, expect, expect_eq, expect_in, skip, main
from e2e import BINARY
import ns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_block(after):
    """The first indented block after the line `after` in README.md."""
    with open(os.path.join(ROOT, 'README.md')) as f:
        lines = f.read().split('\n')
    i = next(n for n, l in enumerate(lines) if l.startswith(after))
    while not lines[i].startswith('    '):
        i += 1
    block = []
    while i < len(lines) and (lines[i].startswith('    ') or not lines[i]):
        if lines[i] and not lines[i].startswith('     '):
            block.append(lines[i][4:])
        i += 1
    return '\n'.join(block) + '\n'


def manual_block(after):
    """The text of the first .Bd ... .Ed display after `after` in the
    manual, with roff's escapes undone."""
    with open(os.path.join(ROOT, 'smtpsend.1')) as f:
        text = f.read()
    i = text.index(after)
    i = text.index('.Bd -literal', i)
    i = text.index('\n', i) + 1
    block = text[i:text.index('\n.Ed', i)]
    return block.replace('\\e', '\\').replace('\\&', '') + '\n'


def in_home(s, config):
    """HOME with the configuration where README tells people to write it."""
    home = os.path.join(s.dir, 'roothome')
    os.makedirs(os.path.join(home, '.config', 'smtpsend'), exist_ok=True)
    path = os.path.join(home, '.config', 'smtpsend', 'config')
    with open(path, 'w') as f:
        f.write(config)
    os.chmod(path, 0o600)
    return home


def shell(s, home, command, stdin=b''):
    env = {'PATH': '%s:/usr/bin:/bin' % os.path.dirname(BINARY)}
    return s.run([], home=home, env=env, stdin=stdin,
                 shell='cd "$HOME" && ' + command)


def need_ns():
    why = ns.available()
    if why:
        skip(why)
    if os.path.basename(BINARY) != 'smtpsend':
        skip('the binary is not named smtpsend')


@test
def readme_minimal_configuration_works_as_written():
    need_ns()
    config = readme_block('## A minimal configuration')
    expect_in('password ', config, 'the plain example')
    command = next(l for l in readme_block('TLS is on and').splitlines()
                   if '--pretend -t' in l)
    command = command.split('#')[0].strip()
    with ns.System(hostname='vm', mailname='') as s:
        home = in_home(s, config)
        with open(os.path.join(home, 'message.eml'), 'w') as f:
            f.write('To: you@example.org\nSubject: test\n\nhello\n')
        r = shell(s, home, command)
    expect_eq(r.rc, 0, '%s: %r' % (command, r))
    expect_in(b'you@example.org', r.out, 'the recipient')
    expect_in(b'me@example.com', r.out, 'the sender of the configuration')
    expect(b'correct-horse' not in r.out, 'the password masked')


@test
def readme_oauth2_configuration_parses_and_says_placeholder():
    need_ns()
    config = readme_block('### OAuth2')
    expect(re.search(r'oauth2_client_id YOUR-[A-Z-]+\n', config),
           'an obvious placeholder: %r' % config)
    with ns.System(hostname='vm', mailname='') as s:
        home = in_home(s, config)
        r = shell(s, home, "printf 'Subject: x\\n\\ny\\n' | smtpsend "
                  "--pretend you@example.org")
    expect_eq(r.rc, 0, 'the configuration as written %r' % r)


@test
def manual_work_example_on_a_host_without_a_dot():
    need_ns()
    config = manual_block('An account on port 465 with implicit TLS')
    expect(config.startswith('account work\n'), 'the work account %r' %
           config)
    command = manual_block('See what would be sent, without sending it:')
    command = re.sub(r'^\$ ', '', command.strip())
    expect_in('smtpsend --pretend -a work bob@example.org', command, 'as written')
    with ns.System(hostname='vm', mailname='') as s:
        home = in_home(s, config)
        r = shell(s, home, command)
    expect_eq(r.rc, 0, '%s: %r' % (command, r))
    expect(re.search(rb'root@example\.com', r.out), 'sender qualified with '
           'maildomain %r' % r.out[:400])


if __name__ == '__main__':
    main()
