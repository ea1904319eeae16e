#!/bin/sh
# SPDX-License-Identifier: ISC
# The Debian archive this machine's apt uses (its first "deb" source), for
# debootstrap and piuparts: the chroots come from where the machine's own
# packages come from. $DEBIAN_MIRROR, when set, wins.
if [ -n "${DEBIAN_MIRROR:-}" ]; then
	echo "$DEBIAN_MIRROR"
	exit 0
fi
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	uri=$(awk '/^URIs:/ { print $2; exit }' "$f")
	case "$uri" in */debian) echo "$uri"; exit 0 ;; esac
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$f" ] || continue
	uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++)
	    if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
	case "$uri" in */debian) echo "$uri"; exit 0 ;; esac
done
echo "no Debian archive among the apt sources; set DEBIAN_MIRROR" >&2
exit 1
