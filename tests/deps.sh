#!/bin/sh
# SPDX-License-Identifier: ISC
# The Debian packages that build and test smtpsend. As root, installs what
# is missing; otherwise prints the one apt-get command to run. No MTA is
# installed: the interoperability tests unpack their own (tests/servers),
# and bsd-mailx, which would pull in Debian's default MTA, is unpacked by
# tests/test_real_callers.py too.
PKGS="make gcc pkg-config libcurl4-openssl-dev libbsd-dev libssl-dev libidn2-dev libjson-c-dev
 ca-certificates openssl python3 python3-cryptography mandoc
 bash-completion zsh fish msmtp curl util-linux e2fsprogs
 clang libclang-rt-dev clang-tidy cppcheck valgrind time
 cron php-cli php-symfony-mailer git-email libmailtools-perl sudo at
 monitoring-plugins-standard"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "smtpsend needs these Debian packages; run:" >&2
	echo "  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The real callers (cron, at) are run by the tests in namespaces of their
# own: installing them must not start the machine's daemons.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	guard=1
fi
rc=0
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null &&
	    apt-get install -y -q --no-install-recommends $missing >/dev/null
} || rc=1
[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
[ "$rc" = 0 ] || { echo "apt-get install failed" >&2; exit 1; }
