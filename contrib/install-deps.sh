#!/bin/sh
# install-deps.sh - install the Debian 12 packages ackmilter needs.
#   sh contrib/install-deps.sh build   # compilers, autotools, libraries
#   sh contrib/install-deps.sh demo    # build + Postfix and python3 (the demo)
#   sh contrib/install-deps.sh test    # demo + clang/libFuzzer, valgrind, mandoc
#                                      # + an unpacked Sendmail (see below)
#   sh contrib/install-deps.sh sendmail  # demo + the unpacked Sendmail only
# Installs only what is missing; needs root (or sudo) when something is.
# Sendmail is never installed (sendmail-bin conflicts with postfix): its
# libraries and m4 are, and contrib/sendmail/unpack.sh unpacks the
# sendmail-bin, -base and -cf packages into /var/cache/ackmilter-test
# (ACK_SENDMAIL_CACHE overrides it) for t/e2e-sendmail.test and the demo.
set -eu

build="build-essential autoconf automake libtool pkg-config libmilter-dev
libsodium-dev liblmdb-dev lmdb-utils libpcre2-dev"
demo="$build postfix python3"
sendmail="$demo m4 libwrap0 liblockfile1 libdb5.3 libnsl2 libsasl2-2"
test="$sendmail clang-14 libclang-rt-14-dev valgrind mandoc"

case "${1:-build}" in
build) want=$build ;;
demo) want=$demo ;;
sendmail) want=$sendmail ;;
test) want=$test ;;
*) echo "usage: $0 build|demo|sendmail|test" >&2; exit 2 ;;
esac

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
unpack_sendmail() {
	case "${1:-build}" in
	test | sendmail)
		$SUDO sh "$(dirname "$0")/sendmail/unpack.sh" \
			"${ACK_SENDMAIL_CACHE:-/var/cache/ackmilter-test}"
		;;
	esac
}

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	unpack_sendmail "${1:-build}"
	exit 0
fi

echo "install-deps: installing:$missing"
# Postfix asks which configuration to write: none; ours live in test dirs.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null
unpack_sendmail "${1:-build}"
