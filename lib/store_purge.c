/*
 * store_purge.c - purging old messages from the receipt store: messages,
 * recipients and index entries first, then the events (and their token
 * index entries) of messages no longer there, then the digests of reports
 * applied before the cutoff, in bounded transactions.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "internal.h"
#include "record.h"
#include "store.h"

#define PURGE_BATCH 2000    /* deletions per write transaction */
#define PURGE_SCAN 50000    /* records looked at per transaction */

struct purge_arg {
	int64_t before;
	bool dry;
	ack_store_progress_cb cb;
	void *cbarg;
	ack_purge_result *res;
	ack_purge_result batch;  /* counts of the transaction in progress */
	unsigned char resume[KEY_MAX]; /* scan restarts after this key */
	size_t resume_len, next_len;
	unsigned char next[KEY_MAX];
	bool done, batch_done;
	uint64_t seen, batch_seen, total;
	uint64_t last_seq;       /* the event log's last number (kept) */
	char last_token[ACK_TOKEN_LEN];
	bool last_purged, have_last;
};

/* Does message token exist with a submission time before the cutoff, or
 * not exist at all (an event of a purged message)? */
static bool
purgeable(ack_store *s, MDB_txn *txn, struct purge_arg *a, const void *token)
{
	int64_t t;

	if (a->have_last && memcmp(a->last_token, token, ACK_TOKEN_LEN) == 0)
		return a->last_purged;
	t = ack__submitted_of(s, txn, token);
	memcpy(a->last_token, token, ACK_TOKEN_LEN);
	a->have_last = true;
	a->last_purged = t == INT64_MIN || t < a->before;
	return a->last_purged;
}

/* Delete (or count) the recipients of token. */
static int
purge_rcpts(ack_store *s, MDB_txn *txn, struct purge_arg *a, const char *token)
{
	MDB_cursor *c;
	MDB_val k = { ACK_TOKEN_LEN, (void *)token }, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->rcpt, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= ACK_TOKEN_LEN &&
	    memcmp(k.mv_data, token, ACK_TOKEN_LEN) == 0) {
		a->batch.recipients++;
		if (!a->dry && (rc = mdb_cursor_del(c, 0)) != 0)
			break;
		if (a->dry) {
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		} else {
			k = (MDB_val){ ACK_TOKEN_LEN, (void *)token };
			rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		}
	}
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

static int
purge_index(ack_store *s, MDB_txn *txn, struct purge_arg *a, MDB_dbi dbi,
    const char *key, size_t klen, const char *token)
{
	MDB_val k = { klen, (void *)key }, v = { ACK_TOKEN_LEN, (void *)token };
	int rc;

	if (klen == 0)
		return ACK_OK;
	if (a->dry) {
		MDB_cursor *c;

		if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
			return ack__mdb_fail(s, "mdb_cursor_open", rc);
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH);
		mdb_cursor_close(c);
	} else {
		rc = mdb_del(txn, dbi, &k, &v);
	}
	if (rc == 0)
		a->batch.index++;
	return rc == 0 || rc == MDB_NOTFOUND ? ACK_OK :
	    ack__mdb_fail(s, "mdb_del", rc);
}

/* Delete (or count) one message, its recipients and index entries. */
static int
purge_message(ack_store *s, MDB_txn *txn, struct purge_arg *a,
    const char *token, const ack_msg *m)
{
	MDB_val k = { ACK_TOKEN_LEN, (void *)token };
	char key[KEY_MAX];
	int rc;

	if ((rc = purge_rcpts(s, txn, a, token)) != ACK_OK)
		return rc;
	if (m->message_id && (rc = purge_index(s, txn, a, s->msgid, key,
	    ack__msgid_key(m->message_id, key), token)) != ACK_OK)
		return rc;
	if (m->queue_id && (rc = purge_index(s, txn, a, s->qid, key,
	    ack__qid_key(m->queue_id, key), token)) != ACK_OK)
		return rc;
	a->batch.messages++;
	if (!a->dry && (rc = mdb_del(txn, s->msg, &k, NULL)) != 0)
		return ack__mdb_fail(s, "mdb_del", rc);
	return ACK_OK;
}

/* A transaction of a phase starts: its counts from zero. */
static void
batch_begin(struct purge_arg *a)
{
	memset(&a->batch, 0, sizeof a->batch);
	a->batch_seen = 0;
	a->have_last = false; /* purgeable()'s cache is per transaction */
}

/* Position c at the first key after a->resume (or the first key). */
static int
scan_start(MDB_cursor *c, struct purge_arg *a, MDB_val *k, MDB_val *v)
{
	int rc;

	if (a->resume_len == 0)
		return mdb_cursor_get(c, k, v, MDB_FIRST);
	*k = (MDB_val){ a->resume_len, a->resume };
	rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	if (rc == 0 && k->mv_size == a->resume_len &&
	    memcmp(k->mv_data, a->resume, a->resume_len) == 0)
		rc = mdb_cursor_get(c, k, v, MDB_NEXT);
	return rc;
}

/*
 * One scan of dbi from where the last one stopped: every key of keylen
 * bytes goes to take(), which appends what is to be deleted to out and
 * says 1 (taken), 0 (kept) or a negative ACK_E* code.  It stops after
 * PURGE_BATCH taken or PURGE_SCAN looked at; batch_done at the end.
 */
typedef int take_fn(ack_store *s, MDB_txn *txn, struct purge_arg *a,
    const MDB_val *k, const MDB_val *v, ack_buf *out);

static int
collect(ack_store *s, MDB_txn *txn, struct purge_arg *a, MDB_dbi dbi,
    size_t keylen, take_fn *take, ack_buf *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0;
	int rc, t;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = scan_start(c, a, &k, &v);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != keylen || n >= PURGE_BATCH ||
		    a->batch_seen >= PURGE_SCAN)
			break;
		a->batch_seen++;
		memcpy(a->next, k.mv_data, keylen);
		a->next_len = keylen;
		if ((t = take(s, txn, a, &k, &v, out)) < 0) {
			rc = t;
			break;
		}
		n += (size_t)t;
	}
	mdb_cursor_close(c);
	a->batch_done = rc == MDB_NOTFOUND;
	return ack__cursor_end(s, rc); /* passes our ACK_E* codes through */
}

/* A message submitted before the cutoff: its token. */
static int
take_msg(ack_store *s, MDB_txn *txn, struct purge_arg *a, const MDB_val *k,
    const MDB_val *v, ack_buf *out)
{
	ack_msg m = { .submitted = 0 };
	int rc = 0;

	(void)s;
	(void)txn;
	if (ack__rec_decode_msg(v->mv_data, v->mv_size, &m) != ACK_OK)
		return 0; /* leave what cannot be read */
	if (m.submitted < a->before)
		rc = ack_buf_add(out, k->mv_data, ACK_TOKEN_LEN) == ACK_OK ? 1 : ACK_ENOMEM;
	ack__msg_clear(&m);
	return rc;
}

static int
purge_msgs_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct purge_arg *a = arg;
	ack_buf tokens;
	int rc;

	batch_begin(a);
	ack_buf_init(&tokens, 0);
	rc = collect(s, txn, a, s->msg, ACK_TOKEN_LEN, take_msg, &tokens);
	for (size_t i = 0; rc == ACK_OK && i < tokens.len; i += ACK_TOKEN_LEN) {
		char token[ACK_TOKEN_LEN + 1];
		MDB_val k = { ACK_TOKEN_LEN, tokens.data + i }, v;
		ack_msg m = { .submitted = 0 };

		memcpy(token, tokens.data + i, ACK_TOKEN_LEN);
		token[ACK_TOKEN_LEN] = '\0';
		if (mdb_get(txn, s->msg, &k, &v) != 0 ||
		    ack__rec_decode_msg(v.mv_data, v.mv_size, &m) != ACK_OK)
			continue;
		rc = purge_message(s, txn, a, token, &m);
		ack__msg_clear(&m);
	}
	ack_buf_free(&tokens);
	return rc;
}

/* An event of a purged (or purgeable) message: its key (8 bytes) and its
 * token, for the token index.  The last event stays: new events number on
 * from it. */
static int
take_event(ack_store *s, MDB_txn *txn, struct purge_arg *a, const MDB_val *k,
    const MDB_val *v, ack_buf *out)
{
	const unsigned char *tok;

	if (be64_get(k->mv_data) == a->last_seq)
		return 0;
	tok = ack__event_token_at(v);
	if (tok == NULL || !purgeable(s, txn, a, tok))
		return 0;
	if (ack_buf_add(out, k->mv_data, 8) != ACK_OK ||
	    ack_buf_add(out, tok, ACK_TOKEN_LEN) != ACK_OK)
		return ACK_ENOMEM;
	return 1;
}

/* Delete an event (key p, 8 bytes, then its token) and its index entry. */
static int
purge_event(ack_store *s, MDB_txn *txn, char *p)
{
	MDB_val k = { 8, p }, ik = { ACK_TOKEN_LEN, p + 8 }, iv = { 8, p };
	int rc = mdb_del(txn, s->event, &k, NULL);

	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mdb_del(txn, s->evtok, &ik, &iv);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
purge_events_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct purge_arg *a = arg;
	ack_buf keys;
	int rc;

	batch_begin(a);
	ack_buf_init(&keys, 0);
	rc = ack__last_seq(s, txn, &a->last_seq);
	if (rc == ACK_OK)
		rc = collect(s, txn, a, s->event, 8, take_event, &keys);
	for (size_t i = 0; rc == ACK_OK && i < keys.len; i += 8 + ACK_TOKEN_LEN) {
		int mrc = a->dry ? 0 : purge_event(s, txn, keys.data + i);

		if (mrc != 0)
			rc = ack__mdb_fail(s, "mdb_del", mrc);
		else
			a->batch.events++;
	}
	ack_buf_free(&keys);
	return rc;
}

/* A report digest applied before the cutoff (the value is the time, 8
 * bytes; an empty value, from before it was kept, stays). */
static int
take_seen(ack_store *s, MDB_txn *txn, struct purge_arg *a, const MDB_val *k,
    const MDB_val *v, ack_buf *out)
{
	(void)s;
	(void)txn;
	if (v->mv_size != 8 || (int64_t)be64_get(v->mv_data) >= a->before)
		return 0;
	return ack_buf_add(out, k->mv_data, SEEN_KEY_LEN) == ACK_OK ? 1 : ACK_ENOMEM;
}

static int
purge_seen_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct purge_arg *a = arg;
	ack_buf keys;
	int rc;

	batch_begin(a);
	ack_buf_init(&keys, 0);
	rc = collect(s, txn, a, s->seen, SEEN_KEY_LEN, take_seen, &keys);
	for (size_t i = 0; rc == ACK_OK && i < keys.len; i += SEEN_KEY_LEN) {
		MDB_val k = { SEEN_KEY_LEN, keys.data + i };
		int mrc = a->dry ? 0 : mdb_del(txn, s->seen, &k, NULL);

		if (mrc != 0 && mrc != MDB_NOTFOUND)
			rc = ack__mdb_fail(s, "mdb_del", mrc);
		else
			a->batch.reports++;
	}
	ack_buf_free(&keys);
	return rc;
}

/* Run one phase (messages, events, digests) in bounded transactions. */
static int
purge_phase(ack_store *s, struct purge_arg *a, txn_fn fn)
{
	int rc;

	a->resume_len = 0;
	do {
		a->next_len = a->resume_len;
		memcpy(a->next, a->resume, a->resume_len);
		rc = a->dry ? ack__read_txn(s, fn, a) : ack__write_txn(s, fn, a);
		if (rc != ACK_OK)
			return rc;
		a->res->messages += a->batch.messages;
		a->res->recipients += a->batch.recipients;
		a->res->index += a->batch.index;
		a->res->events += a->batch.events;
		a->res->reports += a->batch.reports;
		memcpy(a->resume, a->next, a->next_len);
		a->resume_len = a->next_len;
		a->seen += a->batch_seen;
		if (a->cb)
			a->cb(a->seen < a->total ? a->seen : a->total, a->total, a->cbarg);
	} while (!a->batch_done);
	return ACK_OK;
}

int
ack_store_purge(ack_store *s, int64_t before, bool dry_run,
    ack_store_progress_cb cb, void *arg, ack_purge_result *res)
{
	struct purge_arg *a;
	ack_store_info info;
	int rc;

	memset(res, 0, sizeof *res);
	if (!dry_run && (s->flags & ACK_STORE_RDONLY))
		return ack__bad_arg(s, "ack_store_purge: store opened read-only");
	if ((rc = ack_store_stat(s, &info)) != ACK_OK)
		return rc;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return ACK_ENOMEM;
	*a = (struct purge_arg){ .before = before, .dry = dry_run, .cb = cb,
	    .cbarg = arg, .res = res, .total = info.messages + info.events };
	rc = purge_phase(s, a, purge_msgs_txn);
	if (rc == ACK_OK)
		rc = purge_phase(s, a, purge_events_txn);
	if (rc == ACK_OK)
		rc = purge_phase(s, a, purge_seen_txn);
	free(a);
	return rc;
}
