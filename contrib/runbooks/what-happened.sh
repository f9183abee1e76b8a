#!/bin/sh
# what-happened.sh MESSAGE-ID - "what happened to this message?": the
# store's record and history, the explanation per recipient, and the MTA
# log lines of its queue id.
#
# Environment: ACKCTL (default ackctl), ACKCTL_ARGS (e.g. "-c FILE"),
# MAILLOG (default /var/log/mail.log; skipped when unreadable).
# Exit status: 0 found, 1 not in the store, 2 error.
ACKCTL=${ACKCTL:-ackctl}
MAILLOG=${MAILLOG:-/var/log/mail.log}
if [ $# != 1 ]; then
	echo "usage: what-happened.sh MESSAGE-ID" >&2
	exit 2
fi
# shellcheck disable=SC2086
"$ACKCTL" $ACKCTL_ARGS show "$1" || exit $?
echo
echo "== What it means"
# shellcheck disable=SC2086
"$ACKCTL" $ACKCTL_ARGS explain "$1" || exit $?
# shellcheck disable=SC2086
qid=$("$ACKCTL" $ACKCTL_ARGS show --json "$1" |
    sed -n 's/.*"queue_id":"\([^"]*\)".*/\1/p')
if [ -n "$qid" ] && [ -r "$MAILLOG" ]; then
	echo
	echo "== MTA log for queue id $qid ($MAILLOG)"
	grep -F " $qid: " "$MAILLOG" || echo "(no lines; the log may have been rotated)"
fi
exit 0
