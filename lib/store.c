/*
 * store.c - the LMDB receipt store: errors, opening the environment (schema
 * check, databases, the token index of old stores) and closing it.  The
 * other store*.c files hold transactions (store_txn.c), messages
 * (store_msg.c), reports (store_apply.c), events (store_events.c) and
 * purge (store_purge.c); store.h what they share.  The on-disk layout is
 * documented in ackmilter-store(5); records are encoded by record.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "internal.h"
#include "record.h"
#include "store.h"

#define MAP_DEFAULT ((size_t)1 << 30)

_Thread_local char ack__errbuf[ERRLEN];

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
int
ack__mdb_fail(ack_store *s, const char *what, int rc)
{
	ack__seterr(ERRBUF, "%s: %s", what, mdb_strerror(rc));
	return map_mdb(rc);
}

int
ack__corrupt(ack_store *s, const char *db, const void *key, size_t klen)
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
int
ack__cursor_end(ack_store *s, int rc)
{
	if (rc == 0 || rc == MDB_NOTFOUND)
		return ACK_OK;
	if (rc >= ACK_ENOMEM && rc < ACK_ENOMEM + 100)
		return rc;
	return ack__mdb_fail(s, "mdb_cursor_get", rc);
}

int
ack__bad_arg(ack_store *s, const char *what)
{
	ack__seterr(ERRBUF, "%s", what);
	return ACK_EINVAL;
}

const char *
ack_store_errmsg(const ack_store *s)
{
	return s ? ack__errbuf : "no store";
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
			return ack__mdb_fail(s, "mdb_dbi_open", rc);
	}
	return ACK_OK;
}

/* Index every event of the log under its token (a store made before
 * "evtok" existed, opened read-write for the first time since). */
static int
evtok_fill(ack_store *s, MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->event, &c)) != 0)
		return ack__mdb_fail(s, "mdb_cursor_open", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const unsigned char *tok = ack__event_token_at(&v);
		MDB_val ik = { ACK_TOKEN_LEN, (void *)tok }, iv = k;

		if (tok == NULL || k.mv_size != 8)
			continue; /* unreadable: the log scan never found it either */
		if ((rc = mdb_put(txn, s->evtok, &ik, &iv, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return ack__cursor_end(s, rc);
}

/*
 * The token -> event index, added after the first stores were made: a
 * read-write open creates (and fills) it when missing; a read-only one
 * goes without, and message events then scan the whole log.
 */
static int
open_evtok(ack_store *s, MDB_txn *txn, bool rdonly)
{
	int rc = mdb_dbi_open(txn, "evtok", MDB_DUPSORT, &s->evtok);

	s->has_evtok = rc == 0;
	if (rc == MDB_NOTFOUND && rdonly)
		return ACK_OK;
	if (rc == MDB_NOTFOUND) {
		rc = mdb_dbi_open(txn, "evtok", MDB_DUPSORT | MDB_CREATE, &s->evtok);
		if (rc == 0) {
			s->has_evtok = true;
			return evtok_fill(s, txn);
		}
	}
	if (rc == MDB_INCOMPATIBLE)
		return not_ours(s);
	return rc ? ack__mdb_fail(s, "mdb_dbi_open", rc) : ACK_OK;
}

static int
write_meta(ack_store *s, MDB_txn *txn)
{
	unsigned char ver[4] = { 0, 0, 0, ACK_STORE_SCHEMA }, now[8];
	MDB_val k = { 6, (void *)"schema" }, v = { 4, ver };
	int rc;

	be64_put(now, (uint64_t)time(NULL));
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return ack__mdb_fail(s, "mdb_put", rc);
	k = (MDB_val){ 7, (void *)"created" };
	v = (MDB_val){ 8, now };
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return ack__mdb_fail(s, "mdb_put", rc);
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
		return ack__mdb_fail(s, "mdb_stat", rc);
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
	if ((rc = open_dbs(s, txn, rdonly ? 0 : MDB_CREATE)) != ACK_OK ||
	    (rc = open_evtok(s, txn, rdonly)) != ACK_OK)
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
		return ack__write_txn(s, setup_txn, NULL);
	if ((rc = ack__txn_begin(s, MDB_RDONLY, &txn)) != ACK_OK)
		return rc;
	if ((rc = setup_txn(s, txn, NULL)) != ACK_OK) {
		ack__txn_abort(s, txn);
		return rc;
	}
	/* Committing a read transaction keeps its database handles. */
	return ack__txn_commit(s, txn);
}

/*
 * A reader registers in lock.mdb, so it needs write access to it: give the
 * store's group that (0660, from the 0640 it was created with), so that
 * its members can read the store (ackctl) while data.mdb stays 0640.  A
 * mode an administrator chose is left alone; a failure only costs them.
 */
static void
lock_file_group_rw(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof path, "%s/lock.mdb", dir) < sizeof path &&
	    stat(path, &st) == 0 && (st.st_mode & 07777) == 0640)
		(void)chmod(path, 0660);
}

static int
env_open(ack_store *s, size_t mapsize)
{
	unsigned fl = MDB_NOTLS | (s->flags & ACK_STORE_RDONLY ? MDB_RDONLY : 0);
	int rc;

	if ((rc = mdb_env_create(&s->env)) != 0)
		return ack__mdb_fail(s, "mdb_env_create", rc);
	if ((rc = mdb_env_set_maxdbs(s->env, 8)) != 0)
		return ack__mdb_fail(s, "mdb_env_set_maxdbs", rc);
	if ((rc = mdb_env_set_mapsize(s->env, mapsize ? mapsize : MAP_DEFAULT)) != 0)
		return ack__mdb_fail(s, "mdb_env_set_mapsize", rc);
	if ((rc = mdb_env_open(s->env, s->dir, fl, 0640)) != 0) {
		ack__seterr(ERRBUF, "mdb_env_open %s: %s",
		    s->dir, mdb_strerror(rc));
		return map_mdb(rc);
	}
	if (!(s->flags & ACK_STORE_RDONLY))
		lock_file_group_rw(s->dir);
	return ACK_OK;
}

static void
locks_init(ack_store *s)
{
	pthread_condattr_t ca;

	pthread_rwlock_init(&s->maplock, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->qarrive, &ca);
	pthread_condattr_destroy(&ca);
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
		ack__seterr(err, errlen, "%s", ack__errbuf);
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
	pthread_cond_destroy(&s->qarrive);
	pthread_mutex_destroy(&s->qlock);
	pthread_rwlock_destroy(&s->maplock);
	free(s->dir);
	free(s);
}
