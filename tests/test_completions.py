#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Shell completions and the manual page against the binary's --help.

The long options each completion offers must be exactly those --help lists;
each file must load in its shell; the bash completion must complete option
names and account names; the SYNOPSIS of smtpsend.1 must match the usage
text. A shell that is not installed is skipped, except under CI (the
environment variable CI set), where that is a failure.

Run from anywhere: /usr/bin/python3 tests/test_completions.py
"""
import os
import re
import shutil
import subprocess
import tempfile

from harness import test, expect, expect_eq, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASH = os.path.join(ROOT, 'completions', 'smtpsend.bash')
ZSH = os.path.join(ROOT, 'completions', '_smtpsend')
FISH = os.path.join(ROOT, 'completions', 'smtpsend.fish')
MANPAGE = os.path.join(ROOT, 'smtpsend.1')
BASH_COMPLETION = '/usr/share/bash-completion/bash_completion'

# Short options the completions offer: those of the usage text, -r
# (sendmail's synonym of -f), and the modes -b (-bp, -bs...) and -q.
EXTRA_SHORT = {'r', 'b', 'q'}


def binary():
    path = os.environ.get('SMTPSEND', 'build/smtpsend')
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


def help_text():
    r = subprocess.run([binary(), '--help'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    expect_eq(r.returncode, 0, '%s --help exit status' % binary())
    return r.stdout.decode()


def help_long_options():
    opts = set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', help_text()))
    expect(len(opts) > 10, 'long options in --help: %r' % sorted(opts))
    return opts


def usage_lines():
    """The usage text up to the second synopsis line (`smtpsend --...`)."""
    lines = help_text().splitlines()
    expect(lines and lines[0].startswith('usage: smtpsend '),
           'first line of --help: %r' % lines[:1])
    first = [lines[0]]
    for line in lines[1:]:
        if not line.startswith(' ') or line.strip().startswith('smtpsend'):
            break
        first.append(line)
    return first


def help_short_options():
    """[('itv', None), ('B', 'type'), ...] from the first usage lines."""
    return re.findall(r'\[-([A-Za-z]+)(?: ([a-z]+))?\]', ' '.join(usage_lines()))


def help_short_letters():
    return {c for flags, _ in help_short_options() for c in flags}


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def code_lines(path):
    """The lines of a shell script that are not comments."""
    return [l for l in read(path).splitlines()
            if not l.lstrip().startswith('#')]


def long_options_in(path):
    if path == FISH:
        found = set()
        for line in code_lines(path):
            if line.lstrip().startswith('complete '):
                found |= set(re.findall(
                    r'\s(?:-l|--long-option)[ =]([a-z][a-z0-9-]*)', line))
        return found
    text = '\n'.join(code_lines(path))
    return set(re.findall(r'(?<![\w-])--([a-z][a-z0-9-]*)', text))


def short_options_in(path):
    lines = code_lines(path)
    if path == FISH:
        found = set()
        for line in lines:
            if line.lstrip().startswith('complete '):
                found |= set(re.findall(
                    r'\s(?:-s|--short-option)[ =]([A-Za-z])(?=\s)', line))
        return found
    if path == ZSH:
        # _arguments specs: '-i[...]', '-B+[...]', '(-r)-f+[...]', '*-v[...]'
        return set(re.findall(r"""['"](?:\([^)]*\))?\*?-([A-Za-z])[+=-]?\[""",
                              '\n'.join(lines)))
    for line in lines:
        m = re.match(r"\s*local short='([^']*)'", line)
        if m:
            return set(re.findall(r'-([A-Za-z])\b', m.group(1)))
    return set()


def shell_missing(name):
    """True (and a note) if the shell is absent; fails under CI."""
    if shutil.which(name) is not None:
        return False
    print('skipped: %s not installed' % name, flush=True)
    expect(not os.environ.get('CI'),
           '%s is not installed, and CI is set' % name)
    return True


def quiet_env(home):
    """An environment whose shells write nothing outside `home`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('XDG_') and k not in ('BASH_ENV', 'ENV',
                                                     'ZDOTDIR')}
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
               XDG_DATA_HOME=os.path.join(home, '.local', 'share'),
               XDG_CACHE_HOME=os.path.join(home, '.cache'),
               TERM='dumb')
    return env


def run_shell(argv, home, env=None, timeout=60):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=ROOT, env=env or quiet_env(home), timeout=timeout)
    return r.returncode, r.stdout.decode(errors='replace'), \
        r.stderr.decode(errors='replace')


# -- Long and short options against --help ----------------------------------

def check_options(path):
    want = help_long_options()
    got = long_options_in(path)
    expect_eq(sorted(got - want), [], 'long options in %s but not in --help'
              % os.path.basename(path))
    expect_eq(sorted(want - got), [], 'long options in --help but not in %s'
              % os.path.basename(path))
    want_short = help_short_letters() | EXTRA_SHORT
    expect_eq(sorted(short_options_in(path), key=str.swapcase),
              sorted(want_short, key=str.swapcase),
              'short options in %s' % os.path.basename(path))


@test
def bash_long_options_match_help():
    check_options(BASH)


@test
def zsh_long_options_match_help():
    check_options(ZSH)


@test
def fish_long_options_match_help():
    check_options(FISH)


# -- Each file loads in its shell --------------------------------------------

@test
def bash_completion_loads():
    if shell_missing('bash'):
        return
    with tempfile.TemporaryDirectory() as home:
        rc, out, err = run_shell(
            ['bash', '--norc', '--noprofile', '-c',
             'source "$1" && complete -p smtpsend', 'bash', BASH], home)
    expect_eq((rc, err), (0, ''), 'bash: source %s' % BASH)
    expect_eq(out.split(), ['complete', '-F', '_smtpsend', 'smtpsend'],
              'bash: complete -p smtpsend')


@test
def zsh_completion_parses():
    if shell_missing('zsh'):
        return
    with tempfile.TemporaryDirectory() as home:
        rc, out, err = run_shell(['zsh', '-f', '-n', ZSH], home)
    expect_eq((rc, err), (0, ''), 'zsh -n %s' % ZSH)


@test
def zsh_completion_loads():
    if shell_missing('zsh'):
        return
    with tempfile.TemporaryDirectory() as home:
        script = ('autoload -Uz compinit; compinit -u -d "$HOME/.zcompdump"'
                  ' && source "$1" && print -r -- $_comps[smtpsend]'
                  ' $_comps[sendmail]')
        rc, out, err = run_shell(['zsh', '-f', '-c', script, 'zsh', ZSH],
                                 home)
    expect_eq((rc, err), (0, ''), 'zsh: compinit; source %s' % ZSH)
    expect_eq(out.split(), ['_smtpsend', '_smtpsend'],
              'zsh: completion function for smtpsend and sendmail')


@test
def fish_completion_loads():
    if shell_missing('fish'):
        return
    with tempfile.TemporaryDirectory() as home:
        rc, out, err = run_shell(
            ['fish', '--no-config', '-c',
             'source $argv[1]; and complete -C "smtpsend --acc"', FISH],
            home)
    expect_eq((rc, err), (0, ''), 'fish: source %s' % FISH)
    expect_eq([l.split('\t')[0] for l in out.splitlines()], ['--account'],
              'fish: completions of smtpsend --acc')


# -- bash: what it completes -------------------------------------------------

BASH_DRIVER = r'''
[[ -n $2 ]] && source "$2"
source "$1"
shift 2
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_smtpsend smtpsend "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def system_accounts():
    """Accounts a real /etc/smtpsend.conf adds to every listing."""
    try:
        text = read('/etc/smtpsend.conf')
    except OSError:
        return set()
    return set(re.findall(r'^\s*account\s+([^\s:]+)', text, re.M))


def bash_complete(words, home, with_bash_completion=False):
    pre = BASH_COMPLETION if with_bash_completion else ''
    env = quiet_env(home)
    del env['XDG_CONFIG_HOME']
    rc, out, err = run_shell(['bash', '--norc', '--noprofile', '-c',
                              BASH_DRIVER, 'bash', BASH, pre] + words,
                             home, env=env)
    expect_eq((rc, err), (0, ''), 'bash: completing %r' % words)
    return [l for l in out.splitlines() if l]


def bash_modes():
    modes = [False]
    if os.path.exists(BASH_COMPLETION):
        modes.append(True)
    else:
        print('note: %s not installed; bash completion tested without it'
              % BASH_COMPLETION, flush=True)
    return modes


def with_rc_home(fn):
    with tempfile.TemporaryDirectory() as home:
        with open(os.path.join(home, '.smtpsendrc'), 'w') as f:
            f.write('# account commented\n'
                    'defaults\nport 587\n\n'
                    'account work\nhost mail.example.org\n\n'
                    'account home : work\nfrom me@example.org\n')
        return fn(home)


@test
def bash_completes_long_option_prefix():
    if shell_missing('bash'):
        return

    def check(home):
        for mode in bash_modes():
            expect_eq(bash_complete(['smtpsend', '--acc'], home, mode),
                      ['--account'], 'smtpsend --acc (bash-completion: %s)'
                      % mode)
            expect_eq(sorted(bash_complete(['smtpsend', '--tls-s'], home,
                                           mode)),
                      ['--tls-starttls'], 'smtpsend --tls-s')
    with_rc_home(check)


@test
def bash_completes_account_names():
    if shell_missing('bash'):
        return
    want = sorted({'work', 'home'} | system_accounts())

    def check(home):
        for mode in bash_modes():
            what = '(bash-completion: %s)' % mode
            expect_eq(sorted(bash_complete(['smtpsend', '-a', ''], home,
                                           mode)), want,
                      'smtpsend -a <TAB> %s' % what)
            expect_eq(sorted(bash_complete(['smtpsend', '--account', 'h'],
                                           home, mode)),
                      sorted(a for a in want if a.startswith('h')),
                      'smtpsend --account h<TAB> %s' % what)
            expect_eq(sorted(bash_complete(['smtpsend', '--account', '=',
                                            ''], home, mode)), want,
                      'smtpsend --account=<TAB> %s' % what)
    with_rc_home(check)


@test
def bash_completes_values():
    if shell_missing('bash'):
        return

    def check(home):
        cases = [
            (['smtpsend', '-B', ''], ['7BIT', '8BITMIME']),
            (['smtpsend', '-N', ''], ['delay', 'failure', 'never',
                                      'success']),
            (['smtpsend', '-N', 'success,'], ['success,delay',
                                              'success,failure']),
            (['smtpsend', '-R', ''], ['full', 'hdrs']),
            (['smtpsend', '--tls', '=', ''], ['off', 'on']),
            (['smtpsend', '--auth', '=', 'c'], ['cram-md5']),
            # After the first recipient everything is a recipient.
            (['smtpsend', 'a@example.org', '-'], []),
            (['smtpsend', '--', '-'], []),
        ]
        for words, want in cases:
            expect_eq(sorted(bash_complete(words, home)), want,
                      'completing %r' % words)
    with_rc_home(check)


# -- The manual page ---------------------------------------------------------

def synopsis_source():
    text = read(MANPAGE)
    m = re.search(r'^\.Sh SYNOPSIS\n(.*?)^\.Sh ', text, re.M | re.S)
    expect(m is not None, 'smtpsend.1 has a SYNOPSIS section')
    return m.group(1)


@test
def manpage_synopsis_short_options_match_help():
    first = synopsis_source().split('.Nm')[1]
    got = re.findall(r'^\.Op Fl ([A-Za-z]+)(?: Ar ([a-z]+))?$', first, re.M)
    expect_eq([(f, a or '') for f, a in got], help_short_options(),
              'short options of the SYNOPSIS and of --help, in order')


@test
def manpage_synopsis_renders_as_usage_text():
    if shutil.which('mandoc') is None:
        print('skipped: mandoc not installed', flush=True)
        return
    r = subprocess.run(['mandoc', '-T', 'ascii', MANPAGE],
                       stdout=subprocess.PIPE, timeout=60)
    expect_eq(r.returncode, 0, 'mandoc exit status')
    plain = re.sub(r'.\x08', '', r.stdout.decode())
    m = re.search(r'^SYNOPSIS\n(.*?)\n\S', plain, re.M | re.S)
    expect(m is not None, 'rendered SYNOPSIS')
    usage = help_text().split('\n\n')[0].replace('usage:', '', 1)
    expect_eq(' '.join(m.group(1).split()), ' '.join(usage.split()),
              'rendered SYNOPSIS and the usage text of --help')


@test
def manpage_documents_every_long_option():
    text = read(MANPAGE)
    missing = [o for o in sorted(help_long_options())
               if not re.search(r'^\.It Fl \\-%s\b' % re.escape(o), text,
                                re.M)]
    expect_eq(missing, [], 'long options of --help without an .It entry '
              'in smtpsend.1')


@test
def manpage_lint_clean():
    if shutil.which('mandoc') is None:
        print('skipped: mandoc not installed', flush=True)
        return
    r = subprocess.run(['mandoc', '-T', 'lint', '-W', 'warning', MANPAGE],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    expect_eq(r.stdout.decode(), '', 'mandoc -Tlint -Wwarning smtpsend.1')


# -- The -b modes, -q and outbox ids, in each shell (issue 25 item 8) --------

def outbox_home(home):
    """A -C file whose outbox holds two entries; (its path, their ids)."""
    outbox = os.path.join(home, 'outbox')
    cfg = os.path.join(home, 'cfg')
    with open(cfg, 'w') as f:
        f.write('account default\nhost 127.0.0.1\nport 1\ntls off\n'
                'from a@example.org\nsyslog off\noutbox %s\n' % outbox)
    os.chmod(cfg, 0o600)
    for n in range(2):
        subprocess.run([binary(), '-C', cfg, 'b%d@example.org' % n],
                       input=b'Subject: x\n\ny\n', capture_output=True,
                       timeout=60, env={'HOME': home, 'PATH': '/usr/bin:/bin'})
    ids = sorted(n for n in os.listdir(outbox) if not n.startswith('.'))
    expect_eq(len(ids), 2, 'two entries kept in %s' % outbox)
    return cfg, ids


def path_env(home):
    env = quiet_env(home)
    env['PATH'] = os.path.dirname(binary()) + ':' + env.get('PATH', '/usr/bin')
    return env


@test
def bash_completes_b_modes_q_and_outbox_ids():
    if shell_missing('bash'):
        return
    with tempfile.TemporaryDirectory() as home:
        cfg, ids = outbox_home(home)
        env = path_env(home)
        del env['XDG_CONFIG_HOME']

        def complete(words):
            rc, out, err = run_shell(['bash', '--norc', '--noprofile', '-c',
                                      BASH_DRIVER, 'bash', BASH, ''] + words,
                                     home, env=env)
            expect_eq((rc, err), (0, ''), 'bash: completing %r' % words)
            return sorted(l for l in out.splitlines() if l)
        expect_eq(complete(['smtpsend', '-b']), ['-bi', '-bm', '-bp', '-bs'],
                  'smtpsend -b<TAB>')
        expect_eq(complete(['smtpsend', '-bs']), ['-bs'], 'smtpsend -bs<TAB>')
        expect_eq(complete(['smtpsend', '-q']), ['-q', '-qI', '-qR', '-qS'],
                  'smtpsend -q<TAB>')
        expect_eq(complete(['smtpsend', '-C', cfg, '--remove', '']), ids,
                  '--remove <TAB>')
        expect_eq(complete(['smtpsend', '-C', cfg, '--remove', ids[0], '']),
                  ids, '--remove ID <TAB>')
        expect_eq(complete(['smtpsend', '-C', cfg, '-qI', '']), ids,
                  '-qI <TAB>')
        expect_eq(complete(['smtpsend', '-C', cfg, '-qI' + ids[0][:4]]),
                  ['-qI' + i for i in ids], '-qI2026<TAB>')


@test
def fish_completes_q_without_flags_and_outbox_ids():
    if shell_missing('fish'):
        return
    with tempfile.TemporaryDirectory() as home:
        cfg, ids = outbox_home(home)

        def complete(line):
            rc, out, err = run_shell(['fish', '--no-config', '-c',
                                      'source $argv[1]; and complete -C '
                                      '$argv[2]', FISH, line], home,
                                     env=path_env(home))
            expect_eq((rc, err), (0, ''), 'fish: %r' % line)
            return sorted(l.split('\t')[0] for l in out.splitlines())
        expect_eq(complete('smtpsend -q'), ['-qI', '-qR', '-qS'],
                  'no -qa, -qB: %r' % complete('smtpsend -q'))
        expect_eq(complete('smtpsend -C %s --remove ' % cfg), ids,
                  '--remove <TAB>')
        expect_eq(complete('smtpsend -C %s --remove %s ' % (cfg, ids[0])),
                  ids, '--remove ID <TAB>')
        expect_eq(complete('smtpsend -C %s -qI ' % cfg), ids, '-qI <TAB>')
        expect_eq(complete('smtpsend -C %s -qI' % cfg),
                  ['-qI' + i for i in ids], '-qI<TAB>')


def zsh_session(home, lines):
    """Type each line (ending in a TAB) into an interactive zsh with the
    completion loaded; what the terminal showed after each."""
    import pty
    import select
    import time
    env = path_env(home)
    with open(os.path.join(home, '.zshrc'), 'w') as f:
        f.write('fpath=(%s $fpath)\nautoload -Uz compinit\n'
                'compinit -u -d "$HOME/.zcompdump"\nPS1="%%%% "\n'
                % os.path.dirname(ZSH))
    env['ZDOTDIR'] = home
    master, slave = pty.openpty()
    p = subprocess.Popen(['zsh', '-i'], stdin=slave, stdout=slave,
                         stderr=slave, env=env, cwd=home,
                         start_new_session=True)
    os.close(slave)

    def read(seconds):
        out, end = b'', time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
        return out.decode(errors='replace')
    shown = []
    try:
        read(3)
        for line in lines:
            os.write(master, line.encode())
            shown.append(read(3))
            os.write(master, b'\x03')     # abandon the line
            read(0.5)
        os.write(master, b'exit\n')
        read(0.5)
    finally:
        p.kill()
        p.wait()
        os.close(master)
    return shown


@test
def zsh_completes_b_modes_q_and_outbox_ids():
    if shell_missing('zsh'):
        return
    with tempfile.TemporaryDirectory() as home:
        cfg, ids = outbox_home(home)
        q, remove, qi = zsh_session(home, [
            'smtpsend -q\t', 'smtpsend -C %s --remove \t\t' % cfg,
            'smtpsend -C %s -qI \t\t' % cfg])
    expect(re.search(r'I\s+-- by id', q) and 'by sender' in q,
           'zsh: smtpsend -q<TAB> %r' % q)
    for what, text in (('--remove', remove), ('-qI', qi)):
        expect(all(i in text for i in ids), 'zsh: %s <TAB> shows the ids %r'
               % (what, text))


if __name__ == '__main__':
    main()
