#!/bin/sh
# t/bench-store.sh - the store benchmark (not a test; run it by hand).
#
#   sh t/bench-store.sh [MESSAGES] [BUILDDIR] [WORKDIR]
#
# Builds a store of MESSAGES messages (default 1,000,000), 3 recipients
# each, through the library (ack_store_put and ack_store_apply, durable
# commits as the milter does them), with reports for part of them: every
# 10th message's first recipient failed (5.1.1), every 2nd message's second
# recipient delivered, every 3rd message's third recipient relayed, every
# 4th message displayed.  Submission times spread over the last 60 days.
# Then prints: store size on disk per message, show latency (target
# < 5 ms), list --state failed time, overdue time, purge of half the
# store (target < 60 s).
#
# WORKDIR defaults to $TMPDIR or /tmp; put it on the disk you deploy on
# (a tmpfs makes the commits free).  BUILDDIR holds the built tree
# (milter/ackctl and lib/.libs/libackmilter.so); default: the source tree.

set -e
N=${1:-1000000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${2:-$SRC}
W=${3:-${TMPDIR:-/tmp}}/ackbench.$$
CTL=$B/milter/ackctl
[ -x "$B/milter/ackctl" ] || { echo "bench-store: $CTL is not built" >&2; exit 2; }
LIBDIR=$B/lib/.libs
# Time the real program, not libtool's wrapper script around it.
ctl() {
	if [ -x "$B/milter/.libs/ackctl" ]; then
		LD_LIBRARY_PATH=$LIBDIR "$B/milter/.libs/ackctl" "$@"
	else
		"$CTL" "$@"
	fi
}
mkdir -p "$W"
[ -n "$ACK_KEEP" ] || trap 'rm -rf "$W"' EXIT

cat >"$W/gen.c" <<'EOF'
/* gen.c - fill a store through the library, as fast as durable commits go */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ackmilter.h"

static void
die(const char *what, int rc, ack_store *s)
{
	fprintf(stderr, "gen: %s: %s (%s)\n", what, ack_strerror(rc), ack_store_errmsg(s));
	exit(2);
}

static void
report(ack_store *s, const char *token, int kind, const char *addr,
    const char *action, const char *status, int64_t now)
{
	ack_report_rcpt b = { .final_recipient = (char *)addr, .action = (char *)action,
		.status = (char *)status, .remote_mta = (char *)"dns; mx.example.net",
		.disposition = kind == ACK_KIND_MDN ? (char *)"manual-action/MDN-sent-manually; displayed" : NULL,
		.diagnostic = status && status[0] == '5' ?
		    (char *)"smtp; 550 5.1.1 <x>: Recipient address rejected: User unknown" : NULL };
	ack_report r = { .kind = kind, .rcpt = &b, .nrcpt = 1,
		.reporting_mta = (char *)"dns; mx.ack.test" };
	ack_apply_result res;
	int rc = ack_store_apply(s, token, &r, now, &res);

	if (rc != ACK_OK)
		die("apply", rc, s);
}

int
main(int argc, char **argv)
{
	long n = atol(argv[2]), i;
	int64_t now = (int64_t)time(NULL), span = 60 * 86400;
	char err[256], tok[ACK_TOKEN_LEN + 1], mid[64], qid[32], a[3][64];
	ack_keys *k;
	ack_store *s;
	int rc;

	if ((rc = ack_keys_load(&k, argv[3], err, sizeof err)) != ACK_OK ||
	    (rc = ack_store_open(&s, argv[1], ACK_STORE_CREATE, 0, err, sizeof err)) != ACK_OK) {
		fprintf(stderr, "gen: %s\n", err);
		return 2;
	}
	for (i = 0; i < n; i++) {
		int64_t t = now - span + span * i / n;
		ack_msg m = { .message_id = mid, .sender = (char *)"alice@ack.test",
			.queue_id = qid, .submitted = t, .flags = i % 4 == 0 ? ACK_MSG_MDN_REQ : 0 };
		ack_rcpt r[3];

		if ((rc = ack_token_make(k, t, tok)) != ACK_OK)
			die("token", rc, s);
		memcpy(m.token, tok, sizeof tok);
		snprintf(mid, sizeof mid, "<bench.%ld@ack.test>", i);
		snprintf(qid, sizeof qid, "%lX", 0x10000000L + i);
		memset(r, 0, sizeof r);
		for (int j = 0; j < 3; j++) {
			snprintf(a[j], sizeof a[j], "user%ld.%d@d%ld.example", i, j, i % 97);
			r[j] = (ack_rcpt){ .address = a[j], .notify = 7,
				.dsn_state = ACK_DSN_PENDING,
				.mdn_state = i % 4 == 0 ? ACK_MDN_PENDING : ACK_MDN_NONE };
		}
		if ((rc = ack_store_put(s, &m, r, 3)) != ACK_OK)
			die("put", rc, s);
		if (i % 10 == 0)
			report(s, tok, ACK_KIND_DSN, a[0], "failed", "5.1.1", t + 60);
		if (i % 2 == 0)
			report(s, tok, ACK_KIND_DSN, a[1], "delivered", "2.0.0", t + 5);
		if (i % 3 == 0)
			report(s, tok, ACK_KIND_DSN, a[2], "relayed", "2.0.0", t + 3);
		if (i % 4 == 0)
			report(s, tok, ACK_KIND_MDN, a[1], "displayed", NULL, t + 3600);
		if (i % 100000 == 0 && i)
			fprintf(stderr, "gen: %ld messages\n", i);
	}
	ack_store_close(s);
	ack_keys_free(k);
	return 0;
}
EOF

now() { date +%s.%N; }
# Arithmetic on fractions with awk (bc is not among the packages installed).
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

cc -O2 -I"$SRC/lib" -o "$W/gen" "$W/gen.c" -L"$LIBDIR" -Wl,-rpath,"$LIBDIR" \
    -lackmilter
ctl keygen "$W/keys" >/dev/null
echo "building a store of $N messages (3 recipients each) in $W/db"
t0=$(now)
"$W/gen" "$W/db" "$N" "$W/keys"
t1=$(now)
echo "build: $(elapsed "$t0" "$t1") s"
size=$(du -k "$W/db/data.mdb" | cut -f1)
echo "store size on disk: $size KiB, $(awk -v s="$size" -v n="$N" 'BEGIN { printf "%d", s * 1024 / n }') bytes per message"

# show latency: median of 50 lookups of random messages, in one process
# each (what a person or a script pays), by Message-ID.
i=0
: >"$W/show.times"
while [ $i -lt 50 ]; do
	m=$(awk -v s="$i" -v n="$N" 'BEGIN { srand(s); printf "%d", rand() * n }')
	a=$(now)
	ctl -d "$W/db" show "<bench.$m@ack.test>" >/dev/null
	b=$(now)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$W/show.times"
	i=$((i + 1))
done
echo "show latency (ms, process included): median $(sort -n "$W/show.times" | sed -n 25p), max $(sort -n "$W/show.times" | tail -n 1)  (target < 5 ms)"

for cmd in "list --state failed" "overdue --after 30d" "stats"; do
	a=$(now)
	ctl -d "$W/db" $cmd >"$W/out" || true
	b=$(now)
	echo "$cmd: $(elapsed "$a" "$b") s, $(wc -l <"$W/out") lines"
done

a=$(now)
ctl -d "$W/db" purge --older-than 30d
b=$(now)
echo "purge of half the store: $(elapsed "$a" "$b") s  (target < 60 s)"
size=$(du -k "$W/db/data.mdb" | cut -f1)
echo "after purge: data.mdb $size KiB (LMDB reuses freed pages; the file does not shrink)"
