#!/bin/bash
# SPDX-License-Identifier: ISC
# tests/postfix/teardown.sh -- stop the private Postfix instance that
# tests/postfix/setup.sh DIR started, and remove DIR.
#
#   bash tests/postfix/teardown.sh DIR
#
# Without DIR it does nothing (there is no system-wide test setup any more).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -eq 0 ]; then
    echo "tests/postfix/teardown.sh: nothing to do (see tests/postfix/README)" >&2
    exit 0
fi
exec /usr/bin/python3 "$HERE/../servers/postfix.py" stop "$1"
