#!/bin/sh
# SPDX-License-Identifier: ISC
# make install-sendmail and uninstall-sendmail: the files smtpsend takes
# over from another MTA (/usr/sbin/sendmail and its kin) and the spool.
#   sendmail.sh check    say every reason to refuse, exit 1 if any; changes
#                        nothing, so that a refusal installs nothing at all
#   sendmail.sh link     the links; another MTA's file is diverted with
#                        dpkg-divert when a dpkg package owns it (so that its
#                        upgrades do not put it back), else moved aside
#   sendmail.sh unlink   the links removed, the diversions undone
# Environment: BINDIR, DESTDIR, FORCE=1 (replace another MTA's files).
set -eu
LINKS="/usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq /usr/bin/newaliases"
SPOOL=/var/spool/smtpsend
D=${DESTDIR:-}
BIN=$BINDIR/smtpsend
ASIDE=.before-smtpsend

say() { echo "make install-sendmail: $*" >&2; }

# dpkg's database in DESTDIR (or on this machine), if there is one.
dpkg_here() {
	command -v dpkg-divert >/dev/null 2>&1 && [ -d "$D/var/lib/dpkg" ]
}
dpkg_root() { if [ -n "$D" ]; then echo "--root=$D"; fi; }
# The package that owns PATH, or nothing.
package_of() {
	dpkg_here || return 0
	# shellcheck disable=SC2046
	dpkg $(dpkg_root) -S "$1" 2>/dev/null | grep -v '^diversion by' |
	    sed -n '1s/: .*//p'
}
# The package that diverted PATH, or nothing.
diverted_by() {
	dpkg_here || return 0
	# shellcheck disable=SC2046
	dpkg-divert $(dpkg_root) --listpackage "$1" 2>/dev/null || true
}
ours() { [ -L "$D$1" ] && [ "$(readlink "$D$1")" = "$BIN" ]; }
present() { [ -e "$1" ] || [ -L "$1" ]; }

check() {
	no=0
	for l in $LINKS; do
		if ours "$l" || ! present "$D$l"; then continue; fi
		by=$(diverted_by "$l")
		pkg=$(package_of "$l")
		if [ -n "$by" ] && [ "$by" != smtpsend ]; then
			say "$D$l is diverted by $by; not touching it"
			no=1
		elif [ "${FORCE:-}" != 1 ]; then
			say "$D$l belongs to ${pkg:-another MTA}; FORCE=1" \
			    "replaces it (kept as $l$ASIDE)"
			no=1
		elif present "$D$l$ASIDE"; then
			say "$D$l$ASIDE exists already: move it away first"
			no=1
		fi
	done
	for d in "$D$SPOOL" "$D$SPOOL/maildrop"; do
		if [ -L "$d" ] || { present "$d" && [ ! -d "$d" ]; }; then
			say "$d is not a directory: move it away first"
			no=1
		elif [ -d "$d" ] && [ "$(stat -c %u "$d")" != "$(id -u)" ]; then
			say "$d belongs to $(stat -c %U "$d"), not $(id -un):" \
			    "its mode is not changed; chown it first"
			no=1
		fi
	done
	[ "$no" = 0 ] || say "nothing was installed"
	return "$no"
}

link() {
	for l in $LINKS; do
		ours "$l" && continue
		if [ -n "$(package_of "$l")" ] &&
		    [ "$(diverted_by "$l")" != smtpsend ]; then
			# shellcheck disable=SC2046
			dpkg-divert $(dpkg_root) --quiet --rename --package \
			    smtpsend --divert "$l$ASIDE" --add "$l"
			echo "$D$l diverted to $l$ASIDE"
		elif present "$D$l"; then
			mv -f "$D$l" "$D$l$ASIDE"
			echo "$D$l moved to $l$ASIDE"
		fi
		mkdir -p "$(dirname "$D$l")"
		ln -s "$BIN" "$D$l"
		echo "$D$l -> $BIN"
	done
}

unlink() {
	for l in $LINKS; do
		ours "$l" || continue
		rm -f "$D$l"
		if [ "$(diverted_by "$l")" = smtpsend ]; then
			# shellcheck disable=SC2046
			dpkg-divert $(dpkg_root) --quiet --rename --package \
			    smtpsend --remove "$l"
			echo "$D$l: diversion removed, the original back"
		elif present "$D$l$ASIDE"; then
			mv -f "$D$l$ASIDE" "$D$l"
			echo "$D$l: the original back"
		fi
	done
}

case "${1:-}" in
check|link|unlink) "$1" ;;
*) echo "usage: sendmail.sh check|link|unlink" >&2; exit 2 ;;
esac
