#!/bin/sh
# t/data/make-reports.sh - regenerate the real Postfix reports under
# t/data/reports/ (run by hand, as root; not part of make check).
#
# Starts the loopback Postfix of t/lib/postfix.sh with ackmilter
# (ReportAction pass, so the reports reach the return maildir), sends one
# message through the submission port to three recipients: one delivered
# locally (Postfix's "delivered" DSN), one relayed to smtp-sink -N without
# DSN ("relayed"), one to a domain routed to error:5.1.1 ("failed"), and
# copies the reports Postfix sent to bounces+TOKEN@return.test.  The token
# in them is replaced by @TOKEN@ and the Message-ID by @MSGID@ so that the
# golden test can address them to a message of its own store.
#   ACK_SRCDIR=... ACK_BUILDDIR=... sh t/data/make-reports.sh
. "$ACK_SRCDIR/t/lib/common.sh"
. "$ACK_SRCDIR/t/lib/postfix.sh"
pf_need
make_tmpdir mkreports
D=$ACK_TMP
ACK_FAIL_HOOK=pf_dump_logs
set -- $(pick_ports 3)
pf_setup "$D" "$1" "$2" "$3"
echo "fail.example error:5.1.1 User unknown in virtual mailbox table" >>"$D/etc/transport"
echo "smtpd_reject_unlisted_recipient = no" >>"$D/etc/main.cf"
"$ACK_BUILDDIR/milter/ackctl" keygen "$D/keys" >/dev/null || fail keygen
milter_config "$D/ackmilter.conf" "ReportAction pass"
milter_start "$D/ackmilter.conf" "$D/ackmilter.log"
sink_start -N
pf_start
MID=golden.1@ack.test
"$PYTHON3" "$ACK_SRCDIR/t/lib/smtpsend.py" --port "$PF_SUB" --from alice@ack.test \
    --rcpt bob@local.test --rcpt carol@example.org --rcpt dave@fail.example \
    --message-id "$MID" --subject "golden" >/dev/null || fail send
wait_for 30 "three reports" sh -c "[ \$(ls $D/vmail/return.test/new 2>/dev/null | wc -l) -ge 2 ]"
sleep 2
TOKEN=$("$ACK_BUILDDIR/milter/ackctl" -d "$D/db" show --json "$MID" |
    "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
OUT=$ACK_SRCDIR/t/data/reports
n=0
for f in $(ls "$D"/vmail/return.test/new/* | sort); do
	n=$((n + 1))
	sed -e "s/$TOKEN/@TOKEN@/g" -e "s/$MID/@MSGID@/g" "$f" >"$OUT/postfix-$n.eml"
done
note "wrote $n reports to $OUT"
