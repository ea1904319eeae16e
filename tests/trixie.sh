#!/bin/sh
# SPDX-License-Identifier: ISC
# `make check` on Debian 13 (trixie): in a minbase chroot made with
# debootstrap from the package archive, tests/deps.sh installs what the
# README's first command would, then `make check` runs there.
#
# The chroot is kept in $TRIXIE_ROOT (build/trixie) and reused by the next
# run (`make clean` removes it); the tree is copied into its /src afresh each
# time. TRIXIE_TESTS="test_dovecot ..." runs only those programs of the suite
# there. Everything is mounted inside a private mount namespace (unshare -m),
# so nothing stays mounted when this ends, however it ends.
#
# `tests/trixie.sh deb` (make check-deb-trixie) runs `make deb` there instead,
# built against Debian 13's libraries, and Debian 13's lintian on the
# packages; they stay in $TRIXIE_ROOT/src/build/deb for the tests that
# install them (tests/test_package.py with SMTPSEND_SUITE=trixie).
set -eu
cd "$(dirname "$0")/.."
MODE=${1:-check}
SUITE=${TRIXIE_SUITE:-trixie}
MIRROR=$(sh tests/debian-mirror.sh)	# the machine's own archive
ROOT=${TRIXIE_ROOT:-$PWD/build/$SUITE}

if [ "$(id -u)" -ne 0 ]; then
	echo "check-trixie: run as root (debootstrap, chroot and mounts)" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null || ! command -v unshare >/dev/null
then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    -o DPkg::Lock::Timeout=600 debootstrap util-linux >/dev/null
fi
if [ ! -e "$ROOT/.debootstrapped" ]; then
	echo "debootstrap --variant=minbase $SUITE $ROOT $MIRROR"
	rm -rf "$ROOT.tmp"
	mkdir -p "$(dirname "$ROOT")"
	debootstrap --variant=minbase "$SUITE" "$ROOT.tmp" "$MIRROR" \
	    >"$ROOT.log" 2>&1 || {
		tail -20 "$ROOT.log" >&2
		echo "check-trixie: debootstrap failed (log: $ROOT.log)" >&2
		exit 1
	}
	touch "$ROOT.tmp/.debootstrapped"
	rm -rf "$ROOT"
	mv "$ROOT.tmp" "$ROOT"
fi

# The tree as it is now (not only what is committed), without builds.
rm -rf "$ROOT/src"
mkdir "$ROOT/src"
tar -c --exclude=./build --exclude='./build-*' --exclude=./.git . |
    tar -x -C "$ROOT/src"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

cat >"$ROOT/root/check.sh" <<'EOF'
set -e
cd /src
sh tests/deps.sh
. /etc/os-release
echo "$PRETTY_NAME; $(dpkg-query -W -f='libcurl4-openssl-dev ${Version}' \
    libcurl4-openssl-dev); $(cc --version | head -1)"
if [ -n "$TESTS" ]; then	# some programs only: tests/run.py's words
	make all units
	SMTPSEND=$PWD/build/smtpsend UNITS= /usr/bin/python3 tests/run.py $TESTS
else
	make check
fi
EOF
# What `make deb` needs (its build and dpkg's tools), then lintian.
cat >"$ROOT/root/deb.sh" <<'EOF'
set -e
cd /src
P="build-essential pkg-config libcurl4-openssl-dev libbsd-dev libssl-dev
 libidn2-dev libjson-c-dev lintian"
apt-get install -y -q --no-install-recommends $P >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $P >/dev/null
}
. /etc/os-release
echo "$PRETTY_NAME; $(dpkg-query -W -f='libcurl4-openssl-dev ${Version}' \
    libcurl4-openssl-dev); lintian $(dpkg-query -W -f='${Version}' lintian)"
make -s deb >/dev/null
lintian --fail-on error,warning build/deb/*.deb
echo "lintian: no error, no warning"
EOF

# / of the chroot a mount point of its own: the suite's
# `unshare --propagation private` needs one.
exec unshare -m --propagation private sh -euc '
	R=$1
	mount --bind "$R" "$R"
	mount -t proc proc "$R/proc"
	mount --rbind /sys "$R/sys"
	mount --rbind /dev "$R/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$R/run"
	exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    HOME=/root LANG=C.UTF-8 CI="${CI:-}" TESTS="${TRIXIE_TESTS:-}" \
	    DEBIAN_FRONTEND=noninteractive /bin/sh "/root/$2.sh"
' sh "$ROOT" "$MODE"
