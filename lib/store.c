/*
 * store.c - the LMDB receipt store: open and schema check, transactions
 * with map growth, the message/recipient/index/event databases, lookups,
 * iteration and the application of parsed reports.  The on-disk layout is
 * documented in ackmilter-store(5); records are encoded by record.c.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "internal.h"
#include "record.h"

#define MAP_DEFAULT ((size_t)1 << 30)
#if SIZE_MAX > 0xffffffffu
#define MAP_MAX ((size_t)1 << 40) /* growth stops at 1 TiB */
#else
#define MAP_MAX ((size_t)3 << 29) /* 1.5 GiB on 32-bit systems */
#endif
#define KEY_MAX 511  /* LMDB's default maximum key size */
#define DIGEST_LEN 16
#define RCPT_BUF_CAP (1u << 20)

#define ERRLEN 256

typedef int (*txn_fn)(ack_store *s, MDB_txn *txn, void *arg);

/* A write waiting for a group commit (see write_txn). */
struct wreq {
	txn_fn fn;
	void *arg;
	int rc;
	bool done;
	struct wreq *next;
	char err[ERRLEN];
};

struct ack_store {
	MDB_env *env;
	MDB_dbi meta, msg, rcpt, msgid, qid, event, seen;
	unsigned flags;
	char *dir;
	/* Shared by every transaction, exclusive to resize the map. */
	pthread_rwlock_t maplock;
	/* The write queue: qlock guards everything below it. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct wreq *queue, **qtail;
	bool leading; /* a thread is running a batch */
	uint64_t commits, writes;
};

/*
 * Details of the last failure, per thread: threads that share a handle
 * must not see each other's.
 */
static _Thread_local char errbuf[ERRLEN];
#define ERRBUF errbuf, sizeof errbuf

/* ---------------------------------------------------------------- errors */

static int
map_mdb(int rc)
{
	switch (rc) {
	case MDB_MAP_FULL: return ACK_EFULL;
	case MDB_NOTFOUND: return ACK_ENOTFOUND;
	case MDB_KEYEXIST: return ACK_EEXIST;
	case ENOMEM: return ACK_ENOMEM;
	case EIO: case ENOSPC: case EDQUOT: case EROFS: case EACCES:
		errno = rc;
		return ACK_EIO;
	}
	return ACK_ESTORE;
}

/* Remember "what: LMDB message" on the handle and map the code. */
static int
mdb_fail(ack_store *s, const char *what, int rc)
{
	ack__seterr(ERRBUF, "%s: %s", what, mdb_strerror(rc));
	return map_mdb(rc);
}

static int
corrupt(ack_store *s, const char *db, const void *key, size_t klen)
{
	const unsigned char *k = key;
	char shown[61];
	size_t n = klen < sizeof shown - 1 ? klen : sizeof shown - 1;

	for (size_t i = 0; i < n; i++)
		shown[i] = k[i] >= 0x20 && k[i] < 0x7f ? (char)k[i] : '?';
	shown[n] = '\0';
	ack__seterr(ERRBUF,
	    "%s record \"%s\": cannot be decoded", db, shown);
	return ACK_ECORRUPT;
}

/* Status at the end of a cursor loop: ours as is, LMDB's mapped. */
static int
cursor_end(ack_store *s, int rc)
{
	if (rc == 0 || rc == MDB_NOTFOUND)
		return ACK_OK;
	if (rc >= ACK_ENOMEM && rc < ACK_ENOMEM + 100)
		return rc;
	return mdb_fail(s, "mdb_cursor_get", rc);
}

const char *
ack_store_errmsg(const ack_store *s)
{
	return s ? errbuf : "no store";
}

/* ---------------------------------------------------------------- bytes */

static void
be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

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
static size_t
msgid_key(const char *id, char *key)
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
static size_t
qid_key(const char *qid, char *key)
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

/* ---------------------------------------------------------------- txns */

/*
 * Every transaction holds maplock shared: LMDB resizes the map only with
 * no transaction open in the process, which the exclusive lock ensures.
 */
static int
adopt_size(ack_store *s)
{
	int rc;

	/* Another process grew the map: adopt its size. */
	pthread_rwlock_wrlock(&s->maplock);
	rc = mdb_env_set_mapsize(s->env, 0);
	pthread_rwlock_unlock(&s->maplock);
	return rc;
}

static int
txn_begin(ack_store *s, unsigned flags, MDB_txn **txn)
{
	int rc;

	pthread_rwlock_rdlock(&s->maplock);
	rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		pthread_rwlock_unlock(&s->maplock);
		if ((rc = adopt_size(s)) != 0)
			return mdb_fail(s, "mdb_env_set_mapsize", rc);
		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&s->maplock);
		return mdb_fail(s, "mdb_txn_begin", rc);
	}
	return ACK_OK;
}

static void
txn_abort(ack_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->maplock);
}

static int
txn_commit(ack_store *s, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);

	pthread_rwlock_unlock(&s->maplock);
	return rc ? mdb_fail(s, "mdb_txn_commit", rc) : ACK_OK;
}

static int
grow(ack_store *s)
{
	MDB_envinfo info;
	size_t next;
	int rc = ACK_EFULL;

	pthread_rwlock_wrlock(&s->maplock);
	if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize < MAP_MAX) {
		next = info.me_mapsize > MAP_MAX / 2 ? MAP_MAX : info.me_mapsize * 2;
		rc = mdb_env_set_mapsize(s->env, next);
		rc = rc ? mdb_fail(s, "mdb_env_set_mapsize", rc) : ACK_OK;
	}
	pthread_rwlock_unlock(&s->maplock);
	return rc;
}

/* Give every request of a batch that has not failed yet the status rc. */
static void
batch_fail(struct wreq *batch, int rc)
{
	for (struct wreq *r = batch; r != NULL; r = r->next)
		if (r->rc == ACK_OK) {
			r->rc = rc;
			ack__seterr(r->err, sizeof r->err, "%s", errbuf);
		}
}

/* One request of a batch, in its own nested transaction. */
static void
batch_one(ack_store *s, MDB_txn *parent, struct wreq *r)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, parent, 0, &txn)) != 0) {
		r->rc = mdb_fail(s, "mdb_txn_begin (nested)", rc);
	} else if ((r->rc = r->fn(s, txn, r->arg)) != ACK_OK) {
		mdb_txn_abort(txn);
	} else if ((rc = mdb_txn_commit(txn)) != 0) {
		r->rc = mdb_fail(s, "mdb_txn_commit (nested)", rc);
	}
	if (r->rc != ACK_OK)
		ack__seterr(r->err, sizeof r->err, "%s", errbuf);
}

/*
 * Run a batch in one write transaction and one durable commit.  A lone
 * request runs in the transaction itself; several run each in a nested
 * one, so that one failing (a known token, say) does not undo the others.
 * ACK_EFULL when any request found the map full: nothing is committed.
 */
static int
batch_once(ack_store *s, struct wreq *batch)
{
	MDB_txn *txn;
	bool full = false;
	int rc;

	for (struct wreq *r = batch; r != NULL; r = r->next)
		r->rc = ACK_OK;
	if ((rc = txn_begin(s, 0, &txn)) != ACK_OK) {
		batch_fail(batch, rc);
		return rc;
	}
	if (batch->next == NULL) {
		if ((batch->rc = batch->fn(s, txn, batch->arg)) != ACK_OK)
			ack__seterr(batch->err, sizeof batch->err, "%s", errbuf);
	} else {
		for (struct wreq *r = batch; r != NULL; r = r->next)
			batch_one(s, txn, r);
	}
	for (struct wreq *r = batch; r != NULL; r = r->next)
		full |= r->rc == ACK_EFULL;
	if (full || (batch->next == NULL && batch->rc != ACK_OK)) {
		txn_abort(s, txn);
		return full ? ACK_EFULL : batch->rc;
	}
	if ((rc = txn_commit(s, txn)) != ACK_OK)
		batch_fail(batch, rc);
	return rc;
}

/* Run a batch; on a full map grow it once and run it again.  Committed? */
static bool
batch_run(ack_store *s, struct wreq *batch)
{
	int rc = batch_once(s, batch);

	if (rc == ACK_EFULL && grow(s) == ACK_OK)
		rc = batch_once(s, batch);
	return rc == ACK_OK;
}

/* With qlock held: take a batch off the queue, run it, release its callers. */
static void
lead(ack_store *s)
{
	struct wreq *batch = s->queue, *next;
	uint64_t n = 0;
	bool committed;

	if (s->flags & ACK_STORE_NOGROUP) {
		s->queue = batch->next;
		batch->next = NULL;
	} else {
		s->queue = NULL;
	}
	if (s->queue == NULL)
		s->qtail = &s->queue;
	s->leading = true;
	pthread_mutex_unlock(&s->qlock);
	committed = batch_run(s, batch);
	pthread_mutex_lock(&s->qlock);
	for (struct wreq *r = batch; r != NULL; r = next) {
		next = r->next;
		n += r->rc == ACK_OK;
		r->done = true;
	}
	s->commits += committed;
	s->writes += n;
	s->leading = false;
	pthread_cond_broadcast(&s->qcond);
}

/*
 * Run fn in a durable write transaction; return once it is committed.
 * Group commit: a caller queues its request; the first to find no batch
 * running leads: it takes the whole queue (one request with
 * ACK_STORE_NOGROUP), runs it in one transaction and commits once, while
 * the requests that arrive meanwhile wait for the next batch.
 */
static int
write_txn(ack_store *s, txn_fn fn, void *arg)
{
	struct wreq r = { .fn = fn, .arg = arg };

	if (s->flags & ACK_STORE_RDONLY) {
		ack__seterr(ERRBUF, "%s: store opened read-only", s->dir);
		return ACK_EINVAL;
	}
	pthread_mutex_lock(&s->qlock);
	*s->qtail = &r;
	s->qtail = &r.next;
	while (!r.done) {
		if (s->leading)
			pthread_cond_wait(&s->qcond, &s->qlock);
		else
			lead(s);
	}
	pthread_mutex_unlock(&s->qlock);
	if (r.rc != ACK_OK)
		ack__seterr(ERRBUF, "%s", r.err);
	return r.rc;
}

/* Run fn in a read transaction. */
static int
read_txn(ack_store *s, txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc;

	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	rc = fn(s, txn, arg);
	txn_abort(s, txn);
	return rc;
}

/* ---------------------------------------------------------------- open */

static int
prepare_dir(const char *dir, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	char path[4096];

	if ((flags & ACK_STORE_CREATE) && !(flags & ACK_STORE_RDONLY) &&
	    mkdir(dir, 0750) != 0 && errno != EEXIST) {
		ack__seterr(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return ACK_EIO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ack__seterr(err, errlen, "%s: no such store directory", dir);
		return ACK_ENOTFOUND;
	}
	if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path) {
		ack__seterr(err, errlen, "%s: path too long", dir);
		return ACK_EINVAL;
	}
	if ((!(flags & ACK_STORE_CREATE) || (flags & ACK_STORE_RDONLY)) &&
	    stat(path, &st) != 0) {
		ack__seterr(err, errlen, "%s: no store here (no data.mdb)", dir);
		return ACK_ENOTFOUND;
	}
	return ACK_OK;
}

static int
not_ours(ack_store *s)
{
	ack__seterr(ERRBUF, "%s: not an ackmilter store", s->dir);
	return ACK_ESCHEMA;
}

static int
check_schema(ack_store *s, MDB_txn *txn)
{
	MDB_val k = { 6, (void *)"schema" }, v;
	const unsigned char *p;
	uint32_t ver;

	if (mdb_dbi_open(txn, "meta", 0, &s->meta) != 0 ||
	    mdb_get(txn, s->meta, &k, &v) != 0 || v.mv_size != 4)
		return not_ours(s);
	p = v.mv_data;
	ver = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (ver != ACK_STORE_SCHEMA) {
		ack__seterr(ERRBUF,
		    "%s: store schema version %u, this ackmilter reads %d", s->dir,
		    (unsigned)ver, ACK_STORE_SCHEMA);
		return ACK_ESCHEMA;
	}
	return ACK_OK;
}

static int
open_dbs(ack_store *s, MDB_txn *txn, unsigned cr)
{
	static const struct { const char *name; size_t off; unsigned flags; } dbs[] = {
		{ "meta", offsetof(ack_store, meta), 0 },
		{ "msg", offsetof(ack_store, msg), 0 },
		{ "rcpt", offsetof(ack_store, rcpt), 0 },
		{ "msgid", offsetof(ack_store, msgid), MDB_DUPSORT },
		{ "qid", offsetof(ack_store, qid), MDB_DUPSORT },
		{ "event", offsetof(ack_store, event), 0 },
		{ "seen", offsetof(ack_store, seen), 0 },
	};
	int rc;

	for (size_t i = 0; i < ACK_ARRAY_LEN(dbs); i++) {
		MDB_dbi *dbi = (MDB_dbi *)((char *)s + dbs[i].off);

		rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | cr, dbi);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
			return not_ours(s);
		if (rc != 0)
			return mdb_fail(s, "mdb_dbi_open", rc);
	}
	return ACK_OK;
}

static int
write_meta(ack_store *s, MDB_txn *txn)
{
	unsigned char ver[4] = { 0, 0, 0, ACK_STORE_SCHEMA }, now[8];
	MDB_val k = { 6, (void *)"schema" }, v = { 4, ver };
	int rc;

	be64_put(now, (uint64_t)time(NULL));
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return mdb_fail(s, "mdb_put", rc);
	k = (MDB_val){ 7, (void *)"created" };
	v = (MDB_val){ 8, now };
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return mdb_fail(s, "mdb_put", rc);
	return ACK_OK;
}

/* Is the environment empty (no named database yet)? */
static int
env_fresh(ack_store *s, MDB_txn *txn, bool *fresh)
{
	MDB_dbi main;
	MDB_stat st;
	int rc;

	if ((rc = mdb_dbi_open(txn, NULL, 0, &main)) != 0 ||
	    (rc = mdb_stat(txn, main, &st)) != 0)
		return mdb_fail(s, "mdb_stat", rc);
	*fresh = st.ms_entries == 0;
	return ACK_OK;
}

static int
setup_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	bool fresh = false, rdonly = s->flags & ACK_STORE_RDONLY;
	int rc;

	(void)arg;
	if ((rc = env_fresh(s, txn, &fresh)) != ACK_OK)
		return rc;
	if (fresh && (rdonly || !(s->flags & ACK_STORE_CREATE))) {
		ack__seterr(ERRBUF, "%s: empty store", s->dir);
		return ACK_ENOTFOUND;
	}
	if (!fresh && (rc = check_schema(s, txn)) != ACK_OK)
		return rc;
	if ((rc = open_dbs(s, txn, rdonly ? 0 : MDB_CREATE)) != ACK_OK)
		return rc;
	return fresh ? write_meta(s, txn) : ACK_OK;
}

/* Open the databases (creating them if allowed) and check the schema. */
static int
setup(ack_store *s)
{
	MDB_txn *txn;
	int rc;

	if (!(s->flags & ACK_STORE_RDONLY))
		return write_txn(s, setup_txn, NULL);
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	if ((rc = setup_txn(s, txn, NULL)) != ACK_OK) {
		txn_abort(s, txn);
		return rc;
	}
	/* Committing a read transaction keeps its database handles. */
	return txn_commit(s, txn);
}

static int
env_open(ack_store *s, size_t mapsize)
{
	unsigned fl = MDB_NOTLS | (s->flags & ACK_STORE_RDONLY ? MDB_RDONLY : 0);
	int rc;

	if ((rc = mdb_env_create(&s->env)) != 0)
		return mdb_fail(s, "mdb_env_create", rc);
	if ((rc = mdb_env_set_maxdbs(s->env, 8)) != 0)
		return mdb_fail(s, "mdb_env_set_maxdbs", rc);
	if ((rc = mdb_env_set_mapsize(s->env, mapsize ? mapsize : MAP_DEFAULT)) != 0)
		return mdb_fail(s, "mdb_env_set_mapsize", rc);
	if ((rc = mdb_env_open(s->env, s->dir, fl, 0640)) != 0) {
		ack__seterr(ERRBUF, "mdb_env_open %s: %s",
		    s->dir, mdb_strerror(rc));
		return map_mdb(rc);
	}
	return ACK_OK;
}

static void
locks_init(ack_store *s)
{
	pthread_rwlock_init(&s->maplock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	s->qtail = &s->queue;
}

int
ack_store_open(ack_store **out, const char *dir, unsigned flags,
    size_t mapsize, char *err, size_t errlen)
{
	ack_store *s;
	int rc;

	*out = NULL;
	if (dir == NULL || *dir == '\0') {
		ack__seterr(err, errlen, "no store directory given");
		return ACK_EINVAL;
	}
	if (sodium_init() < 0) {
		ack__seterr(err, errlen, "libsodium cannot be initialised");
		return ACK_EIO;
	}
	if ((rc = prepare_dir(dir, flags, err, errlen)) != ACK_OK)
		return rc;
	s = calloc(1, sizeof *s);
	if (s == NULL || (s->dir = ack__strdup(dir)) == NULL) {
		free(s);
		ack__seterr(err, errlen, "out of memory");
		return ACK_ENOMEM;
	}
	s->flags = flags;
	locks_init(s);
	if ((rc = env_open(s, mapsize)) == ACK_OK)
		rc = setup(s);
	if (rc != ACK_OK) {
		ack__seterr(err, errlen, "%s", errbuf);
		ack_store_close(s);
		return rc;
	}
	*out = s;
	return ACK_OK;
}

void
ack_store_close(ack_store *s)
{
	if (s == NULL)
		return;
	if (s->env)
		mdb_env_close(s->env);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->qlock);
	pthread_rwlock_destroy(&s->maplock);
	free(s->dir);
	free(s);
}

/* ---------------------------------------------------------------- writes */

/* Highest event sequence number in use (0: none). */
static int
last_seq(ack_store *s, MDB_txn *txn, uint64_t *seq)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return ACK_OK;
	}
	if (rc != 0)
		return mdb_fail(s, "mdb_cursor_get", rc);
	if (k.mv_size != 8)
		return corrupt(s, "event", "(key)", 5);
	*seq = be64_get(k.mv_data);
	return ACK_OK;
}

static int
put_raw(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
    const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc = mdb_put(txn, dbi, &k, &v, flags);

	return rc ? mdb_fail(s, "mdb_put", rc) : ACK_OK;
}

/* Append an event with the next sequence number. */
static int
append_event(ack_store *s, MDB_txn *txn, uint64_t *seq, ack_event *e,
    ack_buf *buf)
{
	unsigned char key[8];
	int rc;

	e->seq = ++*seq;
	be64_put(key, e->seq);
	if ((rc = ack__rec_encode_event(buf, e)) != ACK_OK)
		return rc;
	return put_raw(s, txn, s->event, key, 8, buf->data, buf->len, MDB_APPEND);
}

static int
put_rcpt(ack_store *s, MDB_txn *txn, const char *token, const ack_rcpt *r,
    ack_buf *buf, unsigned flags)
{
	char key[KEY_MAX];
	size_t klen = rcpt_key(token, r->address, key);
	int rc;

	if ((rc = ack__rec_encode_rcpt(buf, r)) != ACK_OK)
		return rc;
	return put_raw(s, txn, s->rcpt, key, klen, buf->data, buf->len, flags);
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

	if (a->m->message_id && (klen = msgid_key(a->m->message_id, key)) > 0 &&
	    (rc = put_raw(s, txn, s->msgid, key, klen, a->token, ACK_TOKEN_LEN, 0)))
		return rc;
	if (a->m->queue_id && (klen = qid_key(a->m->queue_id, key)) > 0 &&
	    (rc = put_raw(s, txn, s->qid, key, klen, a->token, ACK_TOKEN_LEN, 0)))
		return rc;
	return ACK_OK;
}

static int
put_recipients(ack_store *s, MDB_txn *txn, struct put_arg *a)
{
	uint64_t seq;
	int rc;

	if ((rc = last_seq(s, txn, &seq)) != ACK_OK)
		return rc;
	for (size_t i = 0; i < a->n; i++) {
		ack_event e = { .time = a->m->submitted, .kind = (char *)"submit",
		    .recipient = a->r[i].address,
		    .action = (char *)ack_dsn_state_name(a->r[i].dsn_state) };

		rc = put_rcpt(s, txn, a->token, &a->r[i], &a->buf, MDB_NOOVERWRITE);
		if (rc == ACK_EEXIST)
			continue; /* the same address twice: keep the first */
		memcpy(e.token, a->token, sizeof e.token);
		if (rc != ACK_OK || (rc = append_event(s, txn, &seq, &e, &a->buf)))
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
	rc = put_raw(s, txn, s->msg, a->token, ACK_TOKEN_LEN, a->buf.data,
	    a->buf.len, MDB_NOOVERWRITE);
	if (rc == ACK_EEXIST)
		ack__seterr(ERRBUF, "%s: token already recorded",
		    a->token);
	if (rc != ACK_OK || (rc = put_indexes(s, txn, a)) != ACK_OK)
		return rc;
	return put_recipients(s, txn, a);
}

static int
bad_arg(ack_store *s, const char *what)
{
	ack__seterr(ERRBUF, "%s", what);
	return ACK_EINVAL;
}

int
ack_store_put(ack_store *s, const ack_msg *m, const ack_rcpt *r, size_t n)
{
	struct put_arg a = { .m = m, .r = r, .n = n };
	int rc;

	if (m == NULL || (n > 0 && r == NULL))
		return bad_arg(s, "ack_store_put: no message");
	if (ack_token_canon(m->token, strlen(m->token), a.token) != ACK_OK)
		return bad_arg(s, "ack_store_put: malformed token");
	for (size_t i = 0; i < n; i++)
		if (r[i].address == NULL)
			return bad_arg(s, "ack_store_put: recipient without address");
	ack_buf_init(&a.buf, RCPT_BUF_CAP);
	rc = write_txn(s, put_txn, &a);
	ack_buf_free(&a.buf);
	return rc;
}

/* ---------------------------------------------------------------- reads */

static int
load_rcpts(ack_store *s, MDB_txn *txn, ack_record *out)
{
	MDB_cursor *c;
	MDB_val k = { ACK_TOKEN_LEN, out->msg.token }, v;
	size_t cap = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->rcpt, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
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
		return corrupt(s, "rcpt", k.mv_data, k.mv_size);
	return cursor_end(s, rc);
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
		return corrupt(s, "msg", k->mv_data, k->mv_size);
	memcpy(out->msg.token, k->mv_data, ACK_TOKEN_LEN);
	if ((rc = load_rcpts(s, txn, out)) != ACK_OK)
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
		return mdb_fail(s, "mdb_get", rc);
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
	return read_txn(s, get_txn, &a);
}

/* ---------------------------------------------------------------- lookup */

/* Submission time of message token (INT64_MIN when absent or unreadable). */
static int64_t
submitted_of(ack_store *s, MDB_txn *txn, const void *token)
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
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		int64_t t;

		/* Skip entries whose message is gone or unreadable. */
		if (v.mv_size != ACK_TOKEN_LEN ||
		    (t = submitted_of(s, txn, v.mv_data)) == INT64_MIN)
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
};

static int
lookup_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct lookup_arg *a = arg;
	char canon[ACK_TOKEN_LEN + 1], key[KEY_MAX];
	MDB_val k = { ACK_TOKEN_LEN, canon }, v;
	int rc;

	if (ack_token_canon(a->what, strlen(a->what), canon) == ACK_OK &&
	    mdb_get(txn, s->msg, &k, &v) == 0) {
		memcpy(a->token, canon, sizeof canon);
		return ACK_OK;
	}
	rc = index_find(s, txn, s->msgid, key, msgid_key(a->what, key), a->token);
	if (rc == ACK_ENOTFOUND)
		rc = index_find(s, txn, s->qid, key, qid_key(a->what, key), a->token);
	if (rc == ACK_ENOTFOUND)
		ack__seterr(ERRBUF,
		    "no message with token, Message-ID or queue id \"%.80s\"", a->what);
	return rc;
}

int
ack_store_lookup(ack_store *s, const char *what, char token[ACK_TOKEN_LEN + 1])
{
	struct lookup_arg a = { what, token };

	if (what == NULL)
		return bad_arg(s, "ack_store_lookup: nothing to look up");
	return read_txn(s, lookup_txn, &a);
}

/* ---------------------------------------------------------------- iterate */

struct iter_arg {
	uint64_t after;
	ack_store_msg_cb mcb;
	ack_store_event_cb ecb;
	void *arg;
};

static int
foreach_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct iter_arg *a = arg;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, stop = 0;

	if ((rc = mdb_cursor_open(txn, s->msg, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ack_record r;

		if ((rc = load_record(s, txn, &k, &v, &r)) != ACK_OK)
			break;
		stop = a->mcb(&r, a->arg);
		ack_record_free(&r);
	}
	mdb_cursor_close(c);
	return cursor_end(s, rc);
}

int
ack_store_foreach(ack_store *s, ack_store_msg_cb cb, void *arg)
{
	struct iter_arg a = { .mcb = cb, .arg = arg };

	if (cb == NULL)
		return bad_arg(s, "ack_store_foreach: no callback");
	return read_txn(s, foreach_txn, &a);
}

static int
event_one(ack_store *s, const MDB_val *k, const MDB_val *v, struct iter_arg *a,
    int *stop)
{
	ack_event e = { .seq = 0 };

	if (k->mv_size != 8 ||
	    ack__rec_decode_event(v->mv_data, v->mv_size, &e) != ACK_OK)
		return corrupt(s, "event", "(seq)", 5);
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
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (; rc == 0 && !stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((rc = event_one(s, &k, &v, a, &stop)) != ACK_OK)
			break;
	mdb_cursor_close(c);
	return cursor_end(s, rc);
}

int
ack_store_events(ack_store *s, uint64_t after, ack_store_event_cb cb, void *arg)
{
	struct iter_arg a = { .after = after, .ecb = cb, .arg = arg };

	if (cb == NULL)
		return bad_arg(s, "ack_store_events: no callback");
	return read_txn(s, events_txn, &a);
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
		return mdb_fail(s, "mdb_stat", rc);
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
	return read_txn(s, stat_txn, info);
}

/* ---------------------------------------------------------------- apply */

struct slot {
	ack_rcpt r;
	bool dirty;
};

struct apply_arg {
	char token[ACK_TOKEN_LEN + 1];
	const ack_report *rep;
	int64_t now;
	ack_apply_result *res;
	struct slot *v;
	size_t n, cap;
	uint64_t seq;
	ack_buf buf;
};

static void
slots_free(struct apply_arg *a)
{
	for (size_t i = 0; i < a->n; i++)
		ack_rcpt_clear(&a->v[i].r);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static struct slot *
slot_new(struct apply_arg *a)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct slot *p = realloc(a->v, cap * sizeof *p);

		if (p == NULL)
			return NULL;
		a->v = p;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof a->v[a->n]);
	return &a->v[a->n++];
}

/* Read the message's recipients into the slots. */
static int
slots_load(ack_store *s, MDB_txn *txn, struct apply_arg *a)
{
	ack_record rec = { .msg = { .submitted = 0 } };
	int rc;

	memcpy(rec.msg.token, a->token, sizeof rec.msg.token);
	if ((rc = load_rcpts(s, txn, &rec)) != ACK_OK) {
		ack_record_free(&rec);
		return rc;
	}
	for (size_t i = 0; i < rec.nrcpt; i++) {
		struct slot *sl = slot_new(a);

		if (sl == NULL) {
			ack_record_free(&rec);
			return ACK_ENOMEM;
		}
		sl->r = rec.rcpt[i];
		memset(&rec.rcpt[i], 0, sizeof rec.rcpt[i]);
	}
	ack_record_free(&rec);
	return ACK_OK;
}

static void
hash_str(crypto_generichash_state *st, const char *v, bool fold)
{
	unsigned char len[4], chunk[256];
	size_t n = v ? strlen(v) : 0;
	uint32_t l = n > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)n;

	if (v == NULL)
		l = UINT32_MAX; /* absent, distinct from empty */
	len[0] = (unsigned char)(l >> 24);
	len[1] = (unsigned char)(l >> 16);
	len[2] = (unsigned char)(l >> 8);
	len[3] = (unsigned char)l;
	crypto_generichash_update(st, len, sizeof len);
	for (size_t i = 0; v && i < l; i += sizeof chunk) {
		size_t m = l - i < sizeof chunk ? l - i : sizeof chunk;

		for (size_t j = 0; j < m; j++)
			chunk[j] = (unsigned char)(fold ? lc(v[i + j]) : v[i + j]);
		crypto_generichash_update(st, chunk, m);
	}
}

/* The identity of one report block (b NULL: the message-level block). */
static void
block_digest(const struct apply_arg *a, const ack_report_rcpt *b,
    unsigned char *out)
{
	static const ack_report_rcpt none;
	const ack_report *r = a->rep;
	crypto_generichash_state st;

	if (b == NULL)
		b = &none;
	crypto_generichash_init(&st, NULL, 0, DIGEST_LEN);
	hash_str(&st, a->token, false);
	hash_str(&st, ack_report_kind_name(r->kind), false);
	hash_str(&st, b->final_recipient, true);
	hash_str(&st, b->action, false);
	hash_str(&st, b->status, false);
	hash_str(&st, b->diagnostic, false);
	hash_str(&st, b->remote_mta, false);
	hash_str(&st, b->disposition, false);
	hash_str(&st, r->original_envelope_id, false);
	hash_str(&st, r->arrival_date, false);
	hash_str(&st, b->last_attempt, false);
	hash_str(&st, r->reporting_mta, false);
	crypto_generichash_final(&st, out, DIGEST_LEN);
}

/* ACK_OK when new (and now recorded), ACK_EEXIST when seen before. */
static int
seen_mark(ack_store *s, MDB_txn *txn, const unsigned char *digest)
{
	return put_raw(s, txn, s->seen, digest, DIGEST_LEN, "", 0, MDB_NOOVERWRITE);
}

/* The address in an ORCPT value "rfc822;addr", or NULL. */
static const char *
orcpt_addr(const char *orcpt)
{
	if (orcpt == NULL || ack__strncasecmp(orcpt, "rfc822;", 7) != 0)
		return NULL;
	orcpt += 7;
	while (*orcpt == ' ' || *orcpt == '\t')
		orcpt++;
	return orcpt;
}

static bool
addr_eq(const char *a, const char *b)
{
	return a && b && ack__strcasecmp(a, b) == 0;
}

static struct slot *
slot_find(struct apply_arg *a, const ack_report_rcpt *b)
{
	for (size_t i = 0; i < a->n; i++) {
		const char *x = a->v[i].r.address, *o = orcpt_addr(a->v[i].r.orcpt);

		if (addr_eq(x, b->final_recipient) || addr_eq(x, b->original_recipient) ||
		    addr_eq(o, b->final_recipient) || addr_eq(o, b->original_recipient))
			return &a->v[i];
	}
	return NULL;
}

/* Find the block's recipient or add it; *sl NULL when the block names none. */
static int
slot_for(struct apply_arg *a, const ack_report_rcpt *b, struct slot **sl)
{
	const char *addr = b->final_recipient;

	if (addr == NULL)
		addr = b->original_recipient;
	if ((*sl = slot_find(a, b)) != NULL || addr == NULL || *addr == '\0')
		return ACK_OK;
	if (a->rep->kind == ACK_KIND_AUTOREPLY)
		return ACK_OK; /* an auto-reply's sender is no recipient to add */
	if ((*sl = slot_new(a)) == NULL)
		return ACK_ENOMEM;
	if (((*sl)->r.address = ack__strdup(addr)) == NULL) {
		a->n--;
		*sl = NULL;
		return ACK_ENOMEM;
	}
	(*sl)->dirty = true;
	a->res->added++;
	return ACK_OK;
}

/* Set *dst to a copy of src; *changed when the value differs. */
static int
set_str(char **dst, const char *src, bool *changed)
{
	char *p = NULL;

	if (str_eq(*dst, src))
		return ACK_OK;
	if (src && (p = ack__strdup(src)) == NULL)
		return ACK_ENOMEM;
	free(*dst);
	*dst = p;
	*changed = true;
	return ACK_OK;
}

static int
apply_dsn(ack_rcpt *r, const ack_report_rcpt *b, int64_t now, bool *changed)
{
	int st = b->action ? ack_dsn_state_parse(b->action, strlen(b->action)) : -1;
	int rc;

	if (st < 0 || (st == ACK_DSN_DELAYED && ack_dsn_state_final(r->dsn_state)))
		return ACK_OK;
	if (r->dsn_state != st)
		*changed = true;
	r->dsn_state = st;
	r->dsn_updated = now;
	if ((rc = set_str(&r->dsn_status, b->status, changed)) != ACK_OK ||
	    (rc = set_str(&r->dsn_diagnostic, b->diagnostic, changed)) != ACK_OK ||
	    (rc = set_str(&r->dsn_reason, b->reason, changed)) != ACK_OK)
		return rc;
	return set_str(&r->dsn_remote_mta, b->remote_mta, changed);
}

static int
apply_mdn(ack_rcpt *r, const ack_report_rcpt *b, int64_t now, bool *changed)
{
	int st = b->action ? ack_mdn_state_parse(b->action, strlen(b->action)) : -1;

	if (st < 0)
		return ACK_OK;
	if (r->mdn_state != st)
		*changed = true;
	r->mdn_state = st;
	r->mdn_updated = now;
	return set_str(&r->mdn_disposition, b->disposition, changed);
}

/* Update the recipient's state from one block, per the report's kind. */
static int
apply_state(struct apply_arg *a, struct slot *sl, const ack_report_rcpt *b)
{
	int kind = a->rep->kind, rc = ACK_OK;
	bool changed = false;

	if (kind == ACK_KIND_DSN || kind == ACK_KIND_BOUNCE)
		rc = apply_dsn(&sl->r, b, a->now, &changed);
	else if (kind == ACK_KIND_MDN)
		rc = apply_mdn(&sl->r, b, a->now, &changed);
	else
		return ACK_OK;
	sl->dirty = true;
	if (changed)
		a->res->updated++;
	return rc;
}

static int
block_event(ack_store *s, MDB_txn *txn, struct apply_arg *a,
    const ack_report_rcpt *b, const struct slot *sl)
{
	const char *kind = ack_report_kind_name(a->rep->kind);
	ack_event e = {
		.time = a->now,
		.recipient = sl ? sl->r.address : NULL,
		.kind = (char *)(kind ? kind : "unknown"),
		.action = b ? b->action : a->rep->feedback_type,
		.status = b ? b->status : NULL,
		.detail = b ? (b->diagnostic ? b->diagnostic : b->disposition) : NULL,
	};
	int rc;

	memcpy(e.token, a->token, sizeof e.token);
	if ((rc = append_event(s, txn, &a->seq, &e, &a->buf)) == ACK_OK)
		a->res->events++;
	return rc;
}

/* One recipient block (NULL: the message-level block of a report without
 * recipient blocks). */
static int
apply_block(ack_store *s, MDB_txn *txn, struct apply_arg *a,
    const ack_report_rcpt *b)
{
	unsigned char digest[DIGEST_LEN];
	struct slot *sl = NULL;
	int rc;

	block_digest(a, b, digest);
	if ((rc = seen_mark(s, txn, digest)) == ACK_EEXIST) {
		a->res->duplicate++;
		return ACK_OK;
	}
	if (rc != ACK_OK)
		return rc;
	if (b && (rc = slot_for(a, b, &sl)) != ACK_OK)
		return rc;
	if (sl && (rc = apply_state(a, sl, b)) != ACK_OK)
		return rc;
	return block_event(s, txn, a, b, sl);
}

static int
apply_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct apply_arg *a = arg;
	MDB_val k = { ACK_TOKEN_LEN, a->token }, v;
	int rc;

	memset(a->res, 0, sizeof *a->res);
	slots_free(a);
	if ((rc = mdb_get(txn, s->msg, &k, &v)) == MDB_NOTFOUND) {
		ack__seterr(ERRBUF, "%s: no such message", a->token);
		return ACK_ENOTFOUND;
	}
	if (rc != 0)
		return mdb_fail(s, "mdb_get", rc);
	if ((rc = slots_load(s, txn, a)) != ACK_OK ||
	    (rc = last_seq(s, txn, &a->seq)) != ACK_OK)
		return rc;
	if (a->rep->nrcpt == 0)
		rc = apply_block(s, txn, a, NULL);
	for (size_t i = 0; rc == ACK_OK && i < a->rep->nrcpt; i++)
		rc = apply_block(s, txn, a, &a->rep->rcpt[i]);
	for (size_t i = 0; rc == ACK_OK && i < a->n; i++)
		if (a->v[i].dirty)
			rc = put_rcpt(s, txn, a->token, &a->v[i].r, &a->buf, 0);
	return rc;
}

int
ack_store_apply(ack_store *s, const char *token, const struct ack_report *r,
    int64_t now, ack_apply_result *res)
{
	struct apply_arg a = { .rep = r, .now = now, .res = res };
	int rc;

	memset(res, 0, sizeof *res);
	if (r == NULL || (r->nrcpt > 0 && r->rcpt == NULL))
		return bad_arg(s, "ack_store_apply: no report");
	if (token == NULL ||
	    ack_token_canon(token, strlen(token), a.token) != ACK_OK) {
		ack__seterr(ERRBUF, "ack_store_apply: not a token");
		return ACK_ENOTFOUND;
	}
	ack_buf_init(&a.buf, RCPT_BUF_CAP);
	rc = write_txn(s, apply_txn, &a);
	slots_free(&a);
	ack_buf_free(&a.buf);
	return rc;
}

/* ================================================================ ackctl support: events of a message, purge */

/* ---------------------------------------------------------------- events of one message */

int
ack_store_last_event(ack_store *s, uint64_t *seq)
{
	MDB_txn *txn;
	int rc;

	*seq = 0;
	if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	rc = last_seq(s, txn, seq);
	txn_abort(s, txn);
	return rc;
}

/*
 * The token field of a raw event record, without decoding the rest: the
 * event log is scanned for one message's events, and this is its hot loop.
 */
static const unsigned char *
event_token_at(const MDB_val *v)
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

static bool
event_token_is(const MDB_val *v, const char *token)
{
	const unsigned char *t = event_token_at(v);

	return t != NULL && memcmp(t, token, ACK_TOKEN_LEN) == 0;
}

/* The time field of a raw event record (INT64_MIN when unreadable). */
static int64_t
event_time_of(const MDB_val *v)
{
	const unsigned char *p = v->mv_data;
	size_t n = v->mv_size, i = 3;

	while (n >= 3 && i + 3 <= n) {
		size_t len = (size_t)p[i + 1] << 8 | p[i + 2];

		if (i + 3 + len > n)
			break;
		if (p[i] == ACK_TAG_EV_TIME && len == 8)
			return (int64_t)be64_get(p + i + 3);
		if (p[i] > ACK_TAG_EV_TIME)
			return 0; /* absent: zero */
		i += 3 + len;
	}
	return INT64_MIN;
}

/* The time of the first event at or after seq (INT64_MAX past the end). */
static int64_t
time_at(MDB_cursor *c, uint64_t seq, uint64_t *found)
{
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	int64_t t;

	be64_put(key, seq);
	if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) != 0 || k.mv_size != 8)
		return INT64_MAX;
	*found = be64_get(k.mv_data);
	t = event_time_of(&v);
	return t == INT64_MIN ? 0 : t;
}

/*
 * The first sequence number worth scanning for events at or after time t:
 * a binary search over the log, which is in time order but for small
 * disorder (concurrent writers, clocks); the caller allows a margin.
 */
static uint64_t
seq_from_time(MDB_cursor *c, uint64_t last, int64_t t)
{
	uint64_t lo = 1, hi = last + 1, found;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		found = mid;
		if (time_at(c, mid, &found) < t)
			lo = found + 1;
		else
			hi = mid;
	}
	return lo;
}

struct msg_events_arg {
	char token[ACK_TOKEN_LEN + 1];
	ack_store_event_cb cb;
	void *arg;
	int64_t when[64]; /* the times the store keeps for the message */
	size_t nwhen;
	uint64_t last_seen;
};

#define EVENT_MARGIN 3600 /* clock disorder tolerated in the log */
#define EVENT_RUN 512     /* later events in a row that end a window */

static int
cmp_time(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Submission time and each recipient's last DSN and MDN update. */
static int
known_times(ack_store *s, MDB_txn *txn, struct msg_events_arg *a)
{
	ack_record rec = { .msg = { .submitted = 0 } };
	int rc;

	a->when[a->nwhen++] = submitted_of(s, txn, a->token);
	memcpy(rec.msg.token, a->token, sizeof rec.msg.token);
	if ((rc = load_rcpts(s, txn, &rec)) != ACK_OK) {
		ack_record_free(&rec);
		return rc;
	}
	for (size_t i = 0; i < rec.nrcpt && a->nwhen + 2 <= 64; i++) {
		if (rec.rcpt[i].dsn_updated)
			a->when[a->nwhen++] = rec.rcpt[i].dsn_updated;
		if (rec.rcpt[i].mdn_updated)
			a->when[a->nwhen++] = rec.rcpt[i].mdn_updated;
	}
	ack_record_free(&rec);
	qsort(a->when, a->nwhen, sizeof a->when[0], cmp_time);
	return ACK_OK;
}

/* The message's events recorded within [lo, hi] (plus the margin). */
static int
scan_window(ack_store *s, MDB_cursor *c, struct msg_events_arg *a,
    uint64_t last, int64_t lo, int64_t hi, int *stop)
{
	struct iter_arg ia = { .ecb = a->cb, .arg = a->arg };
	unsigned char key[8];
	MDB_val k = { 8, key }, v;
	uint64_t from = seq_from_time(c, last, lo - EVENT_MARGIN);
	unsigned beyond = 0;
	int rc;

	be64_put(key, from > a->last_seen ? from : a->last_seen + 1);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (; rc == 0 && !*stop; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		int64_t t = event_time_of(&v);

		/* Past the window: stop after a run of later events, not at the
		 * first one (an event out of order must not end the scan). */
		if (t != INT64_MIN && t > hi + EVENT_MARGIN) {
			if (++beyond >= EVENT_RUN)
				break;
		} else {
			beyond = 0;
		}
		a->last_seen = k.mv_size == 8 ? be64_get(k.mv_data) : a->last_seen;
		if (event_token_is(&v, a->token) &&
		    (rc = event_one(s, &k, &v, &ia, stop)) != ACK_OK)
			break;
	}
	return cursor_end(s, rc);
}

static int
msg_events_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct msg_events_arg *a = arg;
	MDB_cursor *c;
	uint64_t last;
	int rc, stop = 0;

	if (submitted_of(s, txn, a->token) == INT64_MIN) {
		ack__seterr(ERRBUF, "%s: no such message", a->token);
		return ACK_ENOTFOUND;
	}
	if ((rc = known_times(s, txn, a)) != ACK_OK ||
	    (rc = last_seq(s, txn, &last)) != ACK_OK || last == 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
	for (size_t i = 0; rc == ACK_OK && !stop && i < a->nwhen; ) {
		int64_t lo = a->when[i], hi = lo;

		/* Merge the times whose windows overlap. */
		while (++i < a->nwhen && a->when[i] - hi <= 2 * EVENT_MARGIN)
			hi = a->when[i];
		rc = scan_window(s, c, a, last, lo, hi, &stop);
	}
	mdb_cursor_close(c);
	return rc;
}

int
ack_store_message_events(ack_store *s, const char *token,
    ack_store_event_cb cb, void *arg)
{
	struct msg_events_arg a = { .cb = cb, .arg = arg };

	if (cb == NULL)
		return bad_arg(s, "ack_store_message_events: no callback");
	if (token == NULL ||
	    ack_token_canon(token, strlen(token), a.token) != ACK_OK) {
		ack__seterr(ERRBUF, "not a token");
		return ACK_ENOTFOUND;
	}
	return read_txn(s, msg_events_txn, &a);
}

/* ---------------------------------------------------------------- purge */

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
	t = submitted_of(s, txn, token);
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
		return mdb_fail(s, "mdb_cursor_open", rc);
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
	return cursor_end(s, rc);
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
			return mdb_fail(s, "mdb_cursor_open", rc);
		rc = mdb_cursor_get(c, &k, &v, MDB_GET_BOTH);
		mdb_cursor_close(c);
	} else {
		rc = mdb_del(txn, dbi, &k, &v);
	}
	if (rc == 0)
		a->batch.index++;
	return rc == 0 || rc == MDB_NOTFOUND ? ACK_OK : mdb_fail(s, "mdb_del", rc);
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
	    msgid_key(m->message_id, key), token)) != ACK_OK)
		return rc;
	if (m->queue_id && (rc = purge_index(s, txn, a, s->qid, key,
	    qid_key(m->queue_id, key), token)) != ACK_OK)
		return rc;
	a->batch.messages++;
	if (!a->dry && (rc = mdb_del(txn, s->msg, &k, NULL)) != 0)
		return mdb_fail(s, "mdb_del", rc);
	return ACK_OK;
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

/* Collect up to PURGE_BATCH message tokens to purge, from one scan. */
static int
collect_msgs(ack_store *s, MDB_txn *txn, struct purge_arg *a, ack_buf *tokens)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->msg, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = scan_start(c, a, &k, &v);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ack_msg m = { .submitted = 0 };

		if (k.mv_size != ACK_TOKEN_LEN || n >= PURGE_BATCH ||
		    a->batch_seen >= PURGE_SCAN)
			break;
		a->batch_seen++;
		memcpy(a->next, k.mv_data, ACK_TOKEN_LEN);
		a->next_len = ACK_TOKEN_LEN;
		if (ack__rec_decode_msg(v.mv_data, v.mv_size, &m) != ACK_OK)
			continue; /* leave what cannot be read */
		if (m.submitted < a->before) {
			rc = ack_buf_add(tokens, k.mv_data, ACK_TOKEN_LEN);
			n++;
		}
		ack__msg_clear(&m);
		if (rc != ACK_OK)
			break;
	}
	mdb_cursor_close(c);
	a->batch_done = rc == MDB_NOTFOUND;
	return cursor_end(s, rc);
}

static int
purge_msgs_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct purge_arg *a = arg;
	ack_buf tokens;
	int rc;

	memset(&a->batch, 0, sizeof a->batch);
	a->batch_seen = 0;
	ack_buf_init(&tokens, 0);
	rc = collect_msgs(s, txn, a, &tokens);
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

/* Collect up to PURGE_BATCH event keys to delete. */
static int
collect_events(ack_store *s, MDB_txn *txn, struct purge_arg *a, ack_buf *keys)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t last;
	size_t n = 0;
	int rc;

	if ((rc = last_seq(s, txn, &last)) != ACK_OK)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return mdb_fail(s, "mdb_cursor_open", rc);
	rc = scan_start(c, a, &k, &v);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *tok;

		if (k.mv_size != 8 || n >= PURGE_BATCH || a->batch_seen >= PURGE_SCAN)
			break;
		a->batch_seen++;
		memcpy(a->next, k.mv_data, 8);
		a->next_len = 8;
		/* The last event stays: new events number on from it. */
		if (be64_get(k.mv_data) == last)
			continue;
		tok = event_token_at(&v);
		if (tok == NULL || !purgeable(s, txn, a, tok))
			continue;
		if ((rc = ack_buf_add(keys, k.mv_data, 8)) != ACK_OK)
			break;
		n++;
	}
	mdb_cursor_close(c);
	a->batch_done = rc == MDB_NOTFOUND;
	return cursor_end(s, rc);
}

static int
purge_events_txn(ack_store *s, MDB_txn *txn, void *arg)
{
	struct purge_arg *a = arg;
	ack_buf keys;
	int rc;

	memset(&a->batch, 0, sizeof a->batch);
	a->batch_seen = 0;
	a->have_last = false;
	ack_buf_init(&keys, 0);
	rc = collect_events(s, txn, a, &keys);
	for (size_t i = 0; rc == ACK_OK && i < keys.len; i += 8) {
		MDB_val k = { 8, keys.data + i };
		int mrc = a->dry ? 0 : mdb_del(txn, s->event, &k, NULL);

		if (mrc != 0 && mrc != MDB_NOTFOUND)
			rc = mdb_fail(s, "mdb_del", mrc);
		else
			a->batch.events++;
	}
	ack_buf_free(&keys);
	return rc;
}

/* Run one phase (messages or events) in bounded transactions. */
static int
purge_phase(ack_store *s, struct purge_arg *a, txn_fn fn)
{
	int rc;

	a->resume_len = 0;
	do {
		a->next_len = a->resume_len;
		memcpy(a->next, a->resume, a->resume_len);
		rc = a->dry ? read_txn(s, fn, a) : write_txn(s, fn, a);
		if (rc != ACK_OK)
			return rc;
		a->res->messages += a->batch.messages;
		a->res->recipients += a->batch.recipients;
		a->res->index += a->batch.index;
		a->res->events += a->batch.events;
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
		return bad_arg(s, "ack_store_purge: store opened read-only");
	if ((rc = ack_store_stat(s, &info)) != ACK_OK)
		return rc;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return ACK_ENOMEM;
	*a = (struct purge_arg){ .before = before, .dry = dry_run, .cb = cb,
	    .cbarg = arg, .res = res, .total = info.messages + info.events };
	rc = purge_phase(s, a, purge_msgs_txn);
	if (rc == ACK_OK)
		rc = purge_phase(s, a, purge_events_txn);
	free(a);
	return rc;
}
