/*
 * ctl_mkstore.c - build the fixed store of the ackctl golden test: the
 * records the milter writes at submission (ack_store_put, as the milter
 * calls it), at fixed times so that the output does not depend on the
 * clock.  The reports are applied afterwards by "ackctl ingest".
 *
 *   ctl_mkstore DBDIR KEYFILE   prints "MESSAGE-ID TOKEN" per message
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ackmilter.h"

#define BASE 1763629200 /* 2025-11-20T09:00:00Z */
#define NSF (ACK_NOTIFY_SUCCESS | ACK_NOTIFY_FAILURE | ACK_NOTIFY_DELAY)

struct msg {
	const char *mid, *sender, *qid;
	int64_t offset;
	uint32_t flags;
	const char *rcpt[3];
	unsigned notify;
};

static const struct msg msgs[] = {
	{ "<golden.1@ack.test>", "alice@ack.test", "4B1C2D3E", 0, ACK_MSG_MDN_REQ,
	  { "bob@local.test", "carol@example.org", "dave@fail.example" }, NSF },
	{ "<golden.2@ack.test>", "alice@ack.test", "4B1C2D3F", 3600, 0,
	  { "erin@example.net", "frank@example.net", NULL }, NSF },
	{ "<golden.3@ack.test>", "bob@ack.test", "4B1C2D40", 86400, 0,
	  { "grace@example.com", NULL, NULL }, ACK_NOTIFY_NEVER },
};

static int
put(ack_store *s, const ack_keys *k, const struct msg *g)
{
	ack_msg m = { .message_id = (char *)g->mid, .sender = (char *)g->sender,
		.queue_id = (char *)g->qid, .submitted = BASE + g->offset,
		.flags = g->flags };
	ack_rcpt r[3];
	size_t n = 0;
	int rc;

	if ((rc = ack_token_make(k, m.submitted, m.token)) != ACK_OK)
		return rc;
	memset(r, 0, sizeof r);
	for (; n < 3 && g->rcpt[n]; n++) {
		r[n].address = (char *)g->rcpt[n];
		r[n].notify = g->notify;
		r[n].dsn_state = g->notify == ACK_NOTIFY_NEVER ? ACK_DSN_NONE : ACK_DSN_PENDING;
		r[n].mdn_state = g->flags & ACK_MSG_MDN_REQ ? ACK_MDN_PENDING : ACK_MDN_NONE;
	}
	if ((rc = ack_store_put(s, &m, r, n)) == ACK_OK)
		printf("%s %s\n", g->mid, m.token);
	return rc;
}

int
main(int argc, char **argv)
{
	char err[256];
	ack_keys *k = NULL;
	ack_store *s = NULL;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ctl_mkstore DBDIR KEYFILE\n");
		return 2;
	}
	if ((rc = ack_keys_load(&k, argv[2], err, sizeof err)) != ACK_OK ||
	    (rc = ack_store_open(&s, argv[1], ACK_STORE_CREATE, 0, err,
	    sizeof err)) != ACK_OK) {
		fprintf(stderr, "ctl_mkstore: %s\n", err);
		ack_keys_free(k);
		return 2;
	}
	for (size_t i = 0; rc == ACK_OK && i < sizeof msgs / sizeof msgs[0]; i++)
		if ((rc = put(s, k, &msgs[i])) != ACK_OK)
			fprintf(stderr, "ctl_mkstore: %s: %s\n", ack_strerror(rc),
			    ack_store_errmsg(s));
	ack_store_close(s);
	ack_keys_free(k);
	return rc == ACK_OK ? 0 : 2;
}
