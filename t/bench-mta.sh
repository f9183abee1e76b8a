#!/bin/sh
# t/bench-mta.sh - end-to-end throughput of the loopback Postfix with and
# without ackmilter (make bench; not part of make check).  Needs root.
#
#   sh t/bench-mta.sh [--quick] [--reuse] [--rounds N] [--messages N] [--cases "A B"]
#
# One Postfix (t/lib/postfix.sh) with a submission service per case, all
# relaying to smtp-sink; smtp-source sends N messages over 10 sessions to
# each case in turn (one message per SMTP session; with --reuse each of
# the 10 sessions carries many: the MTA then keeps its milter connections,
# and what is left is the per-message cost), and the cases are interleaved for several rounds
# (the machine is noisy: the table shows medians).  A run ends when the
# queue is empty, so a message counts once the sink has it (and, for
# "dsn", once its DSN went back through the milter).  Cases:
#   none     no milter
#   null     a do-nothing libmilter milter that negotiates what ackmilter
#            does over a unix socket (built here with cc -lmilter)
#   tag      ackmilter tagging every message (GroupCommit yes)
#   tag-nogc ackmilter tagging, GroupCommit no (one fsync per message)
#   tag-inet ackmilter over an inet socket (no Nagle stall: TCP_NODELAY,
#            and the DATA stage answered; see milter/mta.h)
#   dsn      ackmilter tagging, and each message yields one "relayed" DSN
#            (next hop smtp-sink -N) that comes back through the milter
#   inbound  mail on the inbound port: not tagged, not a report
# ackmilter's CPU per message comes from /proc/PID/stat (utime + stime)
# before and after each run, and its store commits per message from the
# store's last transaction id (mdb_stat, when lmdb-utils is installed).
# Then the accounting: every message sent is
# delivered, every tagged message has its record, every DSN is absorbed.
# Exit status 1 when the accounting fails (the targets are only shown).

: "${ACK_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${ACK_BUILDDIR:=$ACK_SRCDIR}"
. "$ACK_SRCDIR/t/lib/common.sh"
. "$ACK_SRCDIR/t/lib/postfix.sh"

ROUNDS=5
MSGS=2000
SESSIONS=10
REUSE=
ALL_CASES="none null tag tag-nogc tag-inet dsn inbound"
CASES=$ALL_CASES
while [ $# -gt 0 ]; do
	case $1 in
	--quick) ROUNDS=2 MSGS=400 ;;
	--reuse) REUSE=-d ;;
	--rounds) ROUNDS=$2; shift ;;
	--messages) MSGS=$2; shift ;;
	--cases) CASES=$2; shift ;;
	*) echo "usage: $0 [--quick] [--reuse] [--rounds N] [--messages N] [--cases \"A B\"]" >&2
	    exit 2 ;;
	esac
	shift
done

pf_need
need_cmd cc
[ -x /usr/sbin/smtp-source ] || skip "smtp-source is not installed"
[ -r /usr/include/libmilter/mfapi.h ] || skip "libmilter-dev is not installed"
MILTER=$ACK_BUILDDIR/milter/ackmilter
CTL=$ACK_BUILDDIR/milter/ackctl
[ -x "$MILTER" ] && [ -x "$CTL" ] || fail "$MILTER or $CTL is not built"

make_tmpdir bench
D=$ACK_TMP
HZ=$(getconf CLK_TCK)
seen=" "
for c in $CASES; do
	case " $ALL_CASES " in
	*" $c "*) ;;
	*) echo "$0: unknown case $c (cases: $ALL_CASES)" >&2; exit 2 ;;
	esac
	case $seen in
	*" $c "*) echo "$0: case $c given twice" >&2; exit 2 ;;
	esac
	seen="$seen$c "
done

# ------------------------------------------------------------ the pieces

# The do-nothing milter: what a minimal milter that reads the envelope and
# the headers negotiates, the same stages and no-reply flags as ackmilter
# over a unix socket (no HELO, DATA or unknown commands; no replies to
# connect, MAIL, RCPT, headers and end of headers; SKIP for the body), so
# that null and tag differ by ackmilter's own work only.
null_milter() {
	cat >"$D/nullmilter.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libmilter/mfapi.h>

#define PROTO (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH)

static sfsistat
noreply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}
static sfsistat
cont(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}
static sfsistat
neg(SMFICTX *c, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *p0, unsigned long *p1,
    unsigned long *p2, unsigned long *p3)
{
	(void)c; (void)f0; (void)f2; (void)f3;
	*p0 = 0;
	*p1 = f1 & PROTO;
	*p2 = *p3 = 0;
	return SMFIS_CONTINUE;
}
static sfsistat
conn(SMFICTX *c, char *h, _SOCK_ADDR *a) { (void)h; (void)a; return noreply(c); }
static sfsistat
env(SMFICTX *c, char **v) { (void)v; return noreply(c); }
static sfsistat
hdr(SMFICTX *c, char *n, char *v) { (void)n; (void)v; return noreply(c); }
static sfsistat
body(SMFICTX *c, unsigned char *b, size_t n) { (void)c; (void)b; (void)n; return SMFIS_SKIP; }

int
main(int argc, char **argv)
{
	struct smfiDesc d;

	memset(&d, 0, sizeof d);
	d.xxfi_name = "nullmilter";
	d.xxfi_version = SMFI_VERSION;
	d.xxfi_connect = conn;
	d.xxfi_envfrom = env;
	d.xxfi_envrcpt = env;
	d.xxfi_header = hdr;
	d.xxfi_eoh = noreply;
	d.xxfi_body = body;
	d.xxfi_eom = cont;
	d.xxfi_abort = cont;
	d.xxfi_close = cont;
	d.xxfi_negotiate = neg;
	if (argc != 2 || smfi_setconn(argv[1]) == MI_FAILURE ||
	    smfi_register(d) == MI_FAILURE) {
		fprintf(stderr, "usage: nullmilter unix:/path\n");
		return 2;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
EOF
	cc -O2 -o "$D/nullmilter" "$D/nullmilter.c" -lmilter -lpthread ||
	    fail "cannot build the do-nothing milter"
	(umask 0; exec "$D/nullmilter" "unix:$D/null.sock") >"$D/null.log" 2>&1 &
	NULL_PID=$!
	at_cleanup "kill $NULL_PID 2>/dev/null"
	wait_for 10 "the do-nothing milter's socket" test -S "$D/null.sock"
}

# ack_start NAME SOCKET [Key value]...: one more ackmilter with its own
# store $D/db-NAME, log $D/NAME.log; its pid in ACK_PID_<NAME>.
ack_start() {
	as_name=$1 as_sock=$2
	shift 2
	milter_config "$D/$as_name.conf" "$@"
	sed -i -e "s|^Socket .*|Socket $as_sock|" \
	    -e "s|^Database .*|Database $D/db-$as_name|" \
	    -e "s|^PidFile .*|PidFile $D/$as_name.pid|" "$D/$as_name.conf"
	chown "${MILTER_USER:-postfix:postfix}" "$D/keys"
	"$MILTER" -c "$D/$as_name.conf" -f >"$D/$as_name.log" 2>&1 &
	eval "ACK_PID_$(echo "$as_name" | tr - _)=$!"
	at_cleanup "kill $! 2>/dev/null"
}

# A submission service on PORT whose mail passes MILTERS (may be empty).
sub_service() {
	cat <<EOF
127.0.0.1:$1 inet n - n - - smtpd
  -o syslog_name=postfix/sub-$3
  -o milter_macro_daemon_name=ORIGINATING
  -o smtpd_command_filter=regexp:$PF_ETC/ackmilter_notify
  -o smtpd_milters=$2
EOF
}

setup() {
	# shellcheck disable=SC2046
	set -- $(pick_ports 8)
	pf_setup "$D" "$1" "$2" "$3"
	P_none=$4 P_null=$5 P_nogc=$6 P_inet=$7 INET_MILTER=$8
	set -- $(pick_ports 1)
	SINK_N=$1
	"$CTL" keygen "$D/keys" >/dev/null || fail "ackctl keygen failed"
	{
		sub_service "$P_none" "" none
		sub_service "$P_null" "unix:$D/null.sock" null
		sub_service "$P_nogc" "unix:$D/nogc.sock" nogc
		sub_service "$P_inet" "inet:127.0.0.1:$INET_MILTER" inet
	} >>"$PF_ETC/master.cf"
	pf_route relayed.test "$SINK_N"
	# should anything be deferred (the accounting wants none and shows
	# why), retry it at once rather than after the default 300 s
	pf_postconf "queue_run_delay = 1s" "minimal_backoff_time = 1s" \
	    "maximal_backoff_time = 2s"
	# the main instance: its socket is the one main.cf names for
	# smtpd_milters and non_smtpd_milters (the DSNs come back through it)
	MILTER_DB=$D/db-tag
	milter_config "$D/ackmilter.conf"
	milter_start "$D/ackmilter.conf" "$D/ackmilter.log"
	PID_main=$MILTER_PID
	ack_start nogc "unix:$D/nogc.sock" "GroupCommit no"
	ack_start inet "inet:$INET_MILTER@127.0.0.1"
	null_milter
	wait_for 10 "the no-group-commit ackmilter" test -S "$D/nogc.sock"
	wait_for 10 "the inet ackmilter" port_listening "$INET_MILTER"
	sink_start_quiet "$PF_SINK" sink
	sink_start_quiet "$SINK_N" sinkn -N
	pf_start
}

# smtp-sink without dumps (the harness's sink writes a file per message).
sink_start_quiet() {
	sq_port=$1 sq_name=$2
	shift 2
	/usr/sbin/smtp-sink -4 -u nobody -h "$sq_name.ack.test" "$@" \
	    "127.0.0.1:$sq_port" 256 >"$D/$sq_name.log" 2>&1 &
	at_cleanup "kill $! 2>/dev/null"
	wait_for 10 "smtp-sink $sq_name" port_listening "$sq_port"
}

# ------------------------------------------------------------ one run

port_of() {
	case $1 in
	none) echo "$P_none" ;; null) echo "$P_null" ;;
	tag | dsn) echo "$PF_SUB" ;; tag-nogc) echo "$P_nogc" ;;
	tag-inet) echo "$P_inet" ;; inbound) echo "$PF_IN" ;;
	esac
}

pid_of() {
	case $1 in
	tag | dsn | inbound) echo "$PID_main" ;;
	tag-nogc) echo "$ACK_PID_nogc" ;; tag-inet) echo "$ACK_PID_inet" ;;
	null) echo "$NULL_PID" ;; *) echo "" ;;
	esac
}

# Each case its own sender and recipient, for the accounting.
rcpt_of() {
	case $1 in
	dsn) echo "$1@relayed.test" ;;
	*) echo "$1@example.org" ;;
	esac
}

cpu_ticks() {
	[ -n "$1" ] || { echo 0; return; }
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

queue_empty() {
	[ -z "$(find "$D/queue/incoming" "$D/queue/active" "$D/queue/deferred" \
	    "$D/queue/maildrop" -type f 2>/dev/null | head -n 1)" ]
}

now_ns() {
	date +%s%N
}

# db_of CASE: the store CASE writes to (none for the others).
db_of() {
	case $1 in
	tag | dsn) echo "$D/db-tag" ;; tag-nogc) echo "$D/db-nogc" ;;
	tag-inet) echo "$D/db-inet" ;;
	esac
}

# txn_of DB: the last transaction id of the store DB, or nothing.
txn_of() {
	[ -n "$1" ] && command -v mdb_stat >/dev/null 2>&1 || return 0
	mdb_stat -e "$1" 2>/dev/null | sed -n 's/.*Last transaction ID: *//p'
}

# run CASE: send MSGS messages, wait for the queue to drain; append
# "case rate cpu_ms_per_msg commits_per_msg" to $D/results.
run() {
	r_pid=$(pid_of "$1")
	r_db=$(db_of "$1")
	wait_for 120 "an empty queue before $1" queue_empty
	x0=$(txn_of "$r_db")
	c0=$(cpu_ticks "$r_pid")
	t0=$(now_ns)
	/usr/sbin/smtp-source $REUSE -s "$SESSIONS" -m "$MSGS" -l 2000 \
	    -f "$1@local.test" -t "$(rcpt_of "$1")" "127.0.0.1:$(port_of "$1")" \
	    >>"$D/source.log" 2>&1 || fail "smtp-source to $1 failed"
	poll_for 300 x queue_empty || fail "$1: the queue did not drain"
	t1=$(now_ns)
	c1=$(cpu_ticks "$r_pid")
	x1=$(txn_of "$r_db")
	awk -v c="$1" -v n="$MSGS" -v t="$((t1 - t0))" -v k="$((c1 - c0))" \
	    -v hz="$HZ" -v p="$r_pid" -v x0="$x0" -v x1="$x1" 'BEGIN {
		printf "%s %.1f %s %s\n", c, n / (t / 1e9),
		    p == "" ? "-" : sprintf("%.3f", k * 1000 / hz / n),
		    x0 == "" || x1 == "" ? "-" : sprintf("%.2f", (x1 - x0) / n) }' \
	    >>"$D/results"
	printf '%-9s %s\n' "$1" "$(tail -n 1 "$D/results" | cut -d' ' -f2-)"
}

# ------------------------------------------------------------ report

median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

med_of() {
	awk -v c="$1" -v f="$2" '$1 == c && $f != "-" { print $f }' \
	    "$D/results" | median
}

table() {
	echo
	echo "medians of $ROUNDS interleaved rounds, $MSGS messages each," \
	    "$SESSIONS sessions${REUSE:+ (reused: many messages each)}:"
	printf '%-9s %9s %12s %14s\n' case "msg/s" "cpu ms/msg" "commits/msg"
	for c in $CASES; do
		printf '%-9s %9s %12s %14s\n' "$c" "$(med_of "$c" 2)" \
		    "$(med_of "$c" 3)" "$(med_of "$c" 4)"
	done
}

# count PATTERN: maillog lines matching the extended regexp.
count() {
	grep -c -E "$1" "$PF_DIR/maillog"
}

# records DB SENDER [STATE]: messages of SENDER in the store (with a
# recipient in STATE).
records() {
	"$CTL" -d "$1" list --json --sender "$2" ${3:+--state "$3"} 2>/dev/null |
	    "$PYTHON3" -c 'import json, sys
t = sys.stdin.read().strip()
try:
    v = json.loads(t)
    print(len(v) if isinstance(v, list) else len(v.get("messages", [])))
except ValueError:
    print(len([l for l in t.splitlines() if l.strip().startswith("{")]))'
}

BAD=""
check() {
	if [ "$2" = "$3" ]; then
		printf '  %-44s %7s\n' "$1" "$2"
	else
		printf '  %-44s %7s  MISMATCH (want %s)\n' "$1" "$2" "$3"
		BAD="$BAD $1;"
	fi
}

# ran CASE: CASE was among the cases run.
ran() {
	case " $CASES " in *" $1 "*) return 0 ;; esac
	return 1
}

# records_check CASE DB: every message of CASE has its record.
records_check() {
	ran "$1" || return 0
	check "$1: records" "$(records "$2" "$1@local.test")" "$sent"
}

dsn_accounting() {
	ran dsn || return 0
	check "dsn: DSNs generated" \
	    "$(count 'sender delivery status notification')" "$sent"
	check "dsn: DSNs absorbed (milter-discard)" "$(count 'milter-discard')" "$sent"
	check "dsn: DSNs recorded (ackmilter log)" \
	    "$(grep -c 'dsn report for token=.*1 updated' "$D/ackmilter.log")" "$sent"
	check "dsn: records in state relayed" \
	    "$(records "$D/db-tag" dsn@local.test relayed)" "$sent"
}

accounting() {
	sent=$((ROUNDS * MSGS))
	echo
	echo "accounting (each case: $sent messages sent):"
	for c in $CASES; do
		check "$c: delivered to the sink" \
		    "$(count "to=<$(rcpt_of "$c")>.*status=sent")" "$sent"
	done
	records_check tag "$D/db-tag"
	records_check tag-nogc "$D/db-nogc"
	records_check tag-inet "$D/db-inet"
	records_check dsn "$D/db-tag"
	! ran inbound || check "inbound: records (must be none)" \
	    "$(records "$D/db-tag" inbound@local.test)" 0
	dsn_accounting
	check "deferrals (must be none)" "$(count 'status=deferred')" 0
	deferral_reasons
}

# Why Postfix deferred anything (each reason once, with its count).
deferral_reasons() {
	grep -E 'status=deferred' "$PF_DIR/maillog" |
	    sed -E 's/.*status=deferred //; s/[0-9A-F]{8,}/QUEUEID/g' |
	    sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'
}

targets() {
	echo
	echo "targets (cases not run show -):"
	awk -v b="$(med_of null 2)" -v c="$(med_of tag 2)" \
	    -v n="$(med_of tag-nogc 2)" -v i="$(med_of tag-inet 2)" \
	    -v cpu="$(med_of tag 3)" -v inb="$(med_of inbound 3)" \
	    -v ncpu="$(med_of tag-nogc 3)" -v ncost="$(med_of null 3)" \
	    -v cm="$(med_of tag 4)" -v ncm="$(med_of tag-nogc 4)" '
	function pct(x, y) { return x == "-" || y == "-" ? "-" : sprintf("%.1f %%", 100 * x / y) }
	function ok(c) { return c ? "ok" : "MISSED" }
	function above(x, y) { return x == "-" || y == "-" ? "-" : sprintf("%.3f", x - y) }
	BEGIN {
		printf "  tag / null msg/s        %8s  (>= 90 %%)    %s\n",
		    pct(c, b), (b == "-" || c == "-" ? "-" : ok(c >= 0.9 * b))
		printf "  cpu per tagged message  %8s ms (<= 0.3 ms)  %s\n",
		    cpu, (cpu == "-" ? "-" : ok(cpu <= 0.3))
		printf "  cpu per inbound message %8s ms (<= 0.1 ms)  %s\n",
		    inb, (inb == "-" ? "-" : ok(inb <= 0.1))
		# the do-nothing milter is libmilter alone: a thread, a poll and
		# two reads per MTA command; what ackmilter adds is the difference
		printf "  (do-nothing milter: %s ms per message; above it: tag %s ms, inbound %s ms)\n",
		    ncost, above(cpu, ncost), above(inb, ncost)
		printf "  tag-inet / tag msg/s    %8s  (no Nagle stall: >= 75 %%)  %s\n",
		    pct(i, c), (i == "-" || c == "-" ? "-" : ok(i >= 0.75 * c))
		printf "  group commit yes / no   %8s msg/s, cpu %s / %s ms, commits %s / %s per message\n",
		    pct(c, n), cpu, ncpu, cm, ncm
	}'
}

# ------------------------------------------------------------ main

setup
echo "# loopback Postfix in $D; cases: $CASES"
: >"$D/results"
i=1
while [ $i -le "$ROUNDS" ]; do
	echo "round $i/$ROUNDS (msg/s, ackmilter cpu ms/msg):"
	for c in $CASES; do
		run "$c"
	done
	i=$((i + 1))
done
# the DSNs of the last dsn run may still be on their way
poll_for 60 x queue_empty
table
accounting
targets
[ -z "$BAD" ] || fail "accounting:$BAD"
