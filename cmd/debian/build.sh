#!/bin/sh
# SPDX-License-Identifier: ISC
# make deb: the packages smtpsend and smtpsend-mta in OUT (default
# build/deb), from this tree and offline, with dpkg's own tools: the tree is
# installed into a directory per package by the Makefile's install targets,
# dpkg-shlibdeps and dpkg-gencontrol write the control files from
# cmd/debian/control and changelog, dpkg-deb builds. No debian/ directory
# at the top of the tree, no debhelper: the maintainer scripts here are
# what dh_installsystemd would generate, written out.
set -eu
OUT=${1:-build/deb}
HERE=$(dirname "$0")
MAKE=${MAKE:-make}
rm -rf "$OUT/smtpsend" "$OUT/smtpsend-mta" "$OUT/debian" "$OUT"/*.deb
mkdir -p "$OUT/debian"
OUT=$(cd "$OUT" && pwd)
A=$OUT/smtpsend
M=$OUT/smtpsend-mta

# Debian's hardening flags (relro, bindnow, stack protector) on our own.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
$MAKE -s B="$OUT/obj" CFLAGS="$(dpkg-buildflags --get CFLAGS)" \
    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" all
$MAKE -s B="$OUT/obj" DESTDIR="$A" PREFIX=/usr \
    ZSHCOMPDIR=/usr/share/zsh/vendor-completions install
$MAKE -s DESTDIR="$M" BINDIR=/usr/bin UNITDIR=/usr/lib/systemd/system \
    CROND=/etc/cron.d install-units install-cron

# smtpsend: the program (stripped, as dh_strip does), the manual, the
# example configuration; never /etc/smtpsend.conf itself.
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$A/usr/bin/smtpsend"
gzip -9n "$A/usr/share/man/man1/smtpsend.1"
install -d "$A/usr/share/doc/smtpsend/examples"
install -m 0644 cmd/system/smtpsend.conf "$A/usr/share/doc/smtpsend/examples/"

# smtpsend-mta: the names every caller of sendmail uses, and their manuals.
install -d "$M/usr/bin" "$M/usr/sbin" "$M/usr/lib" "$M/usr/share/man/man1"
ln -s ../bin/smtpsend "$M/usr/sbin/sendmail"
ln -s ../sbin/sendmail "$M/usr/lib/sendmail"
for n in mailq newaliases; do ln -s smtpsend "$M/usr/bin/$n"; done
for n in sendmail mailq newaliases; do
	ln -s smtpsend.1.gz "$M/usr/share/man/man1/$n.1.gz"
done
install -d "$M/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "$HERE/smtpsend-mta.$s" "$M/DEBIAN/$s"
done
echo /etc/cron.d/smtpsend >"$M/DEBIAN/conffiles"

# Both: copyright and changelog (a native package: changelog.gz).
for p in "$A" "$M"; do
	d=$p/usr/share/doc/$(basename "$p")
	install -d "$d" "$p/DEBIAN"
	install -m 0644 "$HERE/copyright" "$d/copyright"
	gzip -9n <"$HERE/changelog" >"$d/changelog.gz"
done

# Control files, as dpkg-buildpackage's helpers write them.
cp "$HERE/control" "$HERE/changelog" "$OUT/debian/"
(
	cd "$OUT"
	dpkg-shlibdeps -Tdebian/smtpsend.substvars smtpsend/usr/bin/smtpsend
	dpkg-gencontrol -psmtpsend -Psmtpsend -Tdebian/smtpsend.substvars
	dpkg-gencontrol -psmtpsend-mta -Psmtpsend-mta
)
# Reproducible: dpkg-deb dates no file after the changelog's entry.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog \
    -l"$HERE/changelog" -STimestamp)}
export SOURCE_DATE_EPOCH
for p in "$A" "$M"; do
	(cd "$p" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	    LC_ALL=C sort -z | xargs -0r md5sum >DEBIAN/md5sums)
	find "$p" -path "$p/DEBIAN" -prune -o -type d -exec chmod 0755 {} +
	chmod 0644 "$p/DEBIAN/md5sums" "$p/DEBIAN/control"
	dpkg-deb --root-owner-group -Zxz --build "$p" "$OUT" >/dev/null
done
ls "$OUT"/*.deb
