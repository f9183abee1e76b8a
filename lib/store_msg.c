/*
 * store_msg.c - messages and recipients in the receipt store: index keys,
 * put (with its submit events), get, lookup by token, Message-ID or queue
 * id, foreach and stat.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "internal.h"
#include "record.h"
#include "store.h"

/* ---------------------------------------------------------------- keys */

/* Trim blanks; *len gets the trimmed length, the start is returned. */
static const char *
trim(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && strchr(" \t\r\n", *s)) {
		s++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* Message-ID index key: trimmed, <> added if absent.  0 when unusable. */
size_t
ack__msgid_key(const char *id, char *key)
{
	size_t n, k = 0;
	const char *p = trim(id, &n);

	if (n == 0 || n > KEY_MAX - 2)
		return 0;
	if (p[0] != '<')
		key[k++] = '<';
	memcpy(key + k, p, n);
	k += n;
	if (p[n - 1] != '>')
		key[k++] = '>';
	return k;
}

/* Queue id index key: trimmed.  0 when unusable. */
size_t
ack__qid_key(const char *qid, char *key)
{
	size_t n;
	const char *p = trim(qid, &n);

	if (n == 0 || n > KEY_MAX)
		return 0;
	memcpy(key, p, n);
	return n;
}

/* Recipient key: token + lowercase address (cut to fit a key). */
static size_t
rcpt_key(const char *token, const char *addr, char *key)
{
	size_t n = strlen(addr);

	if (n > KEY_MAX - ACK_TOKEN_LEN)
		n = KEY_MAX - ACK_TOKEN_LEN;
	memcpy(key, token, ACK_TOKEN_LEN);
	for (size_t i = 0; i < n; i++)
		key[ACK_TOKEN_LEN + i] = lc(addr[i]);
	return ACK_TOKEN_LEN + n;
}

/* ---------------------------------------------------------------- writes */

int
ack__put_raw(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc = mdb_put(txn, dbi, &k, &v, flags);

	return rc ? ack__mdb_fail(s, "mdb_put", rc) : ACK_OK;
}

int
ack__put_rcpt(ack_store *s, MDB_txn *txn, const char *token, const ack_rcpt *r,
    ack_buf *buf, unsigned flags)
{
	char key[KEY_MAX];
	size_t klen = rcpt_key(token, r->address, key);
	int rc;

	if ((rc = ack__rec_encode_rcpt(buf, r)) != ACK_OK)
		return rc;
	return ack__put_raw(s, txn, s->rcpt, key, klen, buf->data, buf->len, flags);
}

struct put_arg {
	char token[ACK_TOKEN_LEN + 1];
	const ack_msg *m;
	const ack_rcpt *r;
	size_t n;
	ack_buf buf;
};

static int
put_indexes(ack_store *s, MDB_txn *txn, struct put_arg *a)
{
	char key[KEY_MAX];
	size_t klen;
	int rc;

	if (a->m->message_id && (klen = ack__msgid_key(a->m->message_id, key)) > 0 &&
	    (rc = ack__put_raw(s, txn, s->msgid, key, klen, a->token,
	    ACK_TOKEN_LEN, 0)))
		return rc;
	if (a->m->queue_id && (klen = ack__qid_key(a->m->queue_id, key)) > 0 &&
	    (rc = ack__put_raw(s, txn, s->qid, key, klen, a->token,
	    ACK_TOKEN_LEN, 0)))
		return rc;
	return ACK_OK;
}

static int
put_recipients(ack_store *s, MDB_txn *txn, struct put_arg *a)
{
	uint64_t seq;
	int rc;

	if ((rc = ack__last_seq(s, txn, &seq)) != ACK_OK)
		return rc;
	for (size_t i = 0; i < a->n; i++) {
		ack_event e = { .time = a->m->submitted, .kind = (char *)"submit",
		    .recipient = a->r[i].address,
		    .action = (char *)ack_dsn_state_name(a->r[i].dsn_state) };

		rc = ack__put_rcpt(s, txn, a->token, &a->r[i], &a->buf, MDB_NOOVERWRITE);
		if (rc == ACK_EEXIST)
			continue; /* the same address twice: keep the first */
		memcpy(e.token, a->token, sizeof e.token);
		if (rc != ACK_OK || (rc = ack__append_event(s, txn, &seq, &e, &a->buf)))
			return rc;
	}
	return ACK_OK;
}

static int
put_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct put_arg *a = arg;
	int rc;

	if ((rc = ack__rec_encode_msg(&a->buf, a->m)) != ACK_OK)
		return rc;
	rc = ack__put_raw(s, txn, s->msg, a->token, ACK_TOKEN_LEN, a->buf.data,
	    a->buf.len, MDB_NOOVERWRITE);
	if (rc == ACK_EEXIST)
		ack__seterr(ERRBUF, "%s: token already recorded",
		    a->token);
	if (rc != ACK_OK || (rc = put_indexes(s, txn, a)) != ACK_OK)
		return rc;
	return put_recipients(s, txn, a);
}

int
ack_store_put(ack_store *s, const ack_msg *m, const ack_rcpt *r, size_t n)
{
	struct put_arg a = { .m = m, .r = r, .n = n };
	int rc;

	if (m == NULL || (n > 0 && r == NULL))
		return ack__bad_arg(s, "ack_store_put: no message");
	if (ack_token_canon(m->token, strlen(m->token), a.token) != ACK_OK)
		return ack__bad_arg(s, "ack_store_put: malformed token");
	for (size_t i = 0; i < n; i++)
		if (r[i].address == NULL)
			return ack__bad_arg(s, "ack_store_put: recipient without address");
	ack_buf_init(&a.buf, RCPT_BUF_CAP);
	rc = ack__write_txn(s, put_txn, &a);
	ack_buf_free(&a.buf);
	return rc;
}

/* ---------------------------------------------------------------- reads */

int
ack__load_rcpts(ack_store *s, MDB_txn *txn, ack_record *out)
{
	MDB_cursor *c;
	MDB_val k = { ACK_TOKEN_LEN, out->msg.token }, v;
	size_t cap = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->rcpt, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < ACK_TOKEN_LEN ||
		    memcmp(k.mv_data, out->msg.token, ACK_TOKEN_LEN) != 0)
			break;
		if (out->nrcpt == cap) {
			ack_rcpt *p = realloc(out->rcpt, (cap = cap ? cap * 2 : 4) * sizeof *p);
			if (p == NULL) {
				rc = ACK_ENOMEM;
				break;
			}
			out->rcpt = p;
		}
		memset(&out->rcpt[out->nrcpt], 0, sizeof *out->rcpt);
		if ((rc = ack__rec_decode_rcpt(v.mv_data, v.mv_size, &out->rcpt[out->nrcpt])))
			break;
		out->nrcpt++;
	}
	mdb_cursor_close(c);
	if (rc == ACK_ECORRUPT)
		return ack__corrupt(s, "rcpt", k.mv_data, k.mv_size);
	return ack__cursor_end(s, rc);
}

/* Decode the message record v under token key k and its recipients. */
static int
load_record(ack_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
    ack_record *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (k->mv_size != ACK_TOKEN_LEN ||
	    ack__rec_decode_msg(v->mv_data, v->mv_size, &out->msg) != ACK_OK)
		return ack__corrupt(s, "msg", k->mv_data, k->mv_size);
	memcpy(out->msg.token, k->mv_data, ACK_TOKEN_LEN);
	if ((rc = ack__load_rcpts(s, txn, out)) != ACK_OK)
		ack_record_free(out);
	return rc;
}

struct get_arg {
	char token[ACK_TOKEN_LEN + 1];
	ack_record *out;
};

static int
get_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct get_arg *a = arg;
	MDB_val k = { ACK_TOKEN_LEN, a->token }, v;
	int rc;

	if ((rc = mdb_get(txn, s->msg, &k, &v)) == MDB_NOTFOUND) {
		ack__seterr(ERRBUF, "%s: no such message", a->token);
		return ACK_ENOTFOUND;
	}
	if (rc != 0)
		return ack__mdb_fail(s, "mdb_get", rc);
	return load_record(s, txn, &k, &v, a->out);
}

int
ack_store_get(ack_store *s, const char *token, ack_record *out)
{
	struct get_arg a = { .out = out };

	memset(out, 0, sizeof *out);
	if (token == NULL ||
	    ack_token_canon(token, strlen(token), a.token) != ACK_OK) {
		ack__seterr(ERRBUF, "not a token");
		return ACK_ENOTFOUND;
	}
	return ack__read_txn(s, get_txn, &a);
}

/* ---------------------------------------------------------------- lookup */

/* Submission time of message token (INT64_MIN when absent or unreadable). */
int64_t
ack__submitted_of(ack_store *s, MDB_txn *txn, const void *token)
{
	MDB_val k = { ACK_TOKEN_LEN, (void *)token }, v;
	ack_msg m = { .submitted = 0 };
	int64_t t;

	if (mdb_get(txn, s->msg, &k, &v) != 0 ||
	    ack__rec_decode_msg(v.mv_data, v.mv_size, &m) != ACK_OK)
		return INT64_MIN;
	t = m.submitted;
	ack__msg_clear(&m);
	return t;
}

/* Among the tokens stored under key in a DUPSORT index, the latest. */
static int
index_find(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const char *key,
    size_t klen, char *token)
{
	MDB_cursor *c;
	MDB_val k = { klen, (void *)key }, v;
	int64_t best = INT64_MIN;
	bool found = false;
	int rc;

	if (klen == 0)
		return ACK_ENOTFOUND;
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		int64_t t;

		/* Skip entries whose message is gone or unreadable. */
		if (v.mv_size != ACK_TOKEN_LEN ||
		    (t = ack__submitted_of(s, txn, v.mv_data)) == INT64_MIN)
			continue;
		if (!found || t >= best) {
			memcpy(token, v.mv_data, ACK_TOKEN_LEN);
			token[ACK_TOKEN_LEN] = '\0';
			best = t;
			found = true;
		}
	}
	mdb_cursor_close(c);
	return found ? ACK_OK : ACK_ENOTFOUND;
}

struct lookup_arg {
	const char *what;
	char *token;
	bool msgid_only; /* the Message-ID index alone */
};

static int
lookup_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct lookup_arg *a = arg;
	char canon[ACK_TOKEN_LEN + 1], key[KEY_MAX];
	MDB_val k = { ACK_TOKEN_LEN, canon }, v;
	int rc;

	if (!a->msgid_only &&
	    ack_token_canon(a->what, strlen(a->what), canon) == ACK_OK &&
	    mdb_get(txn, s->msg, &k, &v) == 0) {
		memcpy(a->token, canon, sizeof canon);
		return ACK_OK;
	}
	rc = index_find(s, txn, s->msgid, key, ack__msgid_key(a->what, key), a->token);
	if (rc == ACK_ENOTFOUND && !a->msgid_only)
		rc = index_find(s, txn, s->qid, key, ack__qid_key(a->what, key), a->token);
	if (rc == ACK_ENOTFOUND)
		ack__seterr(ERRBUF, a->msgid_only ? "no message with Message-ID \"%.80s\"" :
		    "no message with token, Message-ID or queue id \"%.80s\"", a->what);
	return rc;
}

int
ack_store_lookup(ack_store *s, const char *what, char token[ACK_TOKEN_LEN + 1])
{
	struct lookup_arg a = { what, token, false };

	if (what == NULL)
		return ack__bad_arg(s, "ack_store_lookup: nothing to look up");
	return ack__read_txn(s, lookup_txn, &a);
}

/* A report must not reach a message through its queue id (short, and
 * seen in Received fields) nor through a bare token (not signed here). */
int
ack__store_lookup_msgid(ack_store *s, const char *msgid,
    char token[ACK_TOKEN_LEN + 1])
{
	struct lookup_arg a = { msgid, token, true };

	return ack__read_txn(s, lookup_txn, &a);
}

/* ---------------------------------------------------------------- iterate */

static int
foreach_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct iter_arg *a = arg;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, stop = 0;

	if ((rc = mdb_cursor_open(txn, s->msg, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ack_record r;

		if ((rc = load_record(s, txn, &k, &v, &r)) != ACK_OK)
			break;
		stop = a->mcb(&r, a->arg);
		ack_record_free(&r);
	}
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

int
ack_store_foreach(ack_store *s, ack_store_msg_cb cb, void *arg)
{
	struct iter_arg a = { .mcb = cb, .arg = arg };

	if (cb == NULL)
		return ack__bad_arg(s, "ack_store_foreach: no callback");
	return ack__read_txn(s, foreach_txn, &a);
}

static int
stat_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	ack_store_info *info = arg;
	MDB_stat st[3];
	MDB_envinfo ei;
	MDB_stat es;
	int rc;

	if ((rc = mdb_stat(txn, s->msg, &st[0])) != 0 ||
	    (rc = mdb_stat(txn, s->rcpt, &st[1])) != 0 ||
	    (rc = mdb_stat(txn, s->event, &st[2])) != 0 ||
	    (rc = mdb_env_info(s->env, &ei)) != 0 ||
	    (rc = mdb_env_stat(s->env, &es)) != 0)
		return ack__mdb_fail(s, "mdb_stat", rc);
	info->messages = st[0].ms_entries;
	info->recipients = st[1].ms_entries;
	info->events = st[2].ms_entries;
	info->map_used = ((uint64_t)ei.me_last_pgno + 1) * es.ms_psize;
	info->map_size = ei.me_mapsize;
	pthread_mutex_lock(&s->qlock);
	info->commits = s->commits;
	info->writes = s->writes;
	pthread_mutex_unlock(&s->qlock);
	return ACK_OK;
}

int
ack_store_stat(ack_store *s, ack_store_info *info)
{
	memset(info, 0, sizeof *info);
	return ack__read_txn(s, stat_txn, info);
}
