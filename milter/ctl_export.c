/*
 * ctl_export.c - ackctl export and ingest: the event log out as JSON
 * Lines with resumable cursors (and --follow for a log shipper), and
 * reports in (a maildir, an mbox or files collected while the milter was
 * not running) applied to the store, idempotently.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ackctl.h"

#define EXPORT_CHUNK 10000     /* events per read transaction */
#define FOLLOW_POLL_NS 200000000L /* LMDB has no notification: poll */
#define MAX_FILE (64u << 20)

/* ---------------------------------------------------------------- export */

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct export_state {
	uint64_t cursor; /* last event written */
	unsigned in_chunk;
	ack_buf buf;
	int status;
};

static int
event_json(ack_json *j, const ack_event *e)
{
	JS(ack_json_obj_open(j));
	JS(ack_json_kint(j, "cursor", (int64_t)e->seq));
	JS(ack_json_ktime(j, "time", e->time));
	JS(ack_json_kstr(j, "token", e->token));
	JS(ack_json_kstr(j, "recipient", e->recipient));
	JS(ack_json_kstr(j, "kind", e->kind));
	JS(ack_json_kstr(j, "action", e->action));
	JS(ack_json_kstr(j, "status", e->status));
	JS(ack_json_kstr(j, "detail", e->detail));
	return ack_json_obj_close(j);
}

static int
export_one(const ack_event *e, void *arg)
{
	struct export_state *x = arg;
	ack_json j;

	ack_buf_reset(&x->buf);
	ack_json_init(&j, &x->buf);
	if (event_json(&j, e) != ACK_OK) {
		x->status = fail(EXIT_USAGE, "out of memory");
		return 1;
	}
	put_json_line(&x->buf);
	x->cursor = e->seq;
	return ++x->in_chunk >= EXPORT_CHUNK || stop_requested;
}

/* Everything after x->cursor, in chunks of short read transactions. */
static int
export_pending(struct ctl *c, struct export_state *x)
{
	int rc;

	do {
		x->in_chunk = 0;
		rc = ack_store_events(c->store, x->cursor, export_one, x);
		if (rc != ACK_OK)
			return fail(EXIT_USAGE, "export: %s (%s)", ack_strerror(rc),
			    ack_store_errmsg(c->store));
		if (x->status != 0)
			return x->status;
		if (fflush(stdout) != 0)
			return fail(EXIT_USAGE, "write error on standard output");
	} while (x->in_chunk >= EXPORT_CHUNK && !stop_requested);
	return 0;
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll sleep ends */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int
export_follow(struct ctl *c, struct export_state *x)
{
	struct timespec poll = { 0, FOLLOW_POLL_NS };
	int rc = 0;

	catch_signals();
	while (!stop_requested && rc == 0) {
		nanosleep(&poll, NULL);
		if (!stop_requested)
			rc = export_pending(c, x);
	}
	return rc;
}

struct export_opts {
	uint64_t since;
	bool follow;
};

enum { O_SINCE = 256, O_FOLLOW, O_MAILDIR, O_MBOX };

static int
export_opt(void *arg, int id, const char *v)
{
	struct export_opts *o = arg;

	if (id == O_FOLLOW) {
		o->follow = true;
		return 0;
	}
	return ctl_parse_count("--since", v, &o->since);
}

int
cmd_export(int argc, char **argv)
{
	static const char use[] = "export [--since CURSOR] [--follow]";
	static const struct option opts[] = {
		{ "since", required_argument, NULL, O_SINCE },
		{ "follow", no_argument, NULL, O_FOLLOW },
		{ NULL, 0, NULL, 0 },
	};
	struct export_opts o = { 0 };
	struct export_state x = { 0 };
	struct ctl c = { 0 };
	int i, rc;

	if ((i = ctl_getopt(&c, argc, argv, use, opts, export_opt, &o)) < 0)
		return EXIT_USAGE;
	if (i != argc)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if ((rc = ctl_open_store(&c)) != 0)
		return rc;
	x.cursor = o.since;
	ack_buf_init(&x.buf, 0);
	rc = export_pending(&c, &x);
	if (rc == 0 && o.follow)
		rc = export_follow(&c, &x);
	ack_buf_free(&x.buf);
	ctl_close(&c);
	return rc;
}

/* ---------------------------------------------------------------- ingest */

struct ingest {
	struct ctl *c;
	ack_parser *parser;
	ack_patterns *pt; /* non-standard bounces, auto-replies */
	uint64_t total, done;
	unsigned applied, duplicate, skipped, unmatched, errors;
	ack_buf line;
};

/* The token of a signed return address in Delivered-To / X-Original-To. */
static bool
envelope_token(const struct ingest *in, const char *msg, size_t len,
    char token[ACK_TOKEN_LEN + 1])
{
	const char *tmpl = in->c->cfg ? in->c->cfg->return_path : NULL;
	const char *p = msg, *end = msg + len;

	while (tmpl != NULL && p < end && *p != '\n' && *p != '\r') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
		char addr[512];
		const char *v = NULL;

		if (n > 13 && strncasecmp(p, "Delivered-To:", 13) == 0)
			v = p + 13;
		else if (n > 14 && strncasecmp(p, "X-Original-To:", 14) == 0)
			v = p + 14;
		if (v != NULL) {
			size_t k = (size_t)(p + n - v);

			while (k > 0 && (*v == ' ' || *v == '\t' || *v == '<'))
				v++, k--;
			while (k > 0 && strchr(" \t\r>", v[k - 1]))
				k--;
			snprintf(addr, sizeof addr, "%.*s", (int)(k < 511 ? k : 511), v);
			if (ack_return_path_match(tmpl, addr, token))
				return true;
		}
		p += n + 1;
	}
	return false;
}

static const char *
outcome(int rc, const ack_report *r, const ack_apply_result *res)
{
	if (r->kind == ACK_KIND_NONE)
		return "not-a-report";
	if (rc == ACK_OK)
		return res->events > 0 || res->updated > 0 ? "applied" : "duplicate";
	if (rc == ACK_EMAC || rc == ACK_ENOKEY)
		return "forged";
	if (rc == ACK_ENOTFOUND)
		return "unmatched";
	return "error";
}

static void
count(struct ingest *in, const char *what)
{
	if (strcmp(what, "applied") == 0)
		in->applied++;
	else if (strcmp(what, "duplicate") == 0)
		in->duplicate++;
	else if (strcmp(what, "not-a-report") == 0)
		in->skipped++;
	else if (strcmp(what, "error") == 0)
		in->errors++;
	else
		in->unmatched++;
}

static int
ingest_json(struct ingest *in, const char *src, const ack_report *r,
    const char *what, const char *token, const char *where,
    const ack_apply_result *res)
{
	ack_json j;

	ack_buf_reset(&in->line);
	ack_json_init(&j, &in->line);
	JS(ack_json_obj_open(&j));
	JS(ack_json_kstr(&j, "source", src));
	JS(ack_json_kstr(&j, "kind", ack_report_kind_name(r->kind)));
	JS(ack_json_kstr(&j, "result", what));
	JS(ack_json_kstr(&j, "token", token));
	JS(ack_json_kstr(&j, "found_by", where));
	JS(ack_json_kint(&j, "updated", res->updated));
	JS(ack_json_kint(&j, "added", res->added));
	JS(ack_json_kint(&j, "events", res->events));
	JS(ack_json_kint(&j, "duplicate", res->duplicate));
	JS(ack_json_obj_close(&j));
	put_json_line(&in->line);
	return ACK_OK;
}

static void
ingest_human(const char *src, const ack_report *r, const char *what,
    const char *token, const ack_apply_result *res)
{
	put_safe(src);
	if (r->kind == ACK_KIND_NONE) {
		printf(": not a report\n");
		return;
	}
	printf(": %s %s", ack_report_kind_name(r->kind), what);
	if (token != NULL)
		printf(" %s", token);
	if (strcmp(what, "applied") == 0 || strcmp(what, "duplicate") == 0)
		printf(" (%u updated, %u added, %u events, %u duplicate)", res->updated,
		    res->added, res->events, res->duplicate);
	putchar('\n');
}

/* Parse and apply one message; src names it for the output. */
static int
ingest_message(struct ingest *in, const char *src, const char *msg, size_t len)
{
	char etok[ACK_TOKEN_LEN + 1], token[ACK_TOKEN_LEN + 1] = "";
	ack_apply_result res = { 0 };
	const char *where = NULL, *what;
	const ack_report *r;
	int rc;

	ack_parser_reset(in->parser);
	if (ack_parser_message(in->parser, msg, len) != ACK_OK ||
	    (r = ack_parser_result(in->parser)) == NULL)
		return fail(EXIT_USAGE, "%s: cannot be parsed", src);
	rc = ACK_ENOTFOUND;
	if (r->kind != ACK_KIND_NONE)
		rc = ack_store_absorb(in->c->store, in->c->keys, r,
		    envelope_token(in, msg, len, etok) ? etok : NULL, ctl_now(),
		    token, &where, &res);
	what = outcome(rc, r, &res);
	count(in, what);
	if (strcmp(what, "error") == 0)
		fail(0, "%s: %s (%s)", src, ack_strerror(rc), ack_store_errmsg(in->c->store));
	/* The result line first (the bar off the terminal meanwhile), then the bar. */
	progress_pause();
	rc = 0;
	if (in->c->json)
		rc = ingest_json(in, src, r, what, token[0] ? token : NULL, where,
		    &res) == ACK_OK ? 0 : EXIT_USAGE;
	else if (!isatty(STDOUT_FILENO) || strcmp(what, "not-a-report") != 0)
		ingest_human(src, r, what, token[0] ? token : NULL, &res);
	progress_show("ingest", ++in->done, in->total);
	return rc;
}

static int
ingest_file(struct ingest *in, const char *path)
{
	ack_buf b;
	int rc;

	ack_buf_init(&b, MAX_FILE);
	if ((rc = ctl_slurp(path, &b)) == 0)
		rc = ingest_message(in, path, b.data ? b.data : "", b.len);
	ack_buf_free(&b);
	return rc;
}

/* The start of the next mbox "From " line at or after p, or end. */
static const char *
mbox_next(const char *p, const char *end)
{
	while (p < end) {
		if ((size_t)(end - p) >= 5 && memcmp(p, "From ", 5) == 0)
			return p;
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			return end;
		p++;
	}
	return end;
}

static size_t
mbox_count(const char *p, const char *end)
{
	size_t n = 0;

	for (p = mbox_next(p, end); p < end; p = mbox_next(p + 5, end))
		n++;
	return n;
}

static int
ingest_mbox(struct ingest *in, const char *path)
{
	ack_buf b;
	const char *p, *end, *next;
	char src[4200];
	unsigned n = 0;
	int rc, status = 0;

	ack_buf_init(&b, 0); /* an mbox may be larger than one message */
	if ((rc = ctl_slurp(path, &b)) != 0) {
		ack_buf_free(&b);
		return rc;
	}
	end = b.data + b.len;
	in->total = mbox_count(b.data, end);
	for (p = mbox_next(b.data, end); p < end; p = next) {
		next = mbox_next(p + 5, end);
		snprintf(src, sizeof src, "%s:%u", path, ++n);
		if ((rc = ingest_message(in, src, p, (size_t)(next - p))) != 0)
			status = rc;
	}
	ack_buf_free(&b);
	return status;
}

/* File names of dir (regular entries, sorted), appended to names. */
static int
list_dir(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return errno == ENOENT ? 0 : fail(EXIT_USAGE, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char **v;

		if (e->d_name[0] == '.')
			continue;
		if ((v = reallocarray(*names, *n + 1, sizeof *v)) == NULL ||
		    asprintf(&v[*n], "%s/%s", dir, e->d_name) < 0)
			exit(fail(EXIT_USAGE, "out of memory"));
		*names = v;
		(*n)++;
	}
	closedir(d);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ingest_maildir(struct ingest *in, const char *dir)
{
	static const char *sub[] = { "new", "cur" };
	char **names = NULL, path[4096];
	size_t n = 0;
	int rc = 0, status = 0;

	for (size_t i = 0; i < 2 && rc == 0; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, sub[i]);
		rc = list_dir(path, &names, &n);
	}
	if (rc == 0 && n == 0 && (rc = list_dir(dir, &names, &n)) == 0 && n == 0)
		rc = fail(EXIT_USAGE, "%s: no messages (no maildir new/ or cur/)", dir);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_str);
	in->total = n;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && (status = ingest_file(in, names[i])) != 0)
			rc = status;
		free(names[i]);
	}
	free(names);
	return rc;
}

struct ingest_opts {
	const char *maildir, *mbox;
};

static int
ingest_opt(void *arg, int id, const char *v)
{
	struct ingest_opts *o = arg;

	if (id == O_MAILDIR)
		o->maildir = v;
	else
		o->mbox = v;
	return 0;
}

static void
ingest_summary(const struct ingest *in)
{
	if (in->c->json)
		return;
	printf("ingest: %u applied, %u duplicate, %u not matched to a tracked "
	    "message, %u not a report", in->applied, in->duplicate, in->unmatched,
	    in->skipped);
	if (in->errors)
		printf(", %u errors", in->errors);
	putchar('\n');
}

static int
ingest_open(struct ctl *c, struct ingest *in)
{
	int rc;

	if ((rc = ctl_load_config(c, false)) != 0 || (rc = ctl_open_keys(c)) != 0 ||
	    (rc = ctl_open_store_rw(c)) != 0)
		return rc;
	if ((rc = ctl_load_patterns(c, &in->pt)) != 0)
		return rc;
	if (ack_parser_new(&in->parser, (size_t)c->cfg->report_max_size) != ACK_OK)
		return fail(EXIT_USAGE, "cannot set up the report parser");
	ack_parser_set_patterns(in->parser, in->pt);
	/* the configuration checked the name: this cannot fail */
	(void)ack_parser_set_tracking_header(in->parser, c->cfg->tracking_header);
	return 0;
}

int
cmd_ingest(int argc, char **argv)
{
	static const char use[] = "ingest [--json] [--maildir DIR | --mbox FILE | FILE...]";
	static const struct option opts[] = {
		{ "maildir", required_argument, NULL, O_MAILDIR },
		{ "mbox", required_argument, NULL, O_MBOX },
		{ NULL, 0, NULL, 0 },
	};
	struct ingest_opts o = { 0 };
	struct ctl c = { 0 };
	struct ingest in = { .c = &c };
	int i, rc;

	if ((i = ctl_getopt(&c, argc, argv, use, opts, ingest_opt, &o)) < 0)
		return EXIT_USAGE;
	if ((o.maildir != NULL) + (o.mbox != NULL) + (i < argc) != 1)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if ((rc = ingest_open(&c, &in)) == 0) {
		ack_buf_init(&in.line, 0);
		if (o.maildir)
			rc = ingest_maildir(&in, o.maildir);
		else if (o.mbox)
			rc = ingest_mbox(&in, o.mbox);
		for (in.total = (uint64_t)(argc - i); rc == 0 && i < argc; i++)
			rc = ingest_file(&in, argv[i]);
		progress_done();
		ingest_summary(&in);
		ack_buf_free(&in.line);
	}
	ack_parser_free(in.parser);
	ack_patterns_free(in.pt);
	ctl_close(&c);
	if (rc == 0 && in.errors)
		rc = EXIT_USAGE;
	if (rc == 0 && in.applied + in.duplicate == 0)
		rc = EXIT_NOTFOUND;
	return rc;
}
