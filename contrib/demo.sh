#!/bin/sh
# contrib/demo.sh - see ackmilter work in two minutes, on Debian or Ubuntu.
#
#   sudo sh contrib/demo.sh [--keep] [--sendmail]
#
# 1. installs what is missing to build and run it (apt-get, non-interactive;
#    Postfix is preseeded to "No configuration": the system's own Postfix is
#    not configured and not started, /etc/postfix is left alone);
# 2. builds ackmilter if it is not built yet (autoreconf -fi, configure,
#    make; set ACK_BUILDDIR to use an existing out-of-tree build);
# 3. starts a throw-away loopback Postfix with its own configuration
#    directory, smtp-sink -N as the "Internet" (a next hop without DSN,
#    like Gmail's MX) and ackmilter, all under one temporary directory
#    (t/lib/postfix.sh);
# 4. submits one message on the submission port to bob@example.org and to
#    the local mailbox dave@local.test, shows how it left (the envelope
#    and header smtp-sink received), waits for the DSNs Postfix writes
#    (bob "relayed", dave "delivered"), which ackmilter absorbs, and shows
#    the receipts with ackctl show.
#
# Everything is stopped and removed at the end unless --keep is given; then
# the directory, the commands to play with it and a stop script are printed.
# --sendmail does the same with a loopback Sendmail 8.17 instead of Postfix
# (unpacked, not installed: contrib/sendmail/unpack.sh; t/lib/sendmail.sh):
# bob's DSN is Sendmail's "relayed (to non-DSN-aware mailer)", dave's
# "delivered", both routed back through the milter.

KEEP=0
MTA=postfix
for arg in "$@"; do
	case $arg in
	--keep) KEEP=1 ;;
	--sendmail) MTA=sendmail ;;
	-h | --help)
		sed -n '2,27s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*)
		echo "usage: sh contrib/demo.sh [--keep] [--sendmail]" >&2
		exit 2
		;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "demo.sh: Postfix needs root here: sudo sh contrib/demo.sh" >&2
	exit 1
fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
ACK_SRCDIR=$SRC
ACK_BUILDDIR=${ACK_BUILDDIR:-$SRC/_build}
PYTHON3=${PYTHON3:-python3}
export ACK_SRCDIR ACK_BUILDDIR PYTHON3

say() { printf '\n==> %s\n' "$*"; }
die() {
	echo "demo.sh: $*" >&2
	exit 1
}

install_deps() {
	deps=demo
	[ "$MTA" = postfix ] || deps=sendmail
	sh "$SRC/contrib/install-deps.sh" $deps ||
	    die "installing the Debian packages failed"
}

build() {
	say "building in $ACK_BUILDDIR"
	mkdir -p "$ACK_BUILDDIR" || die "cannot create $ACK_BUILDDIR"
	if [ ! -x "$SRC/configure" ]; then
		(cd "$SRC" && autoreconf -fi) || die "autoreconf -fi failed"
	fi
	if [ ! -f "$ACK_BUILDDIR/Makefile" ]; then
		(cd "$ACK_BUILDDIR" && "$SRC/configure" -q) ||
		    die "configure failed"
	fi
	jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
	(cd "$ACK_BUILDDIR" && make -j"$jobs" milter/ackmilter milter/ackctl) ||
	    die "make failed"
}

# What the next hop received: envelope and tracking header.
show_sink() {
	f=$(sink_file "$1")
	[ -n "$f" ] || fail "the message is not in the smtp-sink dumps"
	sed -n -e 's/^X-Mail-Args: /  MAIL FROM:/p' \
	    -e 's/^X-Rcpt-Args: /  RCPT TO:/p' "$f"
	sed '/^$/q' "$f" | grep -i '^Ack-Tracking-Id:' | sed 's/^/  /'
}

# The DSN state of every recipient of MESSAGE-ID, one line, e.g.
# "relayed delivered".
# shellcheck disable=SC2317 # called through wait_for
dsn_states() {
	"$CTL" -d "$D/db" show --json "$1" 2>/dev/null | "$PYTHON3" -c '
import json, sys
print(" ".join(r["dsn"]["state"] for r in json.load(sys.stdin)["recipients"]))'
}

# shellcheck disable=SC2317 # called through wait_for
receipts_in() {
	case " $(dsn_states "$1") " in
	*" pending "* | "  ") return 1 ;;
	esac
}

write_stop_script() {
	cat >"$D/stop.sh" <<EOF
#!/bin/sh
# stop the ackmilter demo and remove $D
/usr/sbin/postfix -c '$PF_ETC' stop
kill $MILTER_PID $SINK_PID 2>/dev/null
n=0 # ackmilter takes a few seconds to notice SIGTERM
while kill -0 $MILTER_PID 2>/dev/null && [ \$n -lt 50 ]; do
	sleep 0.2
	n=\$((n + 1))
done
kill -9 $MILTER_PID 2>/dev/null
rm -rf '$D'
EOF
}

keep_running() {
	write_stop_script
	ACK_CLEANUP=""
	ACK_TMP=""
	cat <<EOF

The demo keeps running in $D:
  send mail:  $PYTHON3 $SRC/t/lib/smtpsend.py --port $PF_SUB \\
                --from alice@ack.test --rcpt someone@example.org \\
                --message-id x1@ack.test --subject hello
  look it up: $CTL -d $D/db show x1@ack.test
  logs:       $D/maillog  $D/ackmilter.log  (smtp-sink dumps: $D/sink/)
  ports:      submission 127.0.0.1:$PF_SUB, inbound 127.0.0.1:$PF_IN
  stop:       sh $D/stop.sh
EOF
}

# The same demo with the loopback Sendmail.
sendmail_demo() {
	. "$SRC/t/lib/sendmail.sh"
	sm_need
	make_tmpdir demo
	D=$ACK_TMP
	ACK_FAIL_HOOK=sm_dump_logs
	say "starting Sendmail, smtp-sink and ackmilter in $D"
	# shellcheck disable=SC2046 # three port numbers, split on purpose
	set -- $(pick_ports 3)
	sm_setup "$D" "$1" "$2" "$3"
	"$CTL" keygen "$D/keys" || fail "ackctl keygen failed"
	sm_milter_config "$D/ackmilter.conf"
	milter_start "$D/ackmilter.conf" "$D/ackmilter.log"
	sink_start -N
	sm_start
	MID=demo.$$.$(date +%s)@ack.test
	say "submitting <$MID> on the MSA port 127.0.0.1:$SM_SUB"
	QID=$(sm_send --port "$SM_SUB" --from alice@ack.test \
	    --rcpt bob@example.org --rcpt dave@local.test \
	    --message-id "$MID" --subject "ackmilter demo")
	wait_for 20 "the message at the next hop" sink_has_mid "$MID"
	echo "Sendmail queued it as $QID; bob's next hop (no DSN there) received:"
	show_sink "$MID"
	say "waiting for Sendmail's DSNs to come back through ackmilter"
	wait_for 30 "the DSNs about <$MID>" receipts_in "$MID"
	grep ' dsn report for token=' "$D/ackmilter.log" | sed 's/^/  /'
	say "$CTL -d $D/db show $MID"
	"$CTL" -d "$D/db" show "$MID" || fail "ackctl show failed"
	if [ "$KEEP" = 1 ]; then
		ACK_CLEANUP=""
		ACK_TMP=""
		echo "kept running in $D; stop: kill -TERM -$SM_PID $MILTER_PID" \
		    "$SINK_PID; rm -rf $D"
	fi
	exit 0
}

sink_has_mid() {
	[ -n "$(sink_file "$1")" ]
}

install_deps
build
. "$SRC/t/lib/common.sh"
. "$SRC/t/lib/postfix.sh"
CTL=$ACK_BUILDDIR/milter/ackctl
[ "$MTA" = postfix ] || sendmail_demo
pf_need
CTL=$ACK_BUILDDIR/milter/ackctl
make_tmpdir demo
D=$ACK_TMP
ACK_FAIL_HOOK=pf_dump_logs

say "starting Postfix, smtp-sink and ackmilter in $D"
# shellcheck disable=SC2046 # three port numbers, split on purpose
set -- $(pick_ports 3)
pf_setup "$D" "$1" "$2" "$3"
"$CTL" keygen "$D/keys" || fail "ackctl keygen failed"
milter_config "$D/ackmilter.conf"
milter_start "$D/ackmilter.conf" "$D/ackmilter.log"
sink_start -N
pf_start

MID=demo.$$.$(date +%s)@ack.test
say "submitting <$MID> on the submission port 127.0.0.1:$PF_SUB"
QID=$("$PYTHON3" "$SRC/t/lib/smtpsend.py" --port "$PF_SUB" \
    --from alice@ack.test --rcpt bob@example.org --rcpt dave@local.test \
    --message-id "$MID" --subject "ackmilter demo") || fail "submission failed"
pf_wait_done "$MID" >/dev/null || exit 1
echo "Postfix queued it as $QID, relayed it to bob's next hop (no DSN there)"
echo "and delivered it to dave's mailbox; the next hop received:"
show_sink "$MID"

say "waiting for Postfix's DSNs to come back to ackmilter"
wait_for 30 "the DSNs about <$MID>" receipts_in "$MID"
grep ' dsn report for token=' "$D/ackmilter.log" | sed 's/^/  /'
echo "(absorbed: they are in no mailbox, the store has them)"

say "$CTL -d $D/db show $MID"
"$CTL" -d "$D/db" show "$MID" || fail "ackctl show failed"

if [ "$KEEP" = 1 ]; then
	keep_running
else
	say "stopping and removing $D (use --keep to keep it running)"
fi
exit 0
