#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Several messages, one connection (CONTRACT section 5): -q sends the
entries of one account over one connection, -bs the messages of its
session; RSET only where a transaction may be open; a server that ends the
connection gets a new one for the rest, one that takes nothing no more."""
import os
import re
import tempfile
import time

from harness import test, expect, expect_eq, expect_in, expect_not_in, main
from e2e import run, account, server, BsClient


def kept(n, **kw):
    """n entries in a fresh outbox (greylisted), and the config that made
    them, with the outbox line for another server's port."""
    box = os.path.join(tempfile.mkdtemp(prefix='smtpsend-many-'), 'outbox')
    srv = server(replies={'RCPT': '450 4.2.0 greylisted'})
    for i in range(n):
        r = run(['r%d@example.net' % i], config=account(
            srv.port, extra='outbox %s\n' % box),
            stdin=b'Subject: %d\n\nmessage %d\n' % (i, i))
        expect_eq(r.rc, 75, 'kept %r' % r)
    srv.stop()
    return box


def entries(box):
    return sorted(n for n in os.listdir(box) if not n.startswith('.'))


def q(box, srv, args=()):
    r = run(['-q'] + list(args), config=account(
        srv.port, extra='outbox %s\n' % box))
    srv.wait(count=1)
    srv.stop()
    return r


def verbs(session):
    return [c.split(' ')[0].upper() for c in session.commands]


@test
def q_sends_every_entry_over_one_connection():
    box = kept(3)
    srv = server()
    r = q(box, srv)
    expect_eq(r.rc, 0, '-q %r' % r)
    expect_eq(len(srv.sessions), 1, 'one connection for three entries')
    s = srv.sessions[0]
    expect_eq(sorted(m['rcpts'][0] for m in s.messages), ['r0@example.net',
              'r1@example.net', 'r2@example.net'], 'all three, once each')
    v = verbs(s)
    expect_eq(v.count('AUTH'), 1, 'AUTH once: %r' % v)
    expect_not_in('RSET', v, 'no RSET after a clean end: %r' % v)
    expect_eq(v[-1], 'QUIT', 'QUIT at the end')
    # One write a message: MAIL, RCPT and BDAT LAST went together.
    expect(s.pipelined.count('RCPT') >= 3, 'pipelined: %r' % s.pipelined)
    expect_eq(entries(box), [], 'every entry removed')


@test
def q_a_refused_message_is_permanent_and_the_next_goes_on():
    box = kept(3)
    srv = server(replies={'MAIL': ['250 2.1.0 Ok', '550 5.7.1 not you',
                                   '250 2.1.0 Ok']})
    r = q(box, srv)
    expect_eq(len(srv.sessions), 1, 'the same connection')
    s = srv.sessions[0]
    got = [m['rcpts'][0] for m in s.messages]
    expect_eq(len(got), 2, 'the first and the third: %r' % got)
    expect_not_in('RSET', verbs(s), 'a refused MAIL opens nothing')
    left = entries(box)
    expect_eq(len(left), 1, 'the refused one is kept %r' % left)
    with open(os.path.join(box, left[0]), 'rb') as f:
        text = f.read()
    expect_in(b'state: permanent', text, 'kept as permanent')
    expect(not any(b'recipient: ' + g.encode() in text for g in got),
           'the one kept is the one refused')
    expect_in('not you', r.err, 'the refusal named %r' % r.err)


@test
def q_421_gets_a_new_connection_for_the_rest():
    box = kept(3)
    srv = server(replies={'MAIL': ['250 2.1.0 Ok',
                                   '421 4.7.0 too many messages']})
    r = q(box, srv)
    srv.wait(count=3)
    expect_eq(r.rc, 0, 'all delivered %r' % r)
    # Each connection says 421 to its second MAIL: three connections.
    expect_eq(len(srv.sessions), 3, 'a new connection after each 421')
    got = [m['rcpts'][0] for s in srv.sessions for m in s.messages]
    expect_eq(sorted(got), ['r0@example.net', 'r1@example.net',
                            'r2@example.net'], 'each once')
    expect_eq(entries(box), [], 'every entry removed')


@test
def q_each_entry_removed_at_its_own_end_of_data():
    # The second message's end of data gets 421 and the connection ends:
    # the first entry is gone already, the second kept, the third goes
    # over a new connection; nobody gets a message twice.
    box = kept(3)
    srv = server(replies={'BDAT': ['250 2.0.0 Ok: queued',
                                   '421 4.3.0 shutting down']})
    r = q(box, srv)
    srv.wait(count=2)
    expect_eq(r.rc, 75, 'one left for later %r' % r)
    expect_eq(len(srv.sessions), 2, 'a new connection after the 421')
    got = [m['rcpts'][0] for s in srv.sessions for m in s.messages]
    expect_eq(len(got), 2, 'two delivered %r' % got)
    expect_eq(len(set(got)), 2, 'none twice')
    left = entries(box)
    expect_eq(len(left), 1, 'one kept %r' % left)
    with open(os.path.join(box, left[0]), 'rb') as f:
        text = f.read()
    expect(not any(b'recipient: ' + g.encode() in text for g in got),
           'the one kept is the one not delivered')


@test
def q_a_server_that_takes_nothing_is_tried_once():
    box = kept(3)
    srv = server(replies={'greeting': '421 4.3.2 busy'})
    r = q(box, srv)
    expect_eq(r.rc, 75, 'left for later %r' % r)
    expect_eq(len(srv.sessions), 1, 'one connection, not three')
    expect_eq(len(entries(box)), 3, 'all kept')
    expect_eq(r.err.count('busy'), 3, 'each entry says why %r' % r.err)


class Bs(BsClient):
    """smtpsend -bs, greeted and past EHLO."""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.reply()
        self.cmd('EHLO client.example')

    def close(self, quit=True):
        return super().close(quit)


@test
def bs_session_over_one_connection():
    srv = server()
    c = Bs(account(srv.port))
    for i in range(3):
        r = c.message('r%d@example.net' % i, b'Subject: %d\r\n\r\nx' % i)
        expect(r.startswith('250 ') and 'relayed: 250' in r, 'relayed %r' % r)
    expect_eq(len(srv.sessions), 1, 'one smarthost connection so far')
    expect(not srv.sessions[0].quit, 'still open between messages')
    rc, err = c.close()
    srv.wait()
    srv.stop()
    expect_eq(rc, 0, 'exit %r' % err)
    s = srv.sessions[0]
    expect_eq(len(s.messages), 3, 'three messages')
    expect_eq(verbs(s).count('AUTH'), 1, 'AUTH once')
    expect(s.quit, 'QUIT when stdin says QUIT')


@test
def bs_quit_when_stdin_ends():
    srv = server()
    c = Bs(account(srv.port))
    c.message('a@example.net', b'Subject: 1\r\n\r\nx')
    c.close(quit=False)
    srv.wait()
    srv.stop()
    expect(srv.sessions[0].quit, 'QUIT at the end of stdin')


@test
def bs_reconnects_after_an_idle_drop():
    srv = server(timeout=1.0)
    c = Bs(account(srv.port))
    r = c.message('a@example.net', b'Subject: 1\r\n\r\nx')
    expect(r.startswith('250 '), 'first %r' % r)
    time.sleep(2.5)         # the smarthost said 421 and closed meanwhile
    r = c.message('b@example.net', b'Subject: 2\r\n\r\ny')
    expect(r.startswith('250 ') and 'relayed' in r, 'second relayed %r' % r)
    rc, err = c.close()
    srv.wait(count=2)
    srv.stop()
    expect_eq(len(srv.sessions), 2, 'a new connection for the second')
    got = [m['rcpts'] for s in srv.sessions for m in s.messages]
    expect_eq(got, [['a@example.net'], ['b@example.net']], 'each once')
    expect_eq(rc, 0, 'exit %r' % err)


@test
def bs_replies_stay_true_on_a_kept_connection():
    srv = server(replies={'RCPT': ['550 5.1.1 no such user']})
    c = Bs(account(srv.port))
    r = c.message('a@example.net', b'Subject: 1\r\n\r\nx')
    expect(r.startswith('550 '), 'refused is refused %r' % r)
    srv.replies['RCPT'] = '450 4.2.0 greylisted'
    r = c.message('b@example.net', b'Subject: 2\r\n\r\ny')
    expect(r.startswith('451 ') and 'kept in the outbox' in r,
           'queued is 451 %r' % r)
    srv.replies.pop('RCPT')
    r = c.message('c@example.net', b'Subject: 3\r\n\r\nz')
    expect(r.startswith('250 ') and 'relayed: 250' in r, 'relayed %r' % r)
    c.close()
    srv.wait()
    srv.stop()
    expect_eq(len(srv.sessions), 1, 'one connection for all three')
    expect_eq([m['rcpts'] for m in srv.sessions[0].messages],
              [['c@example.net']], 'only the third delivered')


@test
def rset_where_a_transaction_is_open():
    # Per transaction: the first RCPT taken, the second refused (5xx): the
    # two-recipient message is refused whole, its MAIL still open.
    srv = server(replies={'RCPT': ['250 2.1.5 Ok', '550 5.1.1 no such user']})
    c = Bs(account(srv.port))
    r = c.message('a@example.net,b@example.net', b'Subject: 1\r\n\r\nx')
    expect(r.startswith('550 '), 'refused %r' % r)
    r = c.message('c@example.net', b'Subject: 2\r\n\r\ny')
    expect(r.startswith('250 '), 'relayed %r' % r)
    c.close()
    srv.wait()
    srv.stop()
    expect_eq(len(srv.sessions), 1, 'one connection')
    s = srv.sessions[0]
    v = verbs(s)
    expect_in('RSET', v, 'RSET before the next MAIL: %r' % v)
    expect_eq(v.count('RSET'), 1, 'only there: %r' % v)
    expect_eq(v[v.index('RSET') + 1], 'MAIL', 'RSET right before MAIL')
    expect_in('MAIL', s.pipelined, 'RSET and MAIL in one write: %r'
              % s.pipelined)
    expect_eq([m['rcpts'] for m in s.messages], [['c@example.net']],
              'the second delivered')


if __name__ == '__main__':
    main()
