#!/bin/bash
# tests/postfix/teardown.sh -- stop the Postfix test server started by setup.sh.
# Leaves packages, configuration, certificates and the Maildir in place, so a
# later setup.sh is fast.  Must run as root.  Quiet on success.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "tests/postfix/teardown.sh: must run as root" >&2; exit 1; }
command -v postfix >/dev/null || exit 0          # not installed: nothing to stop

if ! postfix status >/dev/null 2>&1; then
    exit 0                                       # not running
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
   systemctl is-active --quiet postfix 2>/dev/null; then
    systemctl stop postfix
else
    out=$(postfix stop 2>&1) || { printf '%s\n' "$out" >&2; exit 1; }
fi
# wait for the master process (and its listeners) to be gone
for _ in $(seq 50); do
    postfix status >/dev/null 2>&1 || exit 0
    sleep 0.2
done
echo "tests/postfix/teardown.sh: Postfix still running after 10 s" >&2
exit 1
