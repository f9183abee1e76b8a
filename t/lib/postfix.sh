# t/lib/postfix.sh - a throw-away loopback Postfix, smtp-sink and ackmilter
# for the end-to-end tests and the demo (POSIX sh; source common.sh first).
#
# Layout under one directory $D (nothing outside it is touched; /etc/postfix
# is never read or written: every postfix command gets -c $D/etc):
#   $D/etc/main.cf, master.cf configuration written by pf_setup, and the
#                             NOTIFY command filter table ackmilter_notify
#   $D/queue $D/data          queue_directory, data_directory
#   $D/maillog                Postfix log (postlogd)
#   $D/vmail/<domain>/        virtual(8) maildirs: local.test (every
#                             address), return.test (bounces@ only; with
#                             recipient_delimiter +, bounces+TOKEN@ too:
#                             where reports land when ackmilter is down)
#   $D/etc/transport, valias, sender_access  pf_route, pf_alias, pf_hold_sender
#   $D/sink/                  smtp-sink dumps, one file per transaction
#   $D/ackmilter.sock         the milter socket all smtpd and cleanup use
#   $D/ackmilter.conf $D/keys $D/db $D/ackmilter.log  the milter's files
#
# Services: an inbound smtpd on 127.0.0.1:$PF_IN and a submission smtpd on
# 127.0.0.1:$PF_SUB (daemon name ORIGINATING, NOTIFY command filter, HOLD
# for the senders given to pf_hold_sender); every other domain is relayed
# to smtp-sink on 127.0.0.1:$PF_SINK, which announces DSN and dumps each
# transaction with its ESMTP arguments, unless pf_route sends it to another
# smtp-sink (sink_start_on: one refusing RCPT with 5xx or 4xx, say).
#
# Needs root (Postfix's master and smtp-sink want it); tests skip otherwise.
# Order: pf_need, make_tmpdir, pf_setup, milter_config + milter_start,
# sink_start, pf_start; each start registers its own stop with at_cleanup.

PF_LOCAL_DOMAIN=local.test
PF_RETURN_DOMAIN=return.test
PF_RETURN_USER=bounces # bounces+TOKEN@return.test lands in its maildir
PF_VUID=65534 # nobody: virtual(8) refuses uid 0

# pf_need: skip the test unless a usable Postfix and python3 are here.
pf_need() {
	[ "$(id -u)" = 0 ] || skip "the loopback Postfix needs root"
	for p in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/smtp-sink; do
		[ -x "$p" ] || skip "postfix is not installed ($p missing)"
	done
	command -v "$PYTHON3" >/dev/null 2>&1 || skip "python3 is not installed"
}

# pf_setup DIR IN_PORT SUB_PORT SINK_PORT: write the configuration.
pf_setup() {
	PF_DIR=$1 PF_IN=$2 PF_SUB=$3 PF_SINK=$4
	PF_ETC=$PF_DIR/etc
	chmod 755 "$PF_DIR" # the postfix user must reach queue and socket
	mkdir -p "$PF_ETC" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/sink" \
	    "$PF_DIR/vmail" || fail "cannot create $PF_DIR subdirectories"
	chown postfix "$PF_DIR/data"
	chown "$PF_VUID:$PF_VUID" "$PF_DIR/vmail" "$PF_DIR/sink"
	cp "$ACK_SRCDIR/contrib/postfix/ackmilter_notify" "$PF_ETC/" ||
	    fail "cannot copy contrib/postfix/ackmilter_notify"
	printf '@%s %s/\n%s@%s %s/\n' "$PF_LOCAL_DOMAIN" "$PF_LOCAL_DOMAIN" \
	    "$PF_RETURN_USER" "$PF_RETURN_DOMAIN" "$PF_RETURN_DOMAIN" \
	    >"$PF_ETC/vmailbox"
	: >"$PF_ETC/transport"
	: >"$PF_ETC/valias"
	: >"$PF_ETC/sender_access"
	pf_main_cf >"$PF_ETC/main.cf"
	pf_master_cf >"$PF_ETC/master.cf"
	: >"$PF_DIR/maillog"
}

pf_main_cf() {
	cat <<EOF
# written by t/lib/postfix.sh for a throw-away loopback instance
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF_DIR/maillog
maillog_file_prefixes = $PF_DIR
myhostname = mx.ack.test
mydomain = ack.test
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:$PF_SINK
smtp_dns_support_level = disabled
smtp_host_lookup = native
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
virtual_mailbox_domains = $PF_LOCAL_DOMAIN $PF_RETURN_DOMAIN
virtual_mailbox_base = $PF_DIR/vmail
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_uid_maps = static:$PF_VUID
virtual_gid_maps = static:$PF_VUID
virtual_alias_maps = texthash:$PF_ETC/valias
transport_maps = texthash:$PF_ETC/transport
recipient_delimiter = +
delay_warning_time = 4h
# ackmilter: every smtpd and Postfix's own bounces/notices pass the milter;
# the per-milter default_action (as in contrib/postfix/main.cf) lets mail
# flow when the milter is down, though the global default stays tempfail
milter_protocol = 6
smtpd_milters = { unix:$PF_DIR/ackmilter.sock, default_action=accept }
non_smtpd_milters = \$smtpd_milters
internal_mail_filter_classes = bounce
EOF
}

pf_master_cf() {
	cat <<EOF
# written by t/lib/postfix.sh: loopback only, no chroot anywhere
127.0.0.1:$PF_IN inet n - n - - smtpd
  -o syslog_name=postfix/inbound
127.0.0.1:$PF_SUB inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o milter_macro_daemon_name=ORIGINATING
  -o smtpd_command_filter=regexp:$PF_ETC/ackmilter_notify
  -o smtpd_sender_restrictions=check_sender_access,texthash:$PF_ETC/sender_access
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
}

# pf_start: start the instance and wait until both smtpd ports answer.
pf_start() {
	/usr/sbin/postfix -c "$PF_ETC" start >"$PF_DIR/postfix-start.log" 2>&1 ||
	    fail "postfix -c $PF_ETC start failed: $(cat "$PF_DIR/postfix-start.log")"
	at_cleanup "pf_stop"
	wait_for 20 "Postfix on 127.0.0.1:$PF_SUB" port_listening "$PF_SUB"
	wait_for 5 "Postfix on 127.0.0.1:$PF_IN" port_listening "$PF_IN"
}

pf_master_pid() {
	sed -n '1s/[^0-9]//gp' "$PF_DIR/queue/pid/master.pid" 2>/dev/null
}

# pf_stop: stop the instance; kill its process group if it lingers.
pf_stop() {
	pid=$(pf_master_pid)
	/usr/sbin/postfix -c "$PF_ETC" stop >/dev/null 2>&1
	[ -n "$pid" ] || return 0
	i=0
	while pid_is "$pid" master && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# (pid_is, not pid_alive: once the master is gone its number may
	# already be another test's process: the pid space wraps quickly here)
	if pid_is "$pid" master; then
		note "postfix master $pid still running 5 s after stop; killing its group"
		kill -9 "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null
	fi
	return 0
}

# sink_start [OPTION...]: smtp-sink on $PF_SINK, dumping to $PF_DIR/sink/,
# with extra options (-N: do not announce DSN, so Postfix sends "relayed").
sink_start() {
	sink_start_on "$PF_SINK" msg "$@"
	# shellcheck disable=SC2034 # for callers (the demo's stop script)
	SINK_PID=$SINK_LAST_PID
}

# sink_start_on PORT NAME [OPTION...]: one more smtp-sink on 127.0.0.1:PORT
# dumping to $PF_DIR/sink/NAME.*, logging to $PF_DIR/sink-NAME.log; for
# instance a next hop that refuses every RCPT with a given reply:
#   sink_start_on $P reject -f RCPT -B '550 5.1.1 <x>: User unknown'
# Route a domain to it with pf_route.  smtp-sink refuses to run as root
# without -u.
sink_start_on() {
	so_port=$1 so_name=$2
	shift 2
	/usr/sbin/smtp-sink -4 -u nobody -h "$so_name.sink.ack.test" "$@" \
	    -d "$PF_DIR/sink/$so_name." "127.0.0.1:$so_port" 16 \
	    >"$PF_DIR/sink-$so_name.log" 2>&1 &
	SINK_LAST_PID=$!
	at_cleanup "kill $SINK_LAST_PID 2>/dev/null"
	wait_for 10 "smtp-sink $so_name on 127.0.0.1:$so_port" \
	    port_listening "$so_port"
}

# Before pf_start (the tables are read when the daemons start):
# pf_route DOMAIN PORT: relay DOMAIN to 127.0.0.1:PORT instead of $PF_SINK.
pf_route() {
	printf '%s smtp:[127.0.0.1]:%s\n' "$1" "$2" >>"$PF_ETC/transport"
}

# pf_alias ADDRESS TARGET,...: a virtual alias (1->n gives "expanded").
pf_alias() {
	printf '%s %s\n' "$1" "$2" >>"$PF_ETC/valias"
}

# pf_hold_sender ADDRESS: mail submitted with that envelope sender goes to
# the hold queue (after the milter saw it) until pf_release.
pf_hold_sender() {
	printf '%s HOLD\n' "$1" >>"$PF_ETC/sender_access"
}

# pf_postconf 'NAME = VALUE'...: change main.cf (before pf_start).
pf_postconf() {
	/usr/sbin/postconf -c "$PF_ETC" -e "$@" ||
	    fail "postconf -e $* failed"
}

# pf_release: release every held message and ask for a queue run.
pf_release() {
	/usr/sbin/postsuper -c "$PF_ETC" -H ALL 2>/dev/null ||
	    fail "postsuper -H ALL failed"
	/usr/sbin/postqueue -c "$PF_ETC" -f || fail "postqueue -f failed"
}

# milter_config FILE [Key value]...: the test configuration, then extras.
# The store is $MILTER_DB, by default $PF_DIR/db; PatternDir is the source
# tree's patterns/ when there is one.  ackmilter refuses to run as root
# without UserID: it drops to $MILTER_USER (default postfix:postfix, which
# exists wherever Postfix does) once socket, store and keys are open.
milter_config() {
	mc_file=$1
	shift
	{
		echo "Socket unix:$PF_DIR/ackmilter.sock"
		echo "KeyFile $PF_DIR/keys"
		echo "Database ${MILTER_DB:-$PF_DIR/db}"
		echo "SubmissionDaemons ORIGINATING"
		echo "ReturnPath bounces+%t@$PF_RETURN_DOMAIN"
		echo "Notify SUCCESS,FAILURE,DELAY"
		echo "Ret hdrs"
		echo "OnError accept"
		echo "PidFile $PF_DIR/ackmilter.pid"
		echo "UserID ${MILTER_USER:-postfix:postfix}"
		# the source tree's patterns (the installed ones may be absent)
		if [ -d "$ACK_SRCDIR/patterns" ]; then
			echo "PatternDir $ACK_SRCDIR/patterns"
		fi
		for kv in "$@"; do
			echo "$kv"
		done
	} >"$mc_file"
}

# milter_start CONF LOG: run ackmilter in the foreground (background job),
# stderr to LOG; wait for its socket.  ackmilter hands the socket to its
# UserID and group (mode 0660) before it serves; a reload re-reads the key
# file as that user, so the key file is given to it first.
milter_start() {
	rm -f "$PF_DIR/ackmilter.sock"
	ms_user=$(sed -n 's/^UserID //p' "$1")
	ms_keys=$(sed -n 's/^KeyFile //p' "$1")
	if [ -n "$ms_user" ] && [ -f "$ms_keys" ]; then
		chown "$ms_user" "$ms_keys" || fail "cannot chown $ms_user $ms_keys"
	fi
	"$ACK_BUILDDIR/milter/ackmilter" -c "$1" -f >>"$2" 2>&1 &
	MILTER_PID=$!
	at_cleanup 'milter_stop'
	wait_for 10 "the ackmilter socket $PF_DIR/ackmilter.sock" \
	    milter_ready "$PF_DIR/ackmilter.sock" "${ms_user#*:}"
}

# milter_ready SOCKET [GROUP]: the socket exists (and belongs to GROUP).
milter_ready() {
	pid_alive "$MILTER_PID" || fail "ackmilter exited early"
	[ -S "$1" ] && { [ -z "$2" ] || [ "$(stat -c %G "$1")" = "$2" ]; }
}

# milter_stop: SIGTERM, wait up to 10 s, then SIGKILL (with a note).
# libmilter notices the stop request only at its next poll timeout, so an
# idle ackmilter takes about 5 s to exit.
milter_stop() {
	[ -n "$MILTER_PID" ] || return 0
	kill "$MILTER_PID" 2>/dev/null
	n=0
	while pid_alive "$MILTER_PID" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if pid_alive "$MILTER_PID"; then
		# our child: not waited for yet, so its number is still its own
		note "ackmilter $MILTER_PID ignored SIGTERM for 10 s; killing it"
		kill -9 "$MILTER_PID" 2>/dev/null
	fi
	wait "$MILTER_PID" 2>/dev/null
	MILTER_PID=""
}

# pf_queue_id MESSAGE-ID: the queue id cleanup logged for that Message-ID.
pf_queue_id() {
	sed -n "s/.* \([0-9A-F][0-9A-F]*\): message-id=<$1>\$/\1/p" \
	    "$PF_DIR/maillog" | tail -n 1
}

# pf_delivered QUEUEID: the message left the queue after status=sent for
# each recipient (smtp-sink or virtual); "removed" ends the queue entry.
pf_removed() {
	grep -q " $1: removed\$" "$PF_DIR/maillog"
}

# pf_wait_done MESSAGE-ID [SECONDS]: wait until the message is accepted
# and fully delivered; print its queue id.
pf_wait_done() {
	wait_for "${2:-20}" "a queue id for <$1> in the maillog" pf_has_qid "$1"
	qid=$(pf_queue_id "$1")
	wait_for "${2:-20}" "queue file $qid to be removed" pf_removed "$qid"
	if grep " $qid: .*status=" "$PF_DIR/maillog" | grep -v -q 'status=sent'
	then
		fail "message $qid was not delivered: $(grep " $qid: " \
		    "$PF_DIR/maillog")"
	fi
	echo "$qid"
}

pf_has_qid() {
	[ -n "$(pf_queue_id "$1")" ]
}

# sink_file MESSAGE-ID: the smtp-sink dump holding that Message-ID.
sink_file() {
	grep -l -i "^Message-ID: *<$1>" "$PF_DIR"/sink/msg.* 2>/dev/null |
	    head -n 1
}

# vmail_file DOMAIN MESSAGE-ID: the maildir file holding that Message-ID
# (delivered: not one virtual(8) is still writing in tmp/).
vmail_file() {
	grep -r -l -i --exclude-dir=tmp "^Message-ID: *<$2>" "$PF_DIR/vmail/$1" 2>/dev/null |
	    head -n 1
}

# pf_dump_logs: what a failing test shows.
pf_dump_logs() {
	show_tail "$PF_DIR/maillog" 40
	show_tail "$PF_DIR/ackmilter.log" 40
	show_tail "$PF_DIR/sink.log" 10
}
