#!/bin/sh
# overdue-report.sh - the daily follow-up list for cron: recipients without
# a final delivery report after AFTER (default 1d) and, when READ_AFTER is
# set, without a read receipt after READ_AFTER.  Mails the list to MAILTO
# when it is set (with mail(1)), else prints it.  Silent when nothing is
# overdue.  Exit status: 0 (list sent or nothing overdue), 2 on error.
#
#   0 7 * * * MAILTO=postmaster@example.org /usr/share/doc/ackmilter/contrib/runbooks/overdue-report.sh
#
# Environment: ACKCTL (default ackctl), ACKCTL_ARGS (e.g. "-c /etc/ackmilter.conf"),
# AFTER, READ_AFTER, MAILTO, SUBJECT.
ACKCTL=${ACKCTL:-ackctl}
AFTER=${AFTER:-1d}
OUT=$(mktemp "${TMPDIR:-/tmp}/overdue.XXXXXX") || exit 2
trap 'rm -f "$OUT" "$OUT.part"' EXIT
status=0

# section TITLE overdue-arguments...: append one list, if not empty.
section() {
	title=$1
	shift
	# shellcheck disable=SC2086
	"$ACKCTL" $ACKCTL_ARGS overdue "$@" >"$OUT.part" 2>"$OUT.err"
	rc=$?
	case $rc in
	0) { echo "$title"; echo; cat "$OUT.part"; echo; } >>"$OUT" ;;
	1) ;;
	*) cat "$OUT.err" >&2; status=2 ;;
	esac
	rm -f "$OUT.err"
}

section "No final delivery report after $AFTER:" --after "$AFTER"
[ -n "$READ_AFTER" ] &&
    section "No read receipt after $READ_AFTER:" --after "$READ_AFTER" --expect mdn
if [ -s "$OUT" ]; then
	cat >>"$OUT" <<EOT
For one message: ackctl explain MESSAGE-ID (or contrib/runbooks/what-happened.sh).
EOT
	if [ -n "$MAILTO" ]; then
		mail -s "${SUBJECT:-ackmilter: receipts overdue on $(hostname)}" \
		    "$MAILTO" <"$OUT" || status=2
	else
		cat "$OUT"
	fi
fi
exit $status
