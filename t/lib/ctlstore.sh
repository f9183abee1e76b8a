# t/lib/ctlstore.sh - the fixed store of the ackctl tests (ctl-golden,
# ctl-tty), sourced after t/lib/common.sh.
#
#   ctl_store DIR   a key file DIR/keys, DIR/ackmilter.conf (KeyFile,
#                   Database DIR/db, PatternDir (the source tree's),
#                   ReturnPath bounces+%t@return.test) and
#                   the store built by t/ctl_mkstore: the submission records
#                   of three messages at fixed times from 2025-11-20T09:00Z.
#                   Sets T1 T2 T3 (their tokens), M1 M2 M3 (Message-IDs)
#                   and BASE (the first submission, unix seconds).
#   ctl_report FILE TOKEN MESSAGE-ID
#                   t/data/reports/FILE addressed to that message, written
#                   to DIR/FILE; prints its name.
# Needs CTL (the ackctl program) and MKSTORE (t/ctl_mkstore).

# shellcheck disable=SC2034 # BASE is for the tests that source this file
BASE=1763629200 # 2025-11-20T09:00:00Z, the first submission
M1=golden.1@ack.test M2=golden.2@ack.test M3=golden.3@ack.test

ctl_store() {
	CTL_DIR=$1
	"$CTL" keygen "$CTL_DIR/keys" >/dev/null || fail "ackctl keygen"
	cat >"$CTL_DIR/ackmilter.conf" <<EOF
KeyFile $CTL_DIR/keys
Database $CTL_DIR/db
PatternDir $ACK_SRCDIR/patterns
ReturnPath bounces+%t@return.test
EOF
	"$MKSTORE" "$CTL_DIR/db" "$CTL_DIR/keys" >"$CTL_DIR/tokens" ||
	    fail "ctl_mkstore failed"
	T1=$(sed -n "s/^<$M1> //p" "$CTL_DIR/tokens")
	T2=$(sed -n "s/^<$M2> //p" "$CTL_DIR/tokens")
	T3=$(sed -n "s/^<$M3> //p" "$CTL_DIR/tokens")
	[ ${#T1} = 40 ] && [ ${#T2} = 40 ] && [ ${#T3} = 40 ] ||
	    fail "no tokens: $(cat "$CTL_DIR/tokens")"
}

ctl_report() {
	sed -e "s/@TOKEN@/$2/g" -e "s/@MSGID@/$3/g" \
	    "$ACK_SRCDIR/t/data/reports/$1" >"$CTL_DIR/$1"
	echo "$CTL_DIR/$1"
}
