#!/bin/sh
# install-deps.sh - install the Debian 12 packages ackmilter needs.
#   sh contrib/install-deps.sh build   # compilers, autotools, libraries
#   sh contrib/install-deps.sh demo    # build + Postfix and python3 (the demo)
#   sh contrib/install-deps.sh test    # demo + clang/libFuzzer, valgrind, mandoc
# Installs only what is missing; needs root (or sudo) when something is.
set -eu

build="build-essential autoconf automake libtool pkg-config libmilter-dev
libsodium-dev liblmdb-dev lmdb-utils libpcre2-dev"
demo="$build postfix python3"
test="$demo clang-14 libclang-rt-14-dev valgrind mandoc"

case "${1:-build}" in
build) want=$build ;;
demo) want=$demo ;;
test) want=$test ;;
*) echo "usage: $0 build|demo|test" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing:$missing"
# Postfix asks which configuration to write: none; ours live in test dirs.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null
