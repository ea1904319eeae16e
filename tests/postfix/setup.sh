#!/bin/bash
# SPDX-License-Identifier: ISC
# tests/postfix/setup.sh -- start a private Postfix test instance.
#
#   bash tests/postfix/setup.sh DIR [--watch PID] [--size-limit N]
#   . DIR/env.sh                    # PF_HOST PF_*_PORT PF_USER PF_PASS PF_CA ...
#   bash tests/postfix/teardown.sh DIR
#
# A wrapper around tests/servers/postfix.py: the instance has its own
# configuration, queue, certificates, SASL database and Maildirs in DIR,
# listens on free 127.0.0.1 ports and runs in a private mount namespace.
# The machine's Postfix and /etc/postfix are never changed.  Needs root.
# With --watch PID the instance also stops when process PID ends.
#
# Without DIR it does nothing: tests/test_postfix.py starts and stops an
# instance of its own (this keeps an old `make check` line harmless).
# See tests/postfix/README.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -eq 0 ]; then
    echo "tests/postfix/setup.sh: nothing to do: the tests start a private Postfix" \
         "of their own (see tests/postfix/README)" >&2
    exit 0
fi
exec /usr/bin/python3 "$HERE/../servers/postfix.py" start "$@"
