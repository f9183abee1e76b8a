/*
 * store.h - internals shared by the files of the LMDB receipt store
 * (store*.c): the handle, the transaction helpers with group commit, error
 * reporting, key and byte helpers.  Not installed.  The on-disk layout is
 * documented in ackmilter-store(5).
 */
#ifndef ACK_STORE_H
#define ACK_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "internal.h"

#define KEY_MAX 511  /* LMDB's default maximum key size */
#define SEEN_KEY_LEN 16 /* a report digest in "seen" (store_apply.c) */
#define RCPT_BUF_CAP (1u << 20)

#define ERRLEN 256

typedef int (*txn_fn)(ack_store *s, MDB_txn *txn, void *arg);

/* A write waiting for a group commit (see ack__write_txn). */
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
	MDB_dbi meta, msg, rcpt, msgid, qid, event, seen, evtok;
	bool has_evtok; /* false: a read-only store made before the index */
	unsigned flags;
	char *dir;
	/* Shared by every transaction, exclusive to resize the map. */
	pthread_rwlock_t maplock;
	/* The write queue: qlock guards everything below it. */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	pthread_cond_t qarrive; /* a request was queued (see gather) */
	struct wreq *queue, **qtail;
	size_t queued;      /* requests in queue */
	long expected;      /* writers announced (ack_store_expect) */
	unsigned delay_us;  /* see ack_store_set_commit_delay */
	bool leading; /* a thread is running a batch */
	uint64_t commits, writes;
};

/*
 * Details of the last failure, per thread: threads that share a handle
 * must not see each other's.
 */
extern _Thread_local char ack__errbuf[ERRLEN];
#define ERRBUF ack__errbuf, sizeof ack__errbuf

struct iter_arg {
	uint64_t after;
	ack_store_msg_cb mcb;
	ack_store_event_cb ecb;
	void *arg;
};

/* ---------------------------------------------------------------- bytes */

static inline void
be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static inline uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* store.c: errors */
int ack__mdb_fail(ack_store *s, const char *what, int rc);
int ack__corrupt(ack_store *s, const char *db, const void *key, size_t klen);
int ack__cursor_end(ack_store *s, int rc);
int ack__bad_arg(ack_store *s, const char *what);

/* store_txn.c: transactions, group commit */
int ack__txn_begin(ack_store *s, unsigned flags, MDB_txn **txn);
void ack__txn_abort(ack_store *s, MDB_txn *txn);
int ack__txn_commit(ack_store *s, MDB_txn *txn);
int ack__write_txn(ack_store *s, txn_fn fn, void *arg);
int ack__read_txn(ack_store *s, txn_fn fn, void *arg);

/* store_msg.c: keys, records */
size_t ack__msgid_key(const char *id, char *key);
size_t ack__qid_key(const char *qid, char *key);
int ack__put_raw(ack_store *s, MDB_txn *txn, MDB_dbi dbi, const void *key,
    size_t klen, const void *val, size_t vlen, unsigned flags);
int ack__put_rcpt(ack_store *s, MDB_txn *txn, const char *token,
    const ack_rcpt *r, ack_buf *buf, unsigned flags);
int ack__load_rcpts(ack_store *s, MDB_txn *txn, ack_record *out);
int64_t ack__submitted_of(ack_store *s, MDB_txn *txn, const void *token);

/* store_events.c: the event log and its token index */
const unsigned char *ack__event_token_at(const MDB_val *v);
int ack__last_seq(ack_store *s, MDB_txn *txn, uint64_t *seq);
int ack__append_event(ack_store *s, MDB_txn *txn, uint64_t *seq, ack_event *e,
    ack_buf *buf);

#endif
