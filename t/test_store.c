/*
 * test_store.c - unit tests of the LMDB receipt store (lib/store.c) and
 * its record encoding (lib/record.c), in a fresh temporary directory.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "ackmilter.h"
#include "record.h"
#include "tap.h"

static char topdir[256];

/* ---------------------------------------------------------------- helpers */

/* A syntactically valid token (version 1) numbered n. */
static void
make_token(unsigned n, char *out)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

	memcpy(out, "ae", 2);
	for (int i = 2; i < ACK_TOKEN_LEN; i++) {
		out[i] = b32[(n ^ (unsigned)(i * 7)) & 31];
		if (i >= 30)
			out[i] = b32[(n >> ((i - 30) * 5 % 30)) & 31];
	}
	out[ACK_TOKEN_LEN] = '\0';
}

static void
store_path(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", topdir, name);
}

static ack_store *
open_store(const char *name, unsigned flags, size_t mapsize)
{
	char dir[512], err[256] = "";
	ack_store *s = NULL;
	int rc;

	store_path(name, dir, sizeof dir);
	rc = ack_store_open(&s, dir, flags, mapsize, err, sizeof err);
	if (rc != ACK_OK)
		printf("# open %s: %s (%s)\n", dir, ack_strerror(rc), err);
	return s;
}

/* Raw LMDB access to a closed store: put key/val into database db. */
static int
raw_put(const char *name, const char *db, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	char dir[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc;

	store_path(name, dir, sizeof dir);
	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 8);
	if ((rc = mdb_env_open(env, dir, 0, 0640)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi)) == 0 &&
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* ---------------------------------------------------------------- round trip */

static char *bigdiag;

static void
fill_rcpts(ack_rcpt *r)
{
	memset(r, 0, 3 * sizeof *r);
	r[0] = (ack_rcpt){
		.address = (char *)"alice@example.org",
		.orcpt = (char *)"rfc822;Alice@Example.ORG",
		.notify = ACK_NOTIFY_SUCCESS | ACK_NOTIFY_FAILURE,
		.dsn_state = ACK_DSN_PENDING,
		.dsn_status = (char *)"4.0.0",
		.dsn_refined_status = (char *)"4.4.1",
		.dsn_diagnostic = bigdiag,
		.dsn_remote_mta = (char *)"dns; mx.example.org",
		.dsn_reason = (char *)"mailbox",
		.dsn_hard = ACK_HARD_NO,
		.dsn_updated = -5,
		.mdn_state = ACK_MDN_PENDING,
		.mdn_disposition = (char *)"manual-action/MDN-sent-manually; displayed",
		.mdn_updated = INT64_MAX,
	};
	r[1] = (ack_rcpt){ .address = (char *)"Bob@Example.org" };
	r[2] = (ack_rcpt){ .address = (char *)"c\xc3\xa9line@example.org",
		.notify = ACK_NOTIFY_NEVER, .dsn_state = ACK_DSN_NONE,
		.dsn_status = (char *)"" };
}

static void
fill_msg(ack_msg *m, unsigned n, const char *msgid, int64_t submitted)
{
	memset(m, 0, sizeof *m);
	make_token(n, m->token);
	m->message_id = (char *)msgid;
	m->sender = (char *)"s\xc3\xa9nder\xff@example.org";
	m->queue_id = (char *)"4XyZ1";
	m->submitted = submitted;
	m->flags = ACK_MSG_RET_FULL | ACK_MSG_MDN_REQ | ACK_MSG_AUTH;
}

static void
check_rcpt(const ack_rcpt *got, const ack_rcpt *want, const char *what)
{
	is_str(got->address, want->address, "%s: address", what);
	is_str(got->orcpt, want->orcpt, "%s: orcpt", what);
	is_int(got->notify, want->notify, "%s: notify", what);
	is_int(got->dsn_state, want->dsn_state, "%s: dsn_state", what);
	is_str(got->dsn_status, want->dsn_status, "%s: dsn_status", what);
	is_str(got->dsn_refined_status, want->dsn_refined_status,
	    "%s: dsn_refined_status", what);
	is_str(got->dsn_remote_mta, want->dsn_remote_mta, "%s: remote_mta", what);
	is_str(got->dsn_reason, want->dsn_reason, "%s: reason", what);
	is_int(got->dsn_hard, want->dsn_hard, "%s: hard", what);
	is_int(got->dsn_updated, want->dsn_updated, "%s: dsn_updated", what);
	is_int(got->mdn_state, want->mdn_state, "%s: mdn_state", what);
	is_str(got->mdn_disposition, want->mdn_disposition, "%s: disposition", what);
	is_int(got->mdn_updated, want->mdn_updated, "%s: mdn_updated", what);
}

static void
test_roundtrip(ack_store *s)
{
	ack_msg m;
	ack_rcpt r[3];
	ack_record rec;

	fill_msg(&m, 1, "<abc@example.org>", 1764137264);
	fill_rcpts(r);
	is_int(ack_store_put(s, &m, r, 3), ACK_OK, "put");
	is_int(ack_store_put(s, &m, r, 3), ACK_EEXIST, "second put: EEXIST");
	ok(strstr(ack_store_errmsg(s), m.token) != NULL, "errmsg names the token: %s",
	    ack_store_errmsg(s));
	is_int(ack_store_get(s, m.token, &rec), ACK_OK, "get");
	is_str(rec.msg.token, m.token, "token");
	is_str(rec.msg.message_id, m.message_id, "message_id");
	is_str(rec.msg.sender, m.sender, "sender with 8-bit bytes");
	is_str(rec.msg.queue_id, "4XyZ1", "queue_id");
	is_int(rec.msg.submitted, 1764137264, "submitted");
	is_int(rec.msg.flags, m.flags, "flags");
	is_int(rec.nrcpt, 3, "three recipients");
	if (rec.nrcpt == 3) {
		/* key order: lowercase addresses */
		check_rcpt(&rec.rcpt[0], &r[0], "rcpt alice");
		check_rcpt(&rec.rcpt[1], &r[1], "rcpt Bob (NULL fields)");
		check_rcpt(&rec.rcpt[2], &r[2], "rcpt 8-bit");
		is_int(strlen(rec.rcpt[0].dsn_diagnostic), ACK_REC_STRMAX,
		    "70000-byte diagnostic truncated to 65535");
		ok(memcmp(rec.rcpt[0].dsn_diagnostic, bigdiag, ACK_REC_STRMAX) == 0,
		    "truncated diagnostic is a prefix");
		ok(rec.rcpt[1].dsn_diagnostic == NULL, "absent diagnostic is NULL");
	}
	ack_record_free(&rec);
	ok(rec.rcpt == NULL && rec.msg.sender == NULL, "record freed and zeroed");
	is_int(ack_store_get(s, "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &rec),
	    ACK_ENOTFOUND, "get unknown token");
	is_int(ack_store_get(s, "garbage", &rec), ACK_ENOTFOUND, "get non-token");
}

/* ---------------------------------------------------------------- lookup */

static void
test_lookup(ack_store *s)
{
	static const struct {
		const char *name, *what;
		unsigned n; /* expected token number, 0: not found */
	} cases[] = {
		{ "msgid with <>", "<abc@example.org>", 1 },
		{ "msgid without <>", "abc@example.org", 1 },
		{ "msgid with blanks", "  <abc@example.org>\r\n", 1 },
		{ "queue id", "4XyZ1", 1 },
		{ "msgid, other case", "<ABC@example.org>", 0 },
		{ "unknown", "nope", 0 },
		{ "empty", "", 0 },
		{ "dup msgid: latest", "<dup@example.org>", 3 }, /* of 2, 3, 4 */
		{ "dup msgid without <>", "dup@example.org", 3 },
	};
	char tok[ACK_TOKEN_LEN + 1], want[ACK_TOKEN_LEN + 1], upper[ACK_TOKEN_LEN + 1];
	ack_msg m;
	ack_rcpt r = { .address = (char *)"x@y" };

	fill_msg(&m, 2, "dup@example.org", 2000);
	m.queue_id = NULL;
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "put dup 1");
	fill_msg(&m, 3, "<dup@example.org>", 3000);
	m.queue_id = NULL;
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "put dup 2 (latest)");
	fill_msg(&m, 4, " <dup@example.org>", 1000);
	m.queue_id = NULL;
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "put dup 3 (oldest)");

	make_token(1, want);
	is_int(ack_store_lookup(s, want, tok), ACK_OK, "lookup by token");
	is_str(tok, want, "token found");
	for (int i = 0; i < ACK_TOKEN_LEN + 1; i++)
		upper[i] = want[i] >= 'a' && want[i] <= 'z' ? (char)(want[i] - 32) : want[i];
	is_int(ack_store_lookup(s, upper, tok), ACK_OK, "lookup by uppercase token");
	is_str(tok, want, "uppercase token canonicalised");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = ack_store_lookup(s, cases[i].what, tok);

		is_int(rc, cases[i].n ? ACK_OK : ACK_ENOTFOUND, "lookup %s",
		    cases[i].name);
		if (cases[i].n && rc == ACK_OK) {
			make_token(cases[i].n, want);
			is_str(tok, want, "lookup %s: token", cases[i].name);
		}
	}
}

/* ---------------------------------------------------------------- events */

struct evlist {
	uint64_t seq[64];
	char kind[64][16];
	char action[64][16];
	bool has_rcpt[64];
	size_t n;
	size_t stop_after;
};

static int
collect(const ack_event *e, void *arg)
{
	struct evlist *l = arg;

	if (l->n < 64) {
		l->seq[l->n] = e->seq;
		snprintf(l->kind[l->n], sizeof l->kind[0], "%s", e->kind ? e->kind : "");
		snprintf(l->action[l->n], sizeof l->action[0], "%s",
		    e->action ? e->action : "");
		l->has_rcpt[l->n] = e->recipient != NULL;
	}
	l->n++;
	return l->stop_after && l->n >= l->stop_after;
}

static void
test_submit_events(ack_store *s)
{
	struct evlist l = { .n = 0 };
	bool inc = true;

	is_int(ack_store_events(s, 0, collect, &l), ACK_OK, "events");
	is_int(l.n, 6, "one submit event per recipient (3 + 1 + 1 + 1)");
	for (size_t i = 0; i < l.n && i < 64; i++)
		inc = inc && l.seq[i] == i + 1;
	ok(inc, "sequence numbers 1, 2, ...");
	is_str(l.kind[0], "submit", "kind submit");
	is_str(l.action[0], "pending", "action = dsn state name");
	is_str(l.action[1], "none", "action none");
	l = (struct evlist){ .n = 0 };
	is_int(ack_store_events(s, 4, collect, &l), ACK_OK, "events after 4");
	ok(l.n == 2 && l.seq[0] == 5, "events after 4: 5 and 6");
	l = (struct evlist){ .stop_after = 2 };
	is_int(ack_store_events(s, 0, collect, &l), ACK_OK, "events, stop early");
	is_int(l.n, 2, "callback stops the iteration");
	l = (struct evlist){ .n = 0 };
	is_int(ack_store_events(s, UINT64_MAX, collect, &l), ACK_OK, "events after max");
	is_int(l.n, 0, "none after UINT64_MAX");
}

static int
count_msgs(const ack_record *r, void *arg)
{
	(*(size_t *)arg) += 1 + r->nrcpt * 100;
	return 0;
}

static void
test_foreach_stat(ack_store *s)
{
	size_t n = 0;
	ack_store_info info;

	is_int(ack_store_foreach(s, count_msgs, &n), ACK_OK, "foreach");
	is_int(n, 4 + 600, "foreach: 4 messages, 6 recipients");
	is_int(ack_store_stat(s, &info), ACK_OK, "stat");
	ok(info.messages == 4 && info.recipients == 6 && info.events == 6,
	    "stat counts %llu/%llu/%llu", (unsigned long long)info.messages,
	    (unsigned long long)info.recipients, (unsigned long long)info.events);
	ok(info.map_used > 0 && info.map_used <= info.map_size, "stat map usage");
}

/* ---------------------------------------------------------------- read-only */

/* Wait for the writer, open read-only, read, then read the writer's next commit. */
static int
child_reader(const char *tok1, const char *tok2, int in, int out)
{
	ack_store *s = NULL;
	ack_record rec;
	ack_msg m;
	char c = 'r';
	int fails = 0;

	if (read(in, &c, 1) != 1 || (s = open_store("ro", ACK_STORE_RDONLY, 0)) == NULL)
		return 2;
	fails += ack_store_get(s, tok1, &rec) != ACK_OK;
	ack_record_free(&rec);
	fill_msg(&m, 99, NULL, 1);
	fails += ack_store_put(s, &m, NULL, 0) != ACK_EINVAL;
	if (write(out, &c, 1) != 1 || read(in, &c, 1) != 1)
		fails++;
	/* The writer committed tok2 meanwhile: a new read txn sees it. */
	fails += ack_store_get(s, tok2, &rec) != ACK_OK;
	ack_record_free(&rec);
	ack_store_close(s);
	return fails ? 1 : 0;
}

static void file_modes(const char *name);

/* The reader is forked before the writer opens, so it inherits no handle. */
static void
test_readonly(void)
{
	int p1[2], p2[2], status = -1;
	ack_msg m1, m2;
	ack_rcpt r = { .address = (char *)"ro@example.org" };
	ack_store *w;
	pid_t pid;
	char c;

	fill_msg(&m1, 10, NULL, 10);
	fill_msg(&m2, 11, NULL, 11);
	if (pipe(p1) != 0 || pipe(p2) != 0)
		return;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		close(p1[0]);
		close(p2[1]);
		_exit(child_reader(m1.token, m2.token, p2[0], p1[1]));
	}
	close(p1[1]);
	close(p2[0]);
	w = open_store("ro", ACK_STORE_CREATE, 0);
	ok(w != NULL, "open writer");
	if (w != NULL) {
		is_int(ack_store_put(w, &m1, &r, 1), ACK_OK, "writer put 1");
		ok(write(p2[1], "g", 1) == 1, "start reader");
		ok(read(p1[0], &c, 1) == 1, "reader opened and read");
		is_int(ack_store_put(w, &m2, &r, 1), ACK_OK, "writer put 2 while reader open");
	}
	ok(write(p2[1], "w", 1) == 1, "tell reader");
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "read-only open, get, put refused, sees later commit (status %d)", status);
	close(p1[0]);
	close(p2[1]);
	ack_store_close(w);
	file_modes("ro");
}

/* The files a writer created: data.mdb 0640, lock.mdb 0660 (a reader of
 * the store's group registers in it); a mode set by hand is kept. */
static void
file_modes(const char *name)
{
	char dir[512], data[600], lock[600];
	struct stat st;
	ack_store *s;

	store_path(name, dir, sizeof dir);
	snprintf(data, sizeof data, "%s/data.mdb", dir);
	snprintf(lock, sizeof lock, "%s/lock.mdb", dir);
	if (stat(data, &st) != 0)
		st.st_mode = 0;
	is_int(st.st_mode & 07777, 0640, "data.mdb mode 0640");
	if (stat(lock, &st) != 0)
		st.st_mode = 0;
	is_int(st.st_mode & 07777, 0660, "lock.mdb mode 0660");
	ok(chmod(lock, 0600) == 0, "lock.mdb set to 0600 by hand");
	s = open_store(name, 0, 0);
	ok(s != NULL && stat(lock, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "a writer keeps lock.mdb 0600 set by hand");
	ack_store_close(s);
}

/* ---------------------------------------------------------------- errors */

static void
test_open_errors(void)
{
	static const unsigned char v2[4] = { 0, 0, 0, 2 };
	char dir[512], err[256] = "";
	ack_store *s = NULL;

	store_path("absent", dir, sizeof dir);
	is_int(ack_store_open(&s, dir, ACK_STORE_RDONLY, 0, err, sizeof err),
	    ACK_ENOTFOUND, "read-only open of a missing store");
	ok(s == NULL && err[0] != '\0', "with a message: %s", err);
	is_int(ack_store_open(&s, dir, 0, 0, err, sizeof err), ACK_ENOTFOUND,
	    "open without CREATE of a missing store");
	mkdir(dir, 0750);
	is_int(ack_store_open(&s, dir, ACK_STORE_RDONLY, 0, err, sizeof err),
	    ACK_ENOTFOUND, "read-only open of an empty directory");

	s = open_store("schema", ACK_STORE_CREATE, 0);
	ok(s != NULL, "create store for the schema test");
	ack_store_close(s);
	is_int(raw_put("schema", "meta", "schema", 6, v2, 4), 0, "raw put schema 2");
	store_path("schema", dir, sizeof dir);
	is_int(ack_store_open(&s, dir, 0, 0, err, sizeof err), ACK_ESCHEMA,
	    "schema 2: ACK_ESCHEMA");
	ok(strstr(err, "store schema version 2, this ackmilter reads 1") != NULL,
	    "message: %s", err);
	is_int(ack_store_open(&s, dir, ACK_STORE_RDONLY, 0, err, sizeof err),
	    ACK_ESCHEMA, "schema 2, read-only: ACK_ESCHEMA");

	store_path("foreign", dir, sizeof dir);
	mkdir(dir, 0750);
	is_int(raw_put("foreign", "other", "k", 1, "v", 1), 0, "foreign LMDB store");
	is_int(ack_store_open(&s, dir, ACK_STORE_CREATE, 0, err, sizeof err),
	    ACK_ESCHEMA, "foreign store: ACK_ESCHEMA");
	ok(strstr(err, "not an ackmilter store") != NULL, "message: %s", err);
}

static void
test_corrupt(void)
{
	static const unsigned char garbage[] = { 'A', 'M', 1, 3, 0xff, 0xff, 'x' };
	char tok[ACK_TOKEN_LEN + 1], tok2[ACK_TOKEN_LEN + 1], gone[ACK_TOKEN_LEN + 1];
	char key[80];
	ack_store *s = open_store("corrupt", ACK_STORE_CREATE, 0);
	ack_record rec;
	ack_msg m;
	ack_rcpt r = { .address = (char *)"a@b" };
	size_t n = 0;

	ok(s != NULL, "open store for corruption");
	if (s == NULL)
		return;
	fill_msg(&m, 20, NULL, 1);
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "put a good record");
	ack_store_close(s);
	make_token(21, tok);
	is_int(raw_put("corrupt", "msg", tok, ACK_TOKEN_LEN, garbage, sizeof garbage),
	    0, "raw put garbage message");
	make_token(20, tok2);
	snprintf(key, sizeof key, "%s%s", tok2, "a@b");
	is_int(raw_put("corrupt", "rcpt", key, strlen(key), "AR\001\001\000", 5), 0,
	    "raw put truncated recipient");
	is_int(raw_put("corrupt", "msgid", "<dangling@x>", 12, tok2, ACK_TOKEN_LEN), 0,
	    "raw put index entry of a good message");
	make_token(22, gone);
	is_int(raw_put("corrupt", "msgid", "<dangling@x>", 12, gone, ACK_TOKEN_LEN), 0,
	    "raw put index entry of a missing message");
	is_int(raw_put("corrupt", "qid", "GONE1", 5, gone, ACK_TOKEN_LEN), 0,
	    "raw put queue id of a missing message");
	s = open_store("corrupt", 0, 0);
	ok(s != NULL, "reopen");
	if (s == NULL)
		return;
	is_int(ack_store_lookup(s, "dangling@x", key), ACK_OK, "lookup skips a dangling entry");
	is_str(key, tok2, "and finds the good one");
	is_int(ack_store_lookup(s, "GONE1", key), ACK_ENOTFOUND,
	    "lookup of a queue id whose message is gone");
	if (s == NULL)
		return;
	is_int(ack_store_get(s, tok, &rec), ACK_ECORRUPT, "get garbage: ACK_ECORRUPT");
	ok(rec.rcpt == NULL && rec.msg.sender == NULL, "nothing returned");
	ok(strstr(ack_store_errmsg(s), "cannot be decoded") != NULL, "errmsg: %s",
	    ack_store_errmsg(s));
	is_int(ack_store_get(s, tok2, &rec), ACK_ECORRUPT, "get bad recipient: ACK_ECORRUPT");
	is_int(ack_store_foreach(s, count_msgs, &n), ACK_ECORRUPT, "foreach: ACK_ECORRUPT");
	ack_store_close(s);
}

static void
test_map_full(void)
{
	ack_store *s = open_store("full", ACK_STORE_CREATE, 64 * 1024);
	ack_rcpt r[40];
	char addr[40][32], *diag = malloc(60000);
	int ok_puts = 0, full = 0, other = 0, readable = 0;
	ack_store_info info;
	ack_record rec;
	ack_msg m;

	ok(s != NULL && diag != NULL, "open tiny store");
	if (s == NULL || diag == NULL) {
		free(diag);
		ack_store_close(s);
		return;
	}
	memset(diag, 'd', 59999);
	diag[59999] = '\0';
	for (int i = 0; i < 40; i++) {
		snprintf(addr[i], sizeof addr[i], "r%d@example.org", i);
		r[i] = (ack_rcpt){ .address = addr[i], .dsn_diagnostic = diag };
	}
	/* 40 x 60 kB at once cannot fit in one doubling of a 64 kB map. */
	fill_msg(&m, 200, NULL, 1);
	is_int(ack_store_put(s, &m, r, 40), ACK_EFULL, "huge put: ACK_EFULL");
	ok(strstr(ack_store_errmsg(s), "MDB_MAP_FULL") != NULL, "errmsg: %s",
	    ack_store_errmsg(s));
	is_int(ack_store_get(s, m.token, &rec), ACK_ENOTFOUND, "nothing of it stored");
	for (unsigned i = 0; i < 12; i++) {
		int rc;

		fill_msg(&m, 100 + i, NULL, i);
		rc = ack_store_put(s, &m, r, 2);
		ok_puts += rc == ACK_OK;
		full += rc == ACK_EFULL;
		other += rc != ACK_OK && rc != ACK_EFULL;
	}
	ok(ok_puts > 0 && other == 0, "small puts: %d ok, %d full, %d other", ok_puts,
	    full, other);
	is_int(ack_store_stat(s, &info), ACK_OK, "stat");
	ok(info.map_size > 64 * 1024, "map grew to %llu", (unsigned long long)info.map_size);
	for (unsigned i = 0; i < 12; i++) {
		make_token(100 + i, m.token);
		if (ack_store_get(s, m.token, &rec) == ACK_OK && rec.nrcpt == 2)
			readable++;
		ack_record_free(&rec);
	}
	is_int(readable, ok_puts, "earlier records still readable");
	free(diag);
	ack_store_close(s);
}

/* ---------------------------------------------------------------- decoder */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Decode p[0..n) as each record type from an exact-size heap copy. */
static bool
decode_all(const unsigned char *p, size_t n)
{
	unsigned char *copy = malloc(n ? n : 1);
	ack_msg m = { .flags = 0 };
	ack_rcpt r = { .notify = 0 };
	ack_event e = { .seq = 0 };
	int rc[3];

	memcpy(copy, p, n);
	rc[0] = ack__rec_decode_msg(copy, n, &m);
	rc[1] = ack__rec_decode_rcpt(copy, n, &r);
	rc[2] = ack__rec_decode_event(copy, n, &e);
	ack__msg_clear(&m);
	ack_rcpt_clear(&r);
	ack_event_clear(&e);
	free(copy);
	for (int i = 0; i < 3; i++)
		if (rc[i] != ACK_OK && rc[i] != ACK_ECORRUPT)
			return false;
	return true;
}

static void
test_decoder(void)
{
	static const unsigned char extra[] = { 200, 0, 3, 'x', 'y', 'z' };
	static const unsigned char bad_int[] = { 'A', 'R', 1, 3, 0, 7, 1, 2, 3, 4, 5, 6, 7 };
	static const unsigned char bad_ver[] = { 'A', 'R', 2 };
	static const unsigned char bad_tok[] = { 'A', 'E', 1, 2, 0, 41 };
	/* a failed recipient as the release before tag 14 wrote it: address,
	 * dsn_state 6, dsn_status 5.0.0, dsn_reason, dsn_hard 1 */
	static const unsigned char old_rec[] = { 'A', 'R', 1,
		1, 0, 5, 'a', '@', 'b', '.', 'c',
		4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 6,
		5, 0, 5, '5', '.', '0', '.', '0',
		8, 0, 11, 'u', 's', 'e', 'r', 'u', 'n', 'k', 'n', 'o', 'w', 'n',
		13, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1 };
	ack_rcpt r[3], got = { .notify = 0 };
	ack_msg m = { .flags = 0 };
	ack_event e = { .seq = 0 };
	ack_buf b;
	bool all = true;
	int okc = 0;

	fill_rcpts(r);
	r[0].dsn_diagnostic = (char *)"550 5.1.1 no such user";
	ack_buf_init(&b, 0);
	is_int(ack__rec_encode_rcpt(&b, &r[0]), ACK_OK, "encode recipient");
	for (size_t n = 0; n < b.len; n++) {
		all = all && decode_all((const unsigned char *)b.data, n);
		okc += ack__rec_decode_rcpt(b.data, n, &got) == ACK_OK;
		ack_rcpt_clear(&got);
	}
	ok(all, "every truncation decodes to OK or ECORRUPT");
	ok(okc > 1 && okc < (int)b.len / 2, "only field boundaries decode (%d)", okc);
	is_int(ack_buf_add(&b, extra, sizeof extra), ACK_OK, "append unknown tag");
	is_int(ack__rec_decode_rcpt(b.data, b.len, &got), ACK_OK, "unknown tag skipped");
	is_str(got.dsn_status, "4.0.0", "fields intact after unknown tag");
	is_int(got.dsn_hard, ACK_HARD_NO, "hard/soft (tag 13) decoded");
	is_str(got.dsn_refined_status, "4.4.1", "refined status (tag 14) decoded");
	ack_rcpt_clear(&got);
	r[0].dsn_hard = ACK_HARD_UNKNOWN; /* as a record written before tag 13 */
	is_int(ack__rec_encode_rcpt(&b, &r[0]), ACK_OK, "encode without hard/soft");
	ok(ack__rec_decode_rcpt(b.data, b.len, &got) == ACK_OK &&
	    got.dsn_hard == ACK_HARD_UNKNOWN && strcmp(got.dsn_reason, "mailbox") == 0,
	    "a record without tag 13 reads: hard unknown");
	ack_rcpt_clear(&got);
	is_int(ack__rec_decode_rcpt(old_rec, sizeof old_rec, &got), ACK_OK,
	    "a record written before tag 14 decodes");
	ok(got.dsn_refined_status == NULL && got.dsn_hard == ACK_HARD_YES &&
	    got.dsn_status && strcmp(got.dsn_status, "5.0.0") == 0 &&
	    got.dsn_reason && strcmp(got.dsn_reason, "userunknown") == 0,
	    "a record without tag 14 reads: no refined status, the rest intact");
	ack_rcpt_clear(&got);
	is_int(ack__rec_decode_rcpt(bad_int, sizeof bad_int, &got), ACK_ECORRUPT,
	    "7-byte integer rejected");
	is_int(ack__rec_decode_rcpt(bad_ver, sizeof bad_ver, &got), ACK_ECORRUPT,
	    "version 2 rejected");
	is_int(ack__rec_decode_msg(bad_ver, sizeof bad_ver, &m), ACK_ECORRUPT,
	    "wrong type rejected");
	is_int(ack__rec_decode_event(bad_tok, sizeof bad_tok, &e), ACK_ECORRUPT,
	    "overlong field rejected");
	ok(e.token[0] == '\0' && m.message_id == NULL, "nothing left behind");
	ack_buf_free(&b);

	all = true;
	for (int i = 0; i < 10000; i++) {
		unsigned char buf[300];
		size_t n = rnd() % sizeof buf;

		for (size_t j = 0; j < n; j++)
			buf[j] = (unsigned char)rnd();
		if (n >= 3 && (i & 1)) {
			buf[0] = 'A';
			buf[1] = "MRE"[rnd() % 3];
			buf[2] = 1;
			for (size_t j = 3; j + 2 < n; j += 3 + (rnd() % 12)) {
				buf[j] = (unsigned char)(rnd() % 14); /* known tags */
				buf[j + 1] = 0;
				buf[j + 2] = (unsigned char)(rnd() % 12);
			}
		}
		all = all && decode_all(buf, n);
	}
	ok(all, "10,000 random records decode to OK or ECORRUPT");
}

/* ---------------------------------------------------------------- apply */

static ack_report_rcpt
block(const char *final, const char *action, const char *status, const char *diag)
{
	return (ack_report_rcpt){ .final_recipient = (char *)final,
		.action = (char *)action, .status = (char *)status,
		.diagnostic = (char *)diag, .remote_mta = (char *)"mx.example.net" };
}

static int
apply1(ack_store *s, const char *tok, int kind, ack_report_rcpt b, int64_t now,
    ack_apply_result *res)
{
	ack_report rep = { .kind = kind, .reporting_mta = (char *)"mta.example.org",
		.rcpt = &b, .nrcpt = 1 };

	return ack_store_apply(s, tok, &rep, now, res);
}

static const ack_rcpt *
find_rcpt(const ack_record *rec, const char *addr)
{
	for (size_t i = 0; i < rec->nrcpt; i++)
		if (strcmp(rec->rcpt[i].address, addr) == 0)
			return &rec->rcpt[i];
	return NULL;
}

/* The DSN state of addr in message tok (-1: no such recipient). */
static int
dsn_of(ack_store *s, const char *tok, const char *addr, ack_rcpt *copy)
{
	ack_record rec;
	const ack_rcpt *r;
	int st = -1;

	if (ack_store_get(s, tok, &rec) != ACK_OK)
		return -2;
	if ((r = find_rcpt(&rec, addr)) != NULL) {
		st = r->dsn_state;
		if (copy) {
			*copy = *r;
			*(ack_rcpt *)r = (ack_rcpt){ .notify = 0 };
		}
	}
	ack_record_free(&rec);
	return st;
}

static void
apply_setup(ack_store *s, char *tok)
{
	ack_rcpt r[3] = {
		{ .address = (char *)"a@x.org", .notify = 7, .dsn_state = ACK_DSN_PENDING,
		  .mdn_state = ACK_MDN_PENDING },
		{ .address = (char *)"b@x.org", .orcpt = (char *)"rfc822;B-Orig@Y.org",
		  .dsn_state = ACK_DSN_PENDING },
		{ .address = (char *)"c@x.org", .dsn_state = ACK_DSN_PENDING },
	};
	ack_msg m;

	fill_msg(&m, 300, "<apply@x.org>", 5);
	memcpy(tok, m.token, ACK_TOKEN_LEN + 1);
	is_int(ack_store_put(s, &m, r, 3), ACK_OK, "apply: put message");
}

static void
test_apply_dsn(ack_store *s, const char *tok)
{
	ack_apply_result res;
	ack_rcpt got;

	is_int(apply1(s, tok, ACK_KIND_DSN, block("A@X.ORG", "delivered", "2.0.0",
	    "smtp; 250 ok"), 100, &res), ACK_OK, "dsn delivered");
	ok(res.updated == 1 && res.events == 1 && res.duplicate == 0 && res.added == 0,
	    "delivered: updated 1, events 1");
	is_int(dsn_of(s, tok, "a@x.org", &got), ACK_DSN_DELIVERED, "a: delivered");
	is_str(got.dsn_status, "2.0.0", "a: status");
	is_str(got.dsn_diagnostic, "smtp; 250 ok", "a: diagnostic");
	is_str(got.dsn_remote_mta, "mx.example.net", "a: remote mta");
	is_int(got.dsn_updated, 100, "a: updated time");
	is_int(got.mdn_state, ACK_MDN_PENDING, "a: mdn untouched");
	ack_rcpt_clear(&got);

	is_int(apply1(s, tok, ACK_KIND_DSN, block("A@X.ORG", "delivered", "2.0.0",
	    "smtp; 250 ok"), 200, &res), ACK_OK, "same report again");
	ok(res.duplicate == 1 && res.events == 0 && res.updated == 0,
	    "duplicate: no event, no update");
	is_int(dsn_of(s, tok, "a@x.org", &got), ACK_DSN_DELIVERED, "a: still delivered");
	is_int(got.dsn_updated, 100, "a: time unchanged by the duplicate");
	ack_rcpt_clear(&got);

	/* b matched through its ORCPT */
	is_int(apply1(s, tok, ACK_KIND_BOUNCE, block("b-orig@y.org", "failed", "5.1.1",
	    "smtp; 550 no such user"), 300, &res), ACK_OK, "bounce failed via orcpt");
	is_int(res.updated, 1, "b updated");
	is_int(dsn_of(s, tok, "b@x.org", NULL), ACK_DSN_FAILED, "b: failed");
	is_int(apply1(s, tok, ACK_KIND_DSN, block("b@x.org", "delayed", "4.4.7",
	    NULL), 400, &res), ACK_OK, "delayed after failed");
	ok(res.updated == 0 && res.events == 1, "delayed after failed: event only");
	is_int(dsn_of(s, tok, "b@x.org", &got), ACK_DSN_FAILED, "b: still failed");
	is_str(got.dsn_status, "5.1.1", "b: status kept");
	ack_rcpt_clear(&got);

	is_int(apply1(s, tok, ACK_KIND_DSN, block("c@x.org", "delayed", "4.4.7", NULL),
	    500, &res), ACK_OK, "c delayed");
	is_int(dsn_of(s, tok, "c@x.org", NULL), ACK_DSN_DELAYED, "c: delayed");
	is_int(apply1(s, tok, ACK_KIND_DSN, block("c@x.org", "failed", "5.4.7", NULL),
	    600, &res), ACK_OK, "c failed after delayed");
	is_int(res.updated, 1, "c updated");
	is_int(dsn_of(s, tok, "c@x.org", NULL), ACK_DSN_FAILED, "c: failed overwrites");

	is_int(apply1(s, tok, ACK_KIND_DSN, block("New@Z.org", "delivered", "2.0.0",
	    NULL), 700, &res), ACK_OK, "unknown recipient");
	ok(res.added == 1 && res.events == 1, "recipient added");
	is_int(dsn_of(s, tok, "New@Z.org", &got), ACK_DSN_DELIVERED, "added: state set");
	ok(got.notify == 0 && got.mdn_state == ACK_MDN_NONE, "added: notify 0, mdn none");
	ack_rcpt_clear(&got);
}

static void
test_apply_mdn_arf(ack_store *s, const char *tok)
{
	ack_report_rcpt b = { .final_recipient = (char *)"a@x.org",
		.action = (char *)"displayed",
		.disposition = (char *)"manual-action/MDN-sent-manually; displayed" };
	ack_report rep = { .kind = ACK_KIND_MDN, .rcpt = &b, .nrcpt = 1 };
	ack_report arf = { .kind = ACK_KIND_ARF, .feedback_type = (char *)"abuse" };
	ack_apply_result res;
	ack_rcpt got;

	is_int(ack_store_apply(s, tok, &rep, 800, &res), ACK_OK, "mdn displayed");
	is_int(res.updated, 1, "mdn: updated");
	is_int(dsn_of(s, tok, "a@x.org", &got), ACK_DSN_DELIVERED, "mdn: dsn untouched");
	is_int(got.mdn_state, ACK_MDN_DISPLAYED, "mdn: displayed");
	is_str(got.mdn_disposition, b.disposition, "mdn: disposition");
	is_int(got.mdn_updated, 800, "mdn: time");
	is_str(got.dsn_status, "2.0.0", "mdn: dsn status untouched");
	ack_rcpt_clear(&got);

	is_int(ack_store_apply(s, tok, &arf, 900, &res), ACK_OK, "arf without blocks");
	ok(res.events == 1 && res.updated == 0, "arf: one message-level event");
	is_int(ack_store_apply(s, tok, &arf, 901, &res), ACK_OK, "arf again");
	is_int(res.duplicate, 1, "arf again: duplicate");
	is_int(ack_store_apply(s, "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &arf, 1,
	    &res), ACK_ENOTFOUND, "unknown token: ACK_ENOTFOUND");
	is_int(ack_store_apply(s, "nonsense", &arf, 1, &res), ACK_ENOTFOUND,
	    "non-token: ACK_ENOTFOUND");
}

/* The hard/soft flag goes with the reason: set, changed, cleared. */
static void
test_apply_hard(ack_store *s)
{
	ack_rcpt r = { .address = (char *)"hs@x.org", .dsn_state = ACK_DSN_PENDING },
		got;
	ack_report_rcpt b = block("hs@x.org", "delayed", "4.2.2", "full");
	ack_apply_result res;
	ack_msg m;

	fill_msg(&m, 311, "<hs@x.org>", 5);
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "hard: put a message");
	b.reason = (char *)"mailboxfull";
	b.hard = 0;
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1100, &res), ACK_OK, "hard: delayed");
	dsn_of(s, m.token, "hs@x.org", &got);
	is_int(got.dsn_hard, ACK_HARD_NO, "mailboxfull: soft stored");
	ack_rcpt_clear(&got);
	b = block("hs@x.org", "failed", "5.1.1", "no such user");
	b.reason = (char *)"userunknown";
	b.hard = 1;
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1101, &res), ACK_OK, "hard: failed");
	ok(res.updated == 1, "hard: the change counts as an update");
	dsn_of(s, m.token, "hs@x.org", &got);
	ok(got.dsn_hard == ACK_HARD_YES && strcmp(got.dsn_reason, "userunknown") == 0,
	    "userunknown: hard stored with its reason");
	ack_rcpt_clear(&got);
	b = block("hs@x.org", "delivered", "2.0.0", "ok");
	b.hard = 0; /* no reason: the flag means nothing */
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1102, &res), ACK_OK, "hard: delivered");
	dsn_of(s, m.token, "hs@x.org", &got);
	ok(got.dsn_hard == ACK_HARD_UNKNOWN && got.dsn_reason == NULL,
	    "delivered: reason and hard/soft cleared");
	ack_rcpt_clear(&got);
}

/* The refined status goes with the stated one: set, changed, cleared. */
static void
test_apply_refined(ack_store *s)
{
	ack_rcpt r = { .address = (char *)"rs@x.org", .dsn_state = ACK_DSN_PENDING },
		got;
	ack_report_rcpt b = block("rs@x.org", "delayed", "4.0.0", "452 mailbox full");
	ack_apply_result res;
	ack_msg m;

	fill_msg(&m, 312, "<rs@x.org>", 5);
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "refined: put a message");
	b.refined_status = (char *)"4.2.2";
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1200, &res), ACK_OK,
	    "refined: delayed");
	dsn_of(s, m.token, "rs@x.org", &got);
	ok(got.dsn_refined_status && strcmp(got.dsn_refined_status, "4.2.2") == 0 &&
	    strcmp(got.dsn_status, "4.0.0") == 0,
	    "refined: 4.2.2 stored beside the stated 4.0.0");
	ack_rcpt_clear(&got);
	b = block("rs@x.org", "failed", "5.0.0", "550 5.0.0 user unknown");
	b.refined_status = (char *)"5.1.1";
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1201, &res), ACK_OK,
	    "refined: failed");
	dsn_of(s, m.token, "rs@x.org", &got);
	is_str(got.dsn_refined_status, "5.1.1", "refined: replaced by the new report's");
	ack_rcpt_clear(&got);
	b = block("rs@x.org", "failed", "5.1.1", "550 5.1.1 user unknown");
	is_int(apply1(s, m.token, ACK_KIND_DSN, b, 1202, &res), ACK_OK,
	    "refined: failed again, a specific status");
	dsn_of(s, m.token, "rs@x.org", &got);
	ok(got.dsn_refined_status == NULL && strcmp(got.dsn_status, "5.1.1") == 0,
	    "refined: cleared by a report that needs none");
	ack_rcpt_clear(&got);
}

/* A failure naming no recipient: the only recipient's, or message-level. */
static void
test_apply_unnamed(ack_store *s, const char *tok3)
{
	ack_rcpt r = { .address = (char *)"solo@x.org", .dsn_state = ACK_DSN_PENDING };
	ack_apply_result res;
	ack_msg m;

	fill_msg(&m, 310, "<solo@x.org>", 5);
	is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "unnamed: put a 1-recipient message");
	is_int(apply1(s, m.token, ACK_KIND_BOUNCE, block(NULL, "failed", "5.1.1", NULL),
	    1000, &res), ACK_OK, "unnamed: bounce for it");
	ok(res.updated == 1 && res.added == 0, "unnamed: the only recipient updated");
	is_int(dsn_of(s, m.token, "solo@x.org", NULL), ACK_DSN_FAILED,
	    "unnamed: the only recipient failed");
	is_int(apply1(s, tok3, ACK_KIND_BOUNCE, block(NULL, "failed", "5.1.1", "x"),
	    1001, &res), ACK_OK, "unnamed: bounce for a 3-recipient message");
	ok(res.updated == 0 && res.added == 0 && res.events == 1,
	    "unnamed, 3 recipients: a message-level event only");
}

static void
test_apply(void)
{
	ack_store *s = open_store("apply", ACK_STORE_CREATE, 0);
	char tok[ACK_TOKEN_LEN + 1];
	struct evlist l = { .n = 0 };
	static const char *const kinds[] = { "submit", "submit", "submit", "dsn", "bounce",
		"dsn", "dsn", "dsn", "dsn", "mdn", "arf" };
	bool inc = true, kinds_ok = true;

	ok(s != NULL, "open apply store");
	if (s == NULL)
		return;
	apply_setup(s, tok);
	test_apply_dsn(s, tok);
	test_apply_mdn_arf(s, tok);
	is_int(ack_store_events(s, 0, collect, &l), ACK_OK, "apply: events");
	test_apply_unnamed(s, tok);
	test_apply_hard(s);
	test_apply_refined(s);
	is_int(l.n, 11, "3 submit + 7 report blocks + 1 arf");
	for (size_t i = 0; i < l.n && i < 11; i++) {
		inc = inc && l.seq[i] == i + 1;
		kinds_ok = kinds_ok && strcmp(l.kind[i], kinds[i]) == 0;
	}
	ok(inc, "event sequence increasing");
	ok(kinds_ok, "event kinds in order");
	is_str(l.action[5], "delayed", "event action of delayed-after-failed");
	ok(l.n == 11 && !l.has_rcpt[10] && l.has_rcpt[9], "arf event is message-level");
	ack_store_close(s);
}

/* ---------------------------------------------------------------- token index */

/* Raw LMDB on a closed store: entries of database db (with tok: the
 * duplicates under that key); drop: delete db instead.  -1 on failure. */
static long
raw_count(const char *name, const char *db, const char *tok, bool drop)
{
	char dir[512];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_stat st;
	MDB_val k = { ACK_TOKEN_LEN, (void *)tok }, v;
	size_t dups = 0;
	long n = -1;

	store_path(name, dir, sizeof dir);
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 8);
	if (mdb_env_open(env, dir, 0, 0640) == 0 &&
	    mdb_txn_begin(env, NULL, 0, &txn) == 0) {
		if (mdb_dbi_open(txn, db, 0, &dbi) != 0) {
			n = -1;
		} else if (drop) {
			n = mdb_drop(txn, dbi, 1) == 0 ? 0 : -1;
		} else if (tok == NULL) {
			n = mdb_stat(txn, dbi, &st) == 0 ? (long)st.ms_entries : -1;
		} else if (mdb_cursor_open(txn, dbi, &c) == 0) {
			int rc = mdb_cursor_get(c, &k, &v, MDB_SET);

			n = rc == MDB_NOTFOUND ? 0 :
			    rc == 0 && mdb_cursor_count(c, &dups) == 0 ? (long)dups : -1;
			mdb_cursor_close(c);
		}
		if (mdb_txn_commit(txn) != 0)
			n = -1;
	}
	mdb_env_close(env);
	return n;
}

/* Message a (2 recipients) and b (1), reports for both, then an ARF for a
 * thirty days after its last state update, then a last event for b. */
static void
evtok_setup(ack_store *s, char *ta, char *tb)
{
	ack_rcpt ra[2] = { { .address = (char *)"a1@x.org", .dsn_state = ACK_DSN_PENDING },
		{ .address = (char *)"a2@x.org", .dsn_state = ACK_DSN_PENDING } };
	ack_rcpt rb = { .address = (char *)"b@x.org", .dsn_state = ACK_DSN_PENDING };
	ack_report arf = { .kind = ACK_KIND_ARF, .feedback_type = (char *)"abuse" };
	ack_apply_result res;
	ack_msg m;

	fill_msg(&m, 401, "<ev-a@x.org>", 1000);
	memcpy(ta, m.token, ACK_TOKEN_LEN + 1);
	is_int(ack_store_put(s, &m, ra, 2), ACK_OK, "evtok: put a");
	fill_msg(&m, 402, "<ev-b@x.org>", 5000);
	memcpy(tb, m.token, ACK_TOKEN_LEN + 1);
	is_int(ack_store_put(s, &m, &rb, 1), ACK_OK, "evtok: put b");
	is_int(apply1(s, ta, ACK_KIND_DSN, block("a1@x.org", "delivered", "2.0.0",
	    NULL), 2000, &res), ACK_OK, "evtok: dsn for a");
	is_int(apply1(s, tb, ACK_KIND_DSN, block("b@x.org", "delayed", "4.4.7",
	    NULL), 5001, &res), ACK_OK, "evtok: dsn for b");
	is_int(ack_store_apply(s, ta, &arf, 2000 + 30 * 86400, &res), ACK_OK,
	    "evtok: arf for a, 30 days later");
	is_int(apply1(s, tb, ACK_KIND_DSN, block("b@x.org", "delivered", "2.0.0",
	    NULL), 5002 + 30 * 86400, &res), ACK_OK, "evtok: last event, for b");
}

/* The history of message a: submit, submit, dsn, arf. */
static void
evtok_history_a(ack_store *s, const char *ta, const char *what)
{
	static const char *const kinds[] = { "submit", "submit", "dsn", "arf" };
	struct evlist l = { .n = 0 };
	bool kinds_ok = true;

	is_int(ack_store_message_events(s, ta, collect, &l), ACK_OK,
	    "%s: message events of a", what);
	is_int(l.n, 4, "%s: 4 events of a, none of b", what);
	for (size_t i = 0; i < 4 && i < l.n; i++)
		kinds_ok = kinds_ok && strcmp(l.kind[i], kinds[i]) == 0;
	ok(kinds_ok && l.n == 4 && l.seq[0] == 1 && l.seq[1] == 2 &&
	    l.seq[2] == 4 && l.seq[3] == 6 && !l.has_rcpt[3],
	    "%s: in order, the late arf included", what);
}

static void
test_evtok_history(ack_store *s, const char *ta, const char *tb)
{
	struct evlist l = { .stop_after = 2 };

	evtok_history_a(s, ta, "indexed");
	is_int(ack_store_message_events(s, ta, collect, &l), ACK_OK, "stop early");
	is_int(l.n, 2, "callback stops the message's events");
	l = (struct evlist){ .n = 0 };
	is_int(ack_store_message_events(s, tb, collect, &l), ACK_OK, "events of b");
	ok(l.n == 3 && l.seq[0] == 3 && l.seq[1] == 5 && l.seq[2] == 7,
	    "b: submit, delayed, delivered");
	is_int(ack_store_message_events(s, "aeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    collect, &l), ACK_ENOTFOUND, "unknown message: ACK_ENOTFOUND");
}

/* A store made before the index: read-only scans, read-write fills it. */
static void
test_evtok_old(const char *ta)
{
	ack_store *s;

	is_int(raw_count("evtok", "evtok", NULL, true), 0, "drop evtok (old store)");
	ok(raw_count("evtok", "evtok", NULL, false) < 0, "evtok gone");
	s = open_store("evtok", ACK_STORE_RDONLY, 0);
	ok(s != NULL, "old store opens read-only");
	if (s != NULL) {
		evtok_history_a(s, ta, "read-only, no index");
		ack_store_close(s);
	}
	ok(raw_count("evtok", "evtok", NULL, false) < 0, "read-only open adds nothing");
	s = open_store("evtok", 0, 0);
	ok(s != NULL, "old store opens read-write");
	if (s != NULL) {
		evtok_history_a(s, ta, "index rebuilt");
		ack_store_close(s);
	}
	is_int(raw_count("evtok", "evtok", NULL, false), 7, "index filled: 7 entries");
}

static void
test_evtok_purge(const char *ta, const char *tb)
{
	struct evlist l = { .n = 0 };
	ack_purge_result res;
	ack_store *s;
	long ev, ix;

	ev = raw_count("evtok", "event", NULL, false);
	ix = raw_count("evtok", "evtok", NULL, false);
	ok(ev == 7 && ix == 7, "before purge: 7 events, 7 index entries");
	is_int(raw_count("evtok", "evtok", ta, false), 4, "4 index entries for a");
	if ((s = open_store("evtok", 0, 0)) == NULL)
		return;
	is_int(raw_count("evtok", "seen", NULL, false), 4, "4 report digests");
	is_int(ack_store_purge(s, 5000, true, NULL, NULL, &res), ACK_OK, "dry purge");
	ok(res.messages == 1 && res.events == 4 && res.reports == 1,
	    "dry purge: 1 message, 4 events, 1 digest (the one applied before)");
	is_int(ack_store_purge(s, 5000, false, NULL, NULL, &res), ACK_OK, "purge a");
	ok(res.messages == 1 && res.events == 4 && res.reports == 1,
	    "purge: 1 message, 4 events, 1 digest");
	l = (struct evlist){ .n = 0 };
	is_int(ack_store_message_events(s, tb, collect, &l), ACK_OK, "b after purge");
	is_int(l.n, 3, "b keeps its 3 events");
	is_int(ack_store_message_events(s, ta, collect, &l), ACK_ENOTFOUND,
	    "a purged: ACK_ENOTFOUND");
	ack_store_close(s);
	ev = raw_count("evtok", "event", NULL, false);
	ix = raw_count("evtok", "evtok", NULL, false);
	ok(ev == 3 && ix == 3, "after purge: 3 events, 3 index entries");
	is_int(raw_count("evtok", "seen", NULL, false), 3,
	    "digests applied after the cutoff kept (a's late arf among them)");
	is_int(raw_count("evtok", "evtok", ta, false), 0, "no index entry left for a");
	is_int(raw_count("evtok", "evtok", tb, false), 3, "b's entries kept");
}

static void
test_evtok(void)
{
	ack_store *s = open_store("evtok", ACK_STORE_CREATE, 0);
	char ta[ACK_TOKEN_LEN + 1], tb[ACK_TOKEN_LEN + 1];

	ok(s != NULL, "open evtok store");
	if (s == NULL)
		return;
	evtok_setup(s, ta, tb);
	test_evtok_history(s, ta, tb);
	ack_store_close(s);
	test_evtok_old(ta);
	test_evtok_purge(ta, tb);
}

/* ---------------------------------------------------------------- group commit */

#define GC_THREADS 8
#define GC_PUTS 40

struct gc_arg {
	ack_store *s;
	unsigned id;
	unsigned put_ok, apply_ok, dup_exist, dup_ok;
	bool errmsg_ok;
};

/* One thread: GC_PUTS messages of two recipients, each followed by a DSN
 * for its first recipient, and one put of a token every thread tries. */
static void *
gc_worker(void *p)
{
	struct gc_arg *a = p;
	ack_rcpt r[2] = {
		{ .address = (char *)"one@x.org", .dsn_state = ACK_DSN_PENDING },
		{ .address = (char *)"two@x.org", .dsn_state = ACK_DSN_PENDING },
	};
	ack_apply_result res;
	ack_msg m;
	int rc;

	for (unsigned i = 0; i < GC_PUTS; i++) {
		fill_msg(&m, 5000 + a->id * 1000 + i, "<gc@x.org>", 100 + i);
		a->put_ok += ack_store_put(a->s, &m, r, 2) == ACK_OK;
		a->apply_ok += apply1(a->s, m.token, ACK_KIND_DSN,
		    block("one@x.org", "delivered", "2.0.0", NULL), 200, &res) == ACK_OK &&
		    res.updated == 1;
		if (i == GC_PUTS / 2) {
			fill_msg(&m, 4999, "<dup@x.org>", 100);
			rc = ack_store_put(a->s, &m, r, 2);
			a->dup_ok += rc == ACK_OK;
			a->dup_exist += rc == ACK_EEXIST;
			if (rc == ACK_EEXIST)
				a->errmsg_ok = strstr(ack_store_errmsg(a->s), m.token) != NULL;
		}
	}
	return NULL;
}

/* Every message is there, with its DSN applied. */
static unsigned
gc_check(ack_store *s)
{
	unsigned good = 0;
	char tok[ACK_TOKEN_LEN + 1];

	for (unsigned t = 0; t < GC_THREADS; t++)
		for (unsigned i = 0; i < GC_PUTS; i++) {
			make_token(5000 + t * 1000 + i, tok);
			good += dsn_of(s, tok, "one@x.org", NULL) == ACK_DSN_DELIVERED &&
			    dsn_of(s, tok, "two@x.org", NULL) == ACK_DSN_PENDING;
		}
	return good;
}

static void
gc_run(const char *name, unsigned flags)
{
	struct gc_arg a[GC_THREADS];
	pthread_t th[GC_THREADS];
	unsigned puts = 0, applies = 0, dups = 0, exist = 0, errs = 0;
	ack_store_info before, after;
	ack_store *s = open_store(name, ACK_STORE_CREATE | flags, 0);
	uint64_t writes = GC_THREADS * GC_PUTS * 2 + 1;

	ok(s != NULL, "%s: open", name);
	if (s == NULL)
		return;
	is_int(ack_store_stat(s, &before), ACK_OK, "%s: stat", name);
	for (unsigned t = 0; t < GC_THREADS; t++) {
		a[t] = (struct gc_arg){ .s = s, .id = t };
		if (pthread_create(&th[t], NULL, gc_worker, &a[t]) != 0)
			a[t].s = NULL;
	}
	for (unsigned t = 0; t < GC_THREADS; t++) {
		if (a[t].s != NULL)
			pthread_join(th[t], NULL);
		puts += a[t].put_ok;
		applies += a[t].apply_ok;
		dups += a[t].dup_ok;
		exist += a[t].dup_exist;
		errs += a[t].errmsg_ok;
	}
	is_int(puts, GC_THREADS * GC_PUTS, "%s: every put committed", name);
	is_int(applies, GC_THREADS * GC_PUTS, "%s: every apply committed", name);
	ok(dups == 1 && exist == GC_THREADS - 1,
	    "%s: a token put by every thread: 1 OK, the others EEXIST", name);
	is_int(errs, GC_THREADS - 1, "%s: each EEXIST has its own error text", name);
	is_int(ack_store_stat(s, &after), ACK_OK, "%s: stat", name);
	is_int(after.messages - before.messages, GC_THREADS * GC_PUTS + 1,
	    "%s: all messages stored", name);
	is_int(after.events - before.events, GC_THREADS * GC_PUTS * 3 + 2,
	    "%s: all events stored (2 submit + 1 dsn per message)", name);
	is_int(after.writes - before.writes, writes, "%s: writes counted", name);
	is_int(gc_check(s), GC_THREADS * GC_PUTS, "%s: every record reads back", name);
	printf("# %s: %llu writes in %llu commits\n", name,
	    (unsigned long long)(after.writes - before.writes),
	    (unsigned long long)(after.commits - before.commits));
	if (flags & ACK_STORE_NOGROUP)
		is_int(after.commits - before.commits, writes,
		    "%s: one commit per write", name);
	else
		ok(after.commits - before.commits < writes,
		    "%s: concurrent writes share commits", name);
	ack_store_close(s);
}

static void
test_group_commit(void)
{
	gc_run("gc", 0);
	gc_run("gc-off", ACK_STORE_NOGROUP);
}

/* ---------------------------------------------------------------- commit delay */

#define CD_THREADS 4
#define CD_PUTS 10

struct cd_arg {
	ack_store *s;
	unsigned id, put_ok;
};

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One writer that starts 5 ms after the one before it and pauses 20 ms
 * after each of its messages: on their own, they never meet. */
static void *
cd_worker(void *p)
{
	struct cd_arg *a = p;
	ack_rcpt r = { .address = (char *)"cd@x.org", .dsn_state = ACK_DSN_PENDING };
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct timespec stagger = { 0, (long)a->id * 5 * 1000 * 1000 };
	ack_msg m;

	ack_store_expect(a->s, 1); /* a writer under way, like a message */
	nanosleep(&stagger, NULL);
	for (unsigned i = 0; i < CD_PUTS; i++) {
		fill_msg(&m, 9000 + a->id * 100 + i, "<cd@x.org>", 100);
		a->put_ok += ack_store_put(a->s, &m, &r, 1) == ACK_OK;
		nanosleep(&pause, NULL);
	}
	ack_store_expect(a->s, -1);
	return NULL;
}

/* Writers that pause between writes rarely meet in a commit of their
 * own accord; announced, with a commit delay, they share commits. */
static void
cd_concurrent(ack_store *s)
{
	struct cd_arg a[CD_THREADS];
	pthread_t th[CD_THREADS];
	ack_store_info before, after;
	unsigned puts = 0;

	ack_store_set_commit_delay(s, 100 * 1000);
	is_int(ack_store_stat(s, &before), ACK_OK, "commit delay: stat");
	for (unsigned t = 0; t < CD_THREADS; t++) {
		a[t] = (struct cd_arg){ .s = s, .id = t };
		if (pthread_create(&th[t], NULL, cd_worker, &a[t]) != 0)
			a[t].s = NULL;
	}
	for (unsigned t = 0; t < CD_THREADS; t++) {
		if (a[t].s != NULL)
			pthread_join(th[t], NULL);
		puts += a[t].put_ok;
	}
	is_int(ack_store_stat(s, &after), ACK_OK, "commit delay: stat");
	is_int(puts, CD_THREADS * CD_PUTS, "commit delay: every put committed");
	printf("# commit delay: %llu writes in %llu commits\n",
	    (unsigned long long)(after.writes - before.writes),
	    (unsigned long long)(after.commits - before.commits));
	ok((after.commits - before.commits) * 2 <= after.writes - before.writes,
	    "commit delay: staggered writers share commits (at most 1 per 2 writes)");
}

static void
test_commit_delay(void)
{
	ack_store *s = open_store("cd", ACK_STORE_CREATE, 0);
	ack_rcpt r = { .address = (char *)"cd@x.org", .dsn_state = ACK_DSN_PENDING };
	ack_store_info before, after;
	ack_msg m;
	double t0, ms;

	ok(s != NULL, "commit delay: open");
	if (s == NULL)
		return;
	/* a lone writer: were it to wait, 3 writes would take 3 s */
	ack_store_set_commit_delay(s, 999999);
	ack_store_expect(s, 1);
	is_int(ack_store_stat(s, &before), ACK_OK, "commit delay: stat");
	t0 = now_ms();
	for (unsigned i = 0; i < 3; i++) {
		fill_msg(&m, 8000 + i, "<lone@x.org>", 100);
		is_int(ack_store_put(s, &m, &r, 1), ACK_OK, "commit delay: lone put %u", i);
	}
	ms = now_ms() - t0;
	ack_store_expect(s, -1);
	ok(ms < 900, "commit delay: a lone writer does not wait (%.0f ms for 3 puts)", ms);
	is_int(ack_store_stat(s, &after), ACK_OK, "commit delay: stat");
	is_int(after.commits - before.commits, 3,
	    "commit delay: a lone writer's writes commit one by one");
	cd_concurrent(s);
	ack_store_close(s);
}

/* ---------------------------------------------------------------- main */

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	ack_store *s;

	umask(022); /* the file modes checked are those of this umask */

	snprintf(topdir, sizeof topdir, "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(topdir) == NULL) {
		printf("# mkdtemp %s failed: skipping\n", topdir);
		return 77;
	}
	if ((bigdiag = malloc(70001)) == NULL)
		return 1;
	for (int i = 0; i < 70000; i++)
		bigdiag[i] = (char)(i % 7 == 0 ? 0xc3 : 'a' + i % 26);
	bigdiag[70000] = '\0';

	s = open_store("main", ACK_STORE_CREATE, 0);
	ok(s != NULL, "create store");
	if (s != NULL) {
		test_roundtrip(s);
		test_lookup(s);
		test_submit_events(s);
		test_foreach_stat(s);
		ack_store_close(s);
	}
	test_readonly();
	test_open_errors();
	test_corrupt();
	test_map_full();
	test_decoder();
	test_apply();
	test_evtok();
	test_group_commit();
	test_commit_delay();
	free(bigdiag);
	tap_rm_tree(topdir);
	return tap_done();
}
