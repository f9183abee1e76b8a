# t/lib/sendmail.sh - a throw-away loopback Sendmail 8.17, smtp-sink and
# ackmilter for the end-to-end tests and the demo (POSIX sh; source
# common.sh and postfix.sh first: smtp-sink and the milter helpers are
# shared, with PF_DIR set to the same directory).
#
# Sendmail is not installed: Debian's sendmail-bin conflicts with postfix.
# contrib/sendmail/unpack.sh (run by contrib/install-deps.sh test) unpacks
# sendmail-bin, -base and -cf into $SM_ROOT, by default
# /var/cache/ackmilter-test/sendmail (ACK_SENDMAIL_ROOT overrides it).
# Sendmail runs in its own UTS namespace (unshare -u) with the host name
# mx.ack.test: it hangs at start resolving an unqualified one.
#
# Layout under one directory $D (nothing outside it is touched; no file in
# /etc/mail is read: sendmail gets -C $D/etc/sendmail.cf):
#   $D/etc/ackmilter-test.mc   the .mc: contrib/sendmail/ackmilter.mc (the
#                              lines an administrator adds) + test settings
#   $D/etc/sendmail.cf         built from it with m4
#   $D/etc/mailertable(.db)    per-domain next hops (sm_route)
#   $D/queue                   the queue; $D/mbox/USER/ local deliveries
#   $D/sink/                   smtp-sink dumps (as in postfix.sh)
# Services: 127.0.0.1:$SM_IN (Name=MTA, inbound) and 127.0.0.1:$SM_SUB
# (Name=MSA: {daemon_name} MSA, which the milter configuration lists in
# SubmissionDaemons).  Every other domain is relayed with the mailer
# acksink to smtp-sink on 127.0.0.1:$SM_SINK (DSN announced); sm_route
# sends a domain to another port.  $SM_RETURN_DOMAIN is routed back to the
# inbound port, so Sendmail's own DSNs pass the milter like any mail.
# Local recipients (@$SM_LOCAL_DOMAIN) are delivered by the "local" mailer,
# here t/lib/sm-deliver.sh writing $D/mbox/USER/N.eml as user nobody.
#
# Order: sm_need, make_tmpdir, sm_setup, milter_config + milter_start
# (SubmissionDaemons MSA), sink_start, sm_route..., sm_start.

SM_LOCAL_DOMAIN=local.test
SM_RETURN_DOMAIN=return.test
SM_HOSTNAME=mx.ack.test
SM_ROOT=${ACK_SENDMAIL_ROOT:-/var/cache/ackmilter-test/sendmail}
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail

# sm_need: skip unless root, the unpacked Sendmail, m4, unshare and
# smtp-sink (from postfix) are here.
sm_need() {
	[ "$(id -u)" = 0 ] || skip "the loopback Sendmail needs root"
	[ -x "$SM_BIN" ] || skip "no unpacked Sendmail in $SM_ROOT" \
	    "(run: sh contrib/sendmail/unpack.sh)"
	[ -f "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" ] ||
	    skip "sendmail-cf is not unpacked in $SM_ROOT"
	if ldd "$SM_BIN" 2>/dev/null | grep -q 'not found'; then
		skip "Sendmail's libraries are missing:" \
		    "$(ldd "$SM_BIN" | grep 'not found' | tr -s ' \n' ' ')"
	fi
	need_cmd m4 unshare hostname
	[ -x /usr/sbin/smtp-sink ] || skip "smtp-sink (postfix) is not installed"
	command -v "$PYTHON3" >/dev/null 2>&1 || skip "python3 is not installed"
	unshare -u true 2>/dev/null || skip "unshare -u is not permitted here"
}

# sm_setup DIR IN_PORT SUB_PORT SINK_PORT: write the configuration and
# build sendmail.cf.  PF_DIR is set to DIR for the shared helpers.
sm_setup() {
	SM_DIR=$1 SM_IN=$2 SM_SUB=$3 SM_SINK=$4
	PF_DIR=$SM_DIR PF_RETURN_DOMAIN=$SM_RETURN_DOMAIN PF_SINK=$SM_SINK
	SM_ETC=$SM_DIR/etc
	chmod 755 "$SM_DIR"
	mkdir -p "$SM_ETC" "$SM_DIR/queue" "$SM_DIR/sink" "$SM_DIR/mbox" ||
	    fail "cannot create $SM_DIR subdirectories"
	chmod 700 "$SM_DIR/queue"
	chown nobody "$SM_DIR/mbox" "$SM_DIR/sink"
	: >"$SM_DIR/statistics"
	printf 'root: nobody\npostmaster: nobody\nMAILER-DAEMON: nobody\n' \
	    >"$SM_ETC/aliases"
	printf 'hosts files\naliases files\n' >"$SM_ETC/service.switch"
	: >"$SM_ETC/mailertable"
	{
		sm_mc_head
		sed -e "s|/run/ackmilter/ackmilter.sock|$SM_DIR/ackmilter.sock|" \
		    -e '/^dnl/d' \
		    "$ACK_SRCDIR/contrib/sendmail/ackmilter.mc"
		sm_mc_tail
	} >"$SM_ETC/ackmilter-test.mc"
	m4 -D_CF_DIR_="$SM_ROOT/usr/share/sendmail/cf/" \
	    "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
	    "$SM_ETC/ackmilter-test.mc" >"$SM_ETC/sendmail.cf" 2>"$SM_DIR/m4.err" ||
	    fail "m4 could not build sendmail.cf: $(cat "$SM_DIR/m4.err")"
	SM_MAILERS=""
}

sm_mc_head() {
	cat <<EOF
divert(-1)
# written by t/lib/sendmail.sh for a throw-away loopback instance
divert(0)dnl
VERSIONID(\`ackmilter loopback test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_ETC/service.switch')dnl
define(\`confHOSTS_FILE', \`/etc/hosts')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`QUEUE_DIR', \`$SM_DIR/queue')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`ALIAS_FILE', \`$SM_ETC/aliases')dnl
define(\`confHOST_STATUS_DIRECTORY', \`')dnl
define(\`confCW_FILE', \`-o $SM_ETC/local-host-names')dnl
define(\`confCT_FILE', \`-o $SM_ETC/trusted-users')dnl
define(\`confDEF_USER_ID', \`nobody:nogroup')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confTO_CONNECT', \`5s')dnl
define(\`confTO_ICONNECT', \`5s')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
define(\`confPRIVACY_FLAGS', \`authwarnings')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit,MapInUnsafeDirPath,WriteMapToHardLink,RunProgramInUnsafeDirPath,ForwardFileInUnsafeDirPath,IncludeFileInUnsafeDirPath')dnl
define(\`SMART_HOST', \`acksink:[127.0.0.1]')dnl
define(\`LOCAL_MAILER_PATH', \`/bin/sh')dnl
define(\`LOCAL_MAILER_ARGS', \`sh $ACK_SRCDIR/t/lib/sm-deliver.sh $SM_DIR/mbox \$u')dnl
MODIFY_MAILER_FLAGS(\`LOCAL', \`-wfrS')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`mailertable', \`hash -o $SM_ETC/mailertable')dnl
FEATURE(\`access_db', \`hash -T<TMPF> -o $SM_ETC/access')dnl
LOCAL_DOMAIN(\`$SM_LOCAL_DOMAIN')dnl
DAEMON_OPTIONS(\`Family=inet, Addr=127.0.0.1, Port=$SM_IN, Name=MTA')dnl
DAEMON_OPTIONS(\`Family=inet, Addr=127.0.0.1, Port=$SM_SUB, Name=MSA, M=E')dnl
EOF
}

# the mailers: local, smtp, and one [IPC] mailer per loopback port
sm_mc_tail() {
	cat <<EOF
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MAILER_DEFINITIONS
EOF
	sm_mailer acksink "$SM_SINK"
	sm_mailer ackloop "$SM_IN" k # k: no "mail loops back to me" check
	sm_return_rules
}

# Mail to the return domain: what arrives on the inbound daemon (MTA) is
# delivered locally (mbox/bounces+TOKEN/: where reports land when ackmilter
# does not absorb them); anything else, Sendmail's own DSNs included, goes
# by SMTP to the inbound port, through the milter.
sm_return_rules() {
	printf 'LOCAL_RULE_0\n'
	printf 'R$* < @ %s . > $*\t$: $&{daemon_name} $| $1\n' "$SM_RETURN_DOMAIN"
	printf 'RMTA $| $+\t$#local $: $1\n'
	printf 'R$* $| $+\t$#ackloop $@ [127.0.0.1] $: $2 < @ %s . >\n' \
	    "$SM_RETURN_DOMAIN"
}

# sm_mailer NAME PORT [FLAGS]: an ESMTP mailer to 127.0.0.1:PORT.
sm_mailer() {
	printf 'M%s, P=[IPC], F=mDFMuXa%s, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\\r\\n, L=990, T=DNS/RFC822/SMTP, A=TCP $h %s\n' \
	    "$1" "${3:-}" "$2"
}

# sm_route DOMAIN PORT [MAILER]: relay DOMAIN to 127.0.0.1:PORT (before
# sm_start; each new port gets its own mailer in sendmail.cf).
sm_route() {
	sr_m=${3:-ack$2}
	printf '%s %s:[127.0.0.1]\n' "$1" "$sr_m" >>"$SM_ETC/mailertable"
	if [ -f "$SM_ETC/sendmail.cf" ] &&
	    ! grep -q "^M$sr_m," "$SM_ETC/sendmail.cf"; then
		sm_mailer "$sr_m" "$2" >>"$SM_ETC/sendmail.cf"
	fi
}

# sm_alias NAME TARGET,...: a local alias (before sm_start).
sm_alias() {
	printf '%s: %s\n' "$1" "$2" >>"$SM_ETC/aliases"
}

# sm_start: build the maps, start sendmail -bD (foreground, as a
# background job) in its own UTS namespace, wait for both ports.
sm_start() {
	ss_mm=$SM_ROOT/usr/libexec/sendmail/makemap
	: >"$SM_ETC/access"
	for m in mailertable access; do
		"$ss_mm" -C "$SM_ETC/sendmail.cf" hash "$SM_ETC/$m" \
		    <"$SM_ETC/$m" ||
		    fail "makemap $m failed"
	done
	sm_run -bi >"$SM_DIR/newaliases.log" 2>&1 ||
	    fail "newaliases failed: $(cat "$SM_DIR/newaliases.log")"
	# a session of its own: sm_stop ends the daemon and every child
	setsid unshare -u sh -c 'hostname "$1" && shift && exec "$@"' sm \
	    "$SM_HOSTNAME" "$SM_BIN" -C "$SM_ETC/sendmail.cf" -bD -q10s \
	    >"$SM_DIR/sendmail.out" 2>&1 &
	SM_PID=$!
	at_cleanup "sm_stop"
	wait_for 20 "Sendmail on 127.0.0.1:$SM_SUB" sm_listening "$SM_SUB"
	wait_for 5 "Sendmail on 127.0.0.1:$SM_IN" sm_listening "$SM_IN"
}

# sm_run ARGS...: sendmail -C our cf ARGS in a UTS namespace of its own
# whose host name is $SM_HOSTNAME (every sendmail run resolves it).
sm_run() {
	unshare -u sh -c 'hostname "$1" && shift && exec "$@"' sm \
	    "$SM_HOSTNAME" "$SM_BIN" -C "$SM_ETC/sendmail.cf" "$@"
}

sm_listening() {
	pid_alive "$SM_PID" ||
	    fail "sendmail exited: $(cat "$SM_DIR/sendmail.out")"
	port_listening "$1"
}

# sm_stop: stop the daemon and its children (delivery agents, queue
# runs): its whole process group, which setsid made $SM_PID's.
sm_stop() {
	[ -n "$SM_PID" ] || return 0
	kill -TERM "-$SM_PID" 2>/dev/null
	n=0
	while kill -0 "-$SM_PID" 2>/dev/null && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	# Only a group that outlived the TERM: once it is gone its number may
	# name another test's process group (the pid space wraps quickly).
	[ $n -lt 50 ] || kill -KILL "-$SM_PID" 2>/dev/null
	wait "$SM_PID" 2>/dev/null
	SM_PID=""
}

# sm_send ARGS...: smtpsend.py; prints the queue id from Sendmail's reply
# "250 2.0.0 QUEUEID Message accepted for delivery".
sm_send() {
	ss_out=$("$PYTHON3" "$ACK_SRCDIR/t/lib/smtpsend.py" "$@") ||
	    fail "smtpsend $* failed"
	set -- $ss_out
	[ "$1" != "${1#[245].}" ] && shift
	echo "$1"
}

# sm_queued QUEUEID: its queue file is still there.
sm_queued() {
	[ -f "$SM_DIR/queue/qf$1" ]
}

# sm_wait_gone QUEUEID [SECONDS]: wait until the message left the queue.
sm_wait_gone() {
	wait_for "${2:-20}" "queue file qf$1 to go" sm_not_queued "$1"
}

sm_not_queued() {
	! sm_queued "$1"
}

# mbox_file USER PATTERN: the local delivery for USER with a line PATTERN.
mbox_file() {
	# (not the *.tmp that sm-deliver.sh is still writing: it is renamed
	# the moment it is complete)
	grep -l -r --exclude='*.tmp' -e "$2" "$SM_DIR/mbox/$1" 2>/dev/null | head -n 1
}

# sm_dump_logs: what a failing test shows.
sm_dump_logs() {
	show_tail "$SM_DIR/sendmail.out" 20
	show_tail "$SM_DIR/ackmilter.log" 40
	ls -l "$SM_DIR/queue" "$SM_DIR/sink" 2>/dev/null
	for f in "$SM_DIR"/queue/qf*; do
		[ -f "$f" ] && show_tail "$f" 40
	done
	return 0
}

# sm_milter_config FILE [Key value]...: postfix.sh's milter_config with
# the Sendmail submission daemon's name, MSA.
sm_milter_config() {
	milter_config "$@"
	sed 's/^SubmissionDaemons .*/SubmissionDaemons MSA/' "$1" >"$1.new" &&
	    mv "$1.new" "$1" || fail "cannot rewrite $1"
}
