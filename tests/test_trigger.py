#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The maildrop trigger (CONTRACT section 7): a www-data message leaves
within seconds through the tree's own systemd units (cmd/system, from the
packaging work), with systemd 252 booted as PID 1 of private namespaces by
tests/bench/trigger_latency.py (see there how; the machine's /etc,
/var/spool and services are never touched). A burst, each message handed
over as soon as the previous sendmail returned: every one leaves within
5 s, none waits for the 5-minute timer.

Skipped where the tree has no unit files yet, or where systemd cannot be
booted in namespaces (not root, no cgroup2)."""
import math
import os
import shutil
import sys

from harness import test, expect, skip, main
from ns import available

HERE = os.path.dirname(os.path.abspath(__file__))
UNITS = os.environ.get('SMTPSEND_UNITS',
                       os.path.join(os.path.dirname(HERE), 'cmd', 'system'))
sys.path.insert(0, os.path.join(HERE, 'bench'))


@test
def www_data_mail_leaves_within_seconds_through_the_trigger():
    if not os.path.exists(os.path.join(UNITS, 'smtpsend-maildrop.path')):
        skip('no unit files in %s (the packaging work adds them)' % UNITS)
    why = available()
    if why:
        skip(why)
    if not os.path.exists('/lib/systemd/systemd') or not shutil.which(
            'nsenter'):
        skip('no systemd or nsenter')
    import trigger_latency
    try:
        lat = trigger_latency.measure(UNITS, n=10, gap=0, say=lambda t: None)
    except RuntimeError as e:
        skip('systemd cannot run in namespaces here: %s' % e)
    print('trigger: %s' % ', '.join('%.2f s' % x for x in lat), flush=True)
    late = [i for i, x in enumerate(lat) if math.isnan(x) or x > 5]
    expect(not late, 'messages %r did not leave within 5 s: %r' % (late, lat))


if __name__ == '__main__':
    main()
