/*
 * store_events.c - the event log of the receipt store: appending an event
 * (and its entry in the token index "evtok"), iterating the log, the last
 * sequence number, and the events of one message.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "internal.h"
#include "record.h"
#include "store.h"

/* ---------------------------------------------------------------- append */

/*
 * The token field of a raw event record, without decoding the rest: the
 * event log is scanned for one message's events, and this is its hot loop.
 */
const unsigned char *
ack__event_token_at(const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	size_t n = v->mv_size, i = 3;

	if (n < 3 || p[0] != ACK_REC_MAGIC || p[1] != ACK_REC_EVENT)
		return NULL;
	while (i + 3 <= n) {
		size_t len = (size_t)p[i + 1] << 8 | p[i + 2];

		if (i + 3 + len > n)
			return NULL;
		if (p[i] == ACK_TAG_EV_TOKEN)
			return len == ACK_TOKEN_LEN ? p + i + 3 : NULL;
		i += 3 + len;
	}
	return NULL;
}

/* Highest event sequence number in use (0: none). */
int
ack__last_seq(ack_store *s, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return ACK_OK;
	}
	if (rc != 0)
		return ack__mdb_fail(s, "mdb_cursor_get", rc);
	if (k.mv_size != 8)
		return ack__corrupt(s, "event", "(key)", 5);
	*seq = be64_get(k.mv_data);
	return ACK_OK;
}

/* Append an event with the next sequence number, and index it under its
 * token (in the same transaction). */
int
ack__append_event(ack_store *s, MDB_txn *txn, uint64_t *seq, ack_event *e,
    ack_buf *buf)
{
	unsigned char key[8];
	int rc;

	e->seq = ++*seq;
	be64_put(key, e->seq);
	if ((rc = ack__rec_encode_event(buf, e)) != ACK_OK ||
	    (rc = ack__put_raw(s, txn, s->event, key, 8, buf->data, buf->len,
	    MDB_APPEND)) != ACK_OK)
		return rc;
	return ack__put_raw(s, txn, s->evtok, e->token, ACK_TOKEN_LEN, key, 8, 0);
}

/* ---------------------------------------------------------------- iterate */

static int
event_one(ack_store *s, const MDB_val *k, const MDB_val *v, struct iter_arg *a,
    int *stop)
{
	ack_event e = { .seq = 0 };

	if (k->mv_size != 8 ||
	    ack__rec_decode_event(v->mv_data, v->mv_size, &e) != ACK_OK)
		return ack__corrupt(s, "event", "(seq)", 5);
	e.seq = be64_get(k->mv_data);
	*stop = a->ecb(&e, a->arg);
	ack_event_clear(&e);
	return ACK_OK;
}

static int
events_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct iter_arg *a = arg;
	unsigned char key[8];
	MDB_cursor *c;
	MDB_val k = { 8, key }, v;
	int rc, stop = 0;

	if (a->after == UINT64_MAX)
		return ACK_OK;
	be64_put(key, a->after + 1);
	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((rc = event_one(s, &k, &v, a, &stop)) != ACK_OK)
			break;
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

int
ack_store_events(ack_store *s, uint64_t after, ack_store_event_cb cb, void *arg)
{
	struct iter_arg a = { .after = after, .ecb = cb, .arg = arg };

	if (cb == NULL)
		return ack__bad_arg(s, "ack_store_events: no callback");
	return ack__read_txn(s, events_txn, &a);
}

int
ack_store_last_event(ack_store *s, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	*seq = 0;
	if ((rc = ack__txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	rc = ack__last_seq(s, txn, seq);
	ack__txn_abort(s, txn);
	return rc;
}

/* ---------------------------------------------------------------- one message */

static bool
event_token_is(const MDB_val *v, const char *token)
{
	const unsigned char *t = ack__event_token_at(v);

	return t != NULL && memcmp(t, token, ACK_TOKEN_LEN) == 0;
}

struct msg_events_arg {
	char token[ACK_TOKEN_LEN + 1];
	ack_store_event_cb cb;
	void *arg;
};

/* The message's events from the token index, oldest first (the
 * duplicates of a key are sorted, and seq is big endian). */
static int
events_indexed(ack_store *s, MDB_txn *txn, struct msg_events_arg *a)
{
	struct iter_arg ia = { .ecb = a->cb, .arg = a->arg };
	MDB_cursor *c;
	MDB_val k = { ACK_TOKEN_LEN, a->token }, v, ek, ev;
	int rc, stop = 0;

	if ((rc = mdb_cursor_open(txn, s->evtok, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		ek = v;
		if (v.mv_size != 8)
			rc = ack__corrupt(s, "evtok", a->token, ACK_TOKEN_LEN);
		else if ((rc = mdb_get(txn, s->event, &ek, &ev)) == MDB_NOTFOUND)
			continue; /* tolerate an entry whose event is gone */
		else if (rc == 0)
			rc = event_one(s, &ek, &ev, &ia, &stop);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

/* Without the index (a store made before it, opened read-only): scan the
 * whole log for the message's events. */
static int
events_scanned(ack_store *s, MDB_txn *txn, struct msg_events_arg *a)
{
	struct iter_arg ia = { .ecb = a->cb, .arg = a->arg };
	MDB_cursor *c;
	MDB_val k, v;
	int rc, stop = 0;

	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (event_token_is(&v, a->token) &&
		    (rc = event_one(s, &k, &v, &ia, &stop)) != ACK_OK)
			break;
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

static int
msg_events_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct msg_events_arg *a = arg;

	if (ack__submitted_of(s, txn, a->token) == INT64_MIN) {
		ack__seterr(ERRBUF, "%s: no such message", a->token);
		return ACK_ENOTFOUND;
	}
	if (s->has_evtok)
		return events_indexed(s, txn, a);
	return events_scanned(s, txn, a);
}

int
ack_store_message_events(ack_store *s, const char *token,
    ack_store_event_cb cb, void *arg)
{
	struct msg_events_arg a = { .cb = cb, .arg = arg };

	if (cb == NULL)
		return ack__bad_arg(s, "ack_store_message_events: no callback");
	if (token == NULL ||
	    ack_token_canon(token, strlen(token), a.token) != ACK_OK) {
		ack__seterr(ERRBUF, "not a token");
		return ACK_ENOTFOUND;
	}
	return ack__read_txn(s, msg_events_txn, &a);
}
