# t/lib/common.sh - shared helpers for the shell tests (POSIX sh).
#
# Source it from a test:  . "$ACK_SRCDIR/t/lib/common.sh"
# It gives: note/fail/skip, a per-test temporary directory removed by an
# EXIT trap together with every registered cleanup action, wait_for (poll a
# condition with a timeout instead of sleeping), free port picking and a
# few file checks.  Set ACK_KEEP=1 to keep the temporary directory.

: "${ACK_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${ACK_BUILDDIR:=$ACK_SRCDIR}"
: "${PYTHON3:=python3}"
ACK_CLEANUP=""
ACK_TMP=""
ACK_FAIL_HOOK=""

note() {
	echo "# $*"
}

# fail MESSAGE: print why, run the failure hook (log dumps), exit 1.
fail() {
	echo "FAIL: $*" >&2
	if [ -n "$ACK_FAIL_HOOK" ]; then
		hook=$ACK_FAIL_HOOK
		ACK_FAIL_HOOK=""
		eval "$hook" >&2
	fi
	exit 1
}

# skip MESSAGE: the test cannot run here (a resource is missing).
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# need_cmd NAME...: skip unless every command is available.
need_cmd() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed"
	done
}

# at_cleanup 'COMMAND': run COMMAND at exit; last registered runs first.
at_cleanup() {
	ACK_CLEANUP="$1
$ACK_CLEANUP"
}

ack_run_cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	set +e
	eval "$ACK_CLEANUP"
	if [ -n "$ACK_TMP" ] && [ -d "$ACK_TMP" ]; then
		if [ "${ACK_KEEP:-0}" = 1 ]; then
			echo "# kept $ACK_TMP" >&2
		else
			rm -rf "$ACK_TMP"
		fi
	fi
	exit $rc
}

# make_tmpdir NAME: create $ACK_TMP under ${TMPDIR:-/tmp}, install the trap.
make_tmpdir() {
	ACK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ack-$1.XXXXXX") ||
	    fail "cannot create a temporary directory"
	trap ack_run_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; fail with "timed out after SECONDS s waiting for WHAT".
wait_for() {
	wf_what=$2
	poll_for "$@" || fail "timed out after $1 s waiting for $wf_what"
}

# poll_for SECONDS WHAT COMMAND...: the same, but return 1 on time out
# (for a check whose failure is reported later); WHAT is ignored.
poll_for() {
	pl_limit=$(($1 * 10))
	shift 2
	pl_n=0
	while ! "$@" >/dev/null 2>&1; do
		pl_n=$((pl_n + 1))
		[ $pl_n -lt $pl_limit ] || return 1
		sleep 0.1
	done
}

# pick_ports N: print N distinct free TCP ports on 127.0.0.1, one a line.
# The kernel chooses them; they stay free unless something races us.
pick_ports() {
	"$PYTHON3" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
EOF
}

# port_listening PORT: true when something accepts on 127.0.0.1:PORT.
port_listening() {
	"$PYTHON3" -c 'import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.close()' "$1"
}

# pid_alive PID: true while the process exists.
pid_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# pid_is PID NAME: PID is alive and its command name is NAME (a number
# read from a pid file may have been given to another process since).
pid_is() {
	[ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# pid_gone PID: the opposite, for wait_for.
pid_gone() {
	! pid_alive "$1"
}

# file_has FILE PATTERN: FILE exists and has a line matching the grep
# basic regular expression PATTERN.
file_has() {
	[ -f "$1" ] && grep -q -e "$2" "$1"
}

# show_tail FILE [LINES]: print the end of a log for a failure report.
show_tail() {
	[ -f "$1" ] || return 0
	echo "---- last ${2:-30} lines of $1"
	tail -n "${2:-30}" "$1"
}
