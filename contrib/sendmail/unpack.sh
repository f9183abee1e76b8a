#!/bin/sh
# contrib/sendmail/unpack.sh - a private, unpacked Sendmail for the tests and
# the demo, without installing it (Debian's sendmail-bin conflicts with
# postfix, and its maintainer scripts would configure /etc/mail).
#
#   sh contrib/sendmail/unpack.sh [DIR]      # default /var/cache/ackmilter-test
#
# Downloads sendmail-bin, sendmail-base and sendmail-cf with
# `apt-get download` into DIR/debs and unpacks them with `dpkg-deb -x` into
# DIR/sendmail (DIR/sendmail/usr/libexec/sendmail/sendmail, .../share/sendmail/cf).
# Their shared libraries (libwrap0, liblockfile1 ...) and m4 must be
# installed normally: contrib/install-deps.sh test does both.  Nothing
# outside DIR is written; a second run with the same versions does nothing.
set -eu

dir=${1:-/var/cache/ackmilter-test}
pkgs="sendmail-bin sendmail-base sendmail-cf"
root=$dir/sendmail
stamp=$root/.unpacked

# want: "pkg=version ..." of the packages apt can download; empty when it
# does not know one of them (no package lists yet).
versions() {
	want=""
	for p in $pkgs; do
		v=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		case $v in
		"" | "(none)") want="" && return 1 ;;
		esac
		want="$want $p=$v"
	done
}
if ! versions; then
	echo "unpack.sh: apt knows no sendmail-bin yet: apt-get update" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	versions || {
		echo "unpack.sh: no candidate version of $pkgs in apt's sources" >&2
		exit 1
	}
fi
if [ -x "$root/usr/libexec/sendmail/sendmail" ] && [ -f "$stamp" ] &&
    [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

mkdir -p "$dir/debs"
rm -rf "$root.new"
mkdir -p "$root.new"
# apt-get download writes to the current directory, as the _apt user when
# it can: let it write there
chmod 755 "$dir" "$dir/debs"
cd "$dir/debs"
rm -f ./*.deb
chown _apt "$dir/debs" 2>/dev/null || true
# shellcheck disable=SC2086 # the list, split on purpose
apt-get download -qq $want
for f in ./*.deb; do
	dpkg-deb -x "$f" "$root.new"
done
echo "$want" >"$root.new/.unpacked"
rm -rf "$root"
mv "$root.new" "$root"
echo "unpack.sh: Sendmail unpacked in $root"
