/*
 * store_txn.c - transactions of the receipt store: the map lock, map
 * growth, and group commit (concurrent writes share one durable commit).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <lmdb.h>

#include "internal.h"
#include "store.h"

#if SIZE_MAX > 0xffffffffu
#define MAP_MAX ((size_t)1 << 40) /* growth stops at 1 TiB */
#else
#define MAP_MAX ((size_t)3 << 29) /* 1.5 GiB on 32-bit systems */
#endif

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

int
ack__txn_begin(ack_store *s, unsigned flags, MDB_txn **txn)
{
	int rc;

	pthread_rwlock_rdlock(&s->maplock);
	rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		pthread_rwlock_unlock(&s->maplock);
		if ((rc = adopt_size(s)) != 0)
			return ack__mdb_fail(s, "mdb_env_set_mapsize", rc);
		pthread_rwlock_rdlock(&s->maplock);
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&s->maplock);
		return ack__mdb_fail(s, "mdb_txn_begin", rc);
	}
	return ACK_OK;
}

void
ack__txn_abort(ack_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->maplock);
}

int
ack__txn_commit(ack_store *s, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);

	pthread_rwlock_unlock(&s->maplock);
	return rc ? ack__mdb_fail(s, "mdb_txn_commit", rc) : ACK_OK;
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
		rc = rc ? ack__mdb_fail(s, "mdb_env_set_mapsize", rc) : ACK_OK;
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
			ack__seterr(r->err, sizeof r->err, "%s", ack__errbuf);
		}
}

/* One request of a batch, in its own nested transaction. */
static void
batch_one(ack_store *s, MDB_txn *parent, struct wreq *r)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, parent, 0, &txn)) != 0) {
		r->rc = ack__mdb_fail(s, "mdb_txn_begin (nested)", rc);
	} else if ((r->rc = r->fn(s, txn, r->arg)) != ACK_OK) {
		mdb_txn_abort(txn);
	} else if ((rc = mdb_txn_commit(txn)) != 0) {
		r->rc = ack__mdb_fail(s, "mdb_txn_commit (nested)", rc);
	}
	if (r->rc != ACK_OK)
		ack__seterr(r->err, sizeof r->err, "%s", ack__errbuf);
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
	if ((rc = ack__txn_begin(s, 0, &txn)) != ACK_OK) {
		batch_fail(batch, rc);
		return rc;
	}
	if (batch->next == NULL) {
		if ((batch->rc = batch->fn(s, txn, batch->arg)) != ACK_OK)
			ack__seterr(batch->err, sizeof batch->err, "%s", ack__errbuf);
	} else {
		for (struct wreq *r = batch; r != NULL; r = r->next)
			batch_one(s, txn, r);
	}
	for (struct wreq *r = batch; r != NULL; r = r->next)
		full |= r->rc == ACK_EFULL;
	if (full || (batch->next == NULL && batch->rc != ACK_OK)) {
		ack__txn_abort(s, txn);
		return full ? ACK_EFULL : batch->rc;
	}
	if ((rc = ack__txn_commit(s, txn)) != ACK_OK)
		batch_fail(batch, rc);
	return rc;
}

void
ack_store_set_commit_delay(ack_store *s, unsigned usec)
{
	pthread_mutex_lock(&s->qlock);
	s->delay_us = usec < 1000000 ? usec : 999999;
	pthread_mutex_unlock(&s->qlock);
}

void
ack_store_expect(ack_store *s, int delta)
{
	pthread_mutex_lock(&s->qlock);
	s->expected += delta;
	if (s->expected < 0)
		s->expected = 0;
	if (s->leading) /* one writer less to wait for */
		pthread_cond_signal(&s->qarrive);
	pthread_mutex_unlock(&s->qlock);
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

/*
 * With qlock held, before a batch: when other writers were announced
 * (ack_store_expect) and have not queued yet, wait up to the commit delay
 * for them, so that they share this commit instead of each paying for
 * one.  A lone writer never waits.
 */
static void
gather(ack_store *s)
{
	struct timespec until;

	if (s->delay_us == 0 || s->expected < 2 || (long)s->queued >= s->expected)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)s->delay_us * 1000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while ((long)s->queued < s->expected &&
	    pthread_cond_timedwait(&s->qarrive, &s->qlock, &until) == 0)
		;
}

/* With qlock held: take a batch off the queue, run it, release its callers. */
static void
lead(ack_store *s)
{
	struct wreq *batch, *next;
	uint64_t n = 0;
	bool committed;

	s->leading = true;
	if (!(s->flags & ACK_STORE_NOGROUP))
		gather(s);
	batch = s->queue;
	if (s->flags & ACK_STORE_NOGROUP) {
		s->queue = batch->next;
		batch->next = NULL;
		s->queued--;
	} else {
		s->queue = NULL;
		s->queued = 0;
	}
	if (s->queue == NULL)
		s->qtail = &s->queue;
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
int
ack__write_txn(ack_store *s, txn_fn fn, void *arg)
{
	struct wreq r = { .fn = fn, .arg = arg };

	if (s->flags & ACK_STORE_RDONLY) {
		ack__seterr(ERRBUF, "%s: store opened read-only", s->dir);
		return ACK_EINVAL;
	}
	pthread_mutex_lock(&s->qlock);
	*s->qtail = &r;
	s->qtail = &r.next;
	s->queued++;
	if (s->leading) /* it may be gathering */
		pthread_cond_signal(&s->qarrive);
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
int
ack__read_txn(ack_store *s, txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc;

	if ((rc = ack__txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	rc = fn(s, txn, arg);
	ack__txn_abort(s, txn);
	return rc;
}
