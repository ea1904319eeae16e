#!/bin/sh
# SPDX-License-Identifier: ISC
# make demo: a throwaway SMTP server on 127.0.0.1 with STARTTLS and a
# certificate made now, a cron mail sent through smtpsend -v, and what the
# server received.
set -eu
bin=${1:-build/smtpsend}
dir=$(mktemp -d /tmp/smtpsend-demo.XXXXXX)
trap 'set +e; kill $server 2>/dev/null; rm -rf "$dir"; true' EXIT INT TERM

/usr/bin/python3 tests/smtpserver.py --tls starttls --certdir "$dir" \
    --once >"$dir/server.out" 2>&1 &
server=$!
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q '^CA certificate' "$dir/server.out" 2>/dev/null && break
	sleep 0.3
done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/server.out")
cat >"$dir/config" <<CONF
account default
host 127.0.0.1
port $port
tls_trust_file $dir/ca.pem
user tester
password secret
from cron@example.org
syslog off
CONF
chmod 600 "$dir/config"

mail='From: root (Cron Daemon)
To: admin@example.org
Subject: Cron <root@host> /usr/local/bin/backup

backup finished: 42 files, 0 errors
'
echo "== smtpsend --pretend (what would be sent, no network)"
printf '%s' "$mail" | "$bin" -C "$dir/config" --pretend -FCronDaemon -i \
    -B8BITMIME -oem admin@example.org
echo
echo "== smtpsend -v (sent to the test server on 127.0.0.1:$port)"
printf '%s' "$mail" | "$bin" -C "$dir/config" -v -FCronDaemon -i -B8BITMIME \
    -oem admin@example.org
echo "exit status: $?"
wait $server 2>/dev/null || true
echo
echo "== what the server received"
sed -n '/^listening/d; /^CA certificate/d; p' "$dir/server.out"
