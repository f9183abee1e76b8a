/*
 * ctl_parse.c - ackctl parse: run the report parser over files (or
 * standard input) without a store, as the milter would see them, and
 * print what it recognised.  With a configuration (-c) the tokens found
 * are verified against the key file.  Non-standard bounces and
 * auto-replies are recognised with the pattern files of PatternDir (or
 * --patterns DIR).  --bench times the parse loop over files held in memory.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ackctl.h"

#define MAX_FILE (64u << 20)

struct found {
	char token[ACK_TOKEN_LEN + 1];
	int status; /* ACK_OK valid, ACK_EMAC..., ACK_ENOTFOUND none */
	bool checked; /* keys were available */
};

static void
find_token(const struct ctl *c, const ack_report *r, struct found *f)
{
	const char *where;

	f->checked = c->keys != NULL;
	f->status = ack_report_token(r, NULL, c->keys, f->token, &where);
}

static int
print_json(const char *file, const ack_report *r, const struct found *f)
{
	ack_buf b;
	ack_json j;
	int rc;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_kstr(&j, "file", file);
	rc = rc ? rc : ack_json_kstr(&j, "token", f->status == ACK_ENOTFOUND ? NULL : f->token);
	rc = rc ? rc : ack_json_key(&j, "token_valid");
	if (rc == ACK_OK)
		rc = f->status == ACK_ENOTFOUND || !f->checked ? ack_json_null(&j) :
		    ack_json_bool(&j, f->status == ACK_OK);
	rc = rc ? rc : ack_report_json(r, &j);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc;
}

static void
print_human(const char *file, const ack_report *r, const struct found *f)
{
	struct table t;

	put_safe(file);
	printf(": %s", ack_report_kind_name(r->kind));
	if (f->status != ACK_ENOTFOUND) {
		printf(", token %s", f->token);
		if (f->checked)
			printf(" (%s)", f->status == ACK_OK ? "valid" : ack_strerror(f->status));
	}
	if (r->reporting_mta != NULL) {
		printf(", reported by ");
		put_safe(r->reporting_mta);
	}
	printf(r->truncated ? " (truncated at the size cap)\n" : "\n");
	if (r->nrcpt == 0)
		return;
	table_init(&t, 6);
	table_row(&t, "  RECIPIENT", "ACTION", "STATUS", "REASON", "REMOTE-MTA",
	    "DIAGNOSTIC");
	for (size_t i = 0; i < r->nrcpt; i++) {
		const ack_report_rcpt *p = &r->rcpt[i];
		char addr[1024], status[40];

		/* "(guessed)": taken from the returned message's To: */
		snprintf(addr, sizeof addr, "  %s%s", p->final_recipient ?
		    p->final_recipient : p->original_recipient ? p->original_recipient : "-",
		    p->guessed ? " (guessed)" : "");
		table_row(&t, addr, p->action, fmt_status(p->status, p->refined_status,
		    status, sizeof status), p->reason, p->remote_mta, p->diagnostic);
	}
	table_print(&t);
	table_free(&t);
}

static int
parse_one(const struct ctl *c, ack_parser *p, const char *file)
{
	struct found f = { .status = ACK_ENOTFOUND };
	const ack_report *r;
	ack_buf b;
	int rc;

	ack_buf_init(&b, MAX_FILE);
	if ((rc = ctl_slurp(file, &b)) != 0) {
		ack_buf_free(&b);
		return rc;
	}
	ack_parser_reset(p);
	rc = ack_parser_message(p, b.data ? b.data : "", b.len);
	ack_buf_free(&b);
	if (rc != ACK_OK || (r = ack_parser_result(p)) == NULL)
		return fail(EXIT_USAGE, "%s: %s", file, ack_strerror(rc));
	find_token(c, r, &f);
	if (c->json)
		return print_json(file, r, &f) == ACK_OK ? 0 : EXIT_USAGE;
	print_human(file, r, &f);
	return 0;
}

/* Load the patterns: --patterns DIR must work; the configured directory
 * may be absent (a warning: only RFC reports are then recognised). */
int
ctl_load_patterns(const struct ctl *c, ack_patterns **pt)
{
	const char *dir = c->patterns ? c->patterns : c->cfg->pattern_dir;
	char err[1024];
	int rc;

	*pt = NULL;
	if (dir == NULL)
		return 0;
	rc = ack_patterns_load(pt, dir, err, sizeof err);
	if (rc == ACK_OK)
		return 0;
	if (c->patterns == NULL && !c->conf_given && rc == ACK_EIO) {
		fprintf(stderr, "ackctl: %s (non-standard bounces not recognised)\n",
		    err);
		return 0;
	}
	return fail(EXIT_USAGE, "%s", err);
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_free(ack_buf *d, int n)
{
	for (int i = 0; i < n; i++)
		ack_buf_free(&d[i]);
	free(d);
}

/* Parse every file (held in memory) in a loop for about a second. */
static int
bench(ack_parser *p, char **files, int n)
{
	ack_buf *d = calloc((size_t)n, sizeof *d);
	size_t bytes = 0, msgs = 0, total = 0;
	double t0, t;

	if (d == NULL)
		return fail(EXIT_USAGE, "out of memory");
	for (int i = 0; i < n; i++) {
		ack_buf_init(&d[i], MAX_FILE);
		if (ctl_slurp(files[i], &d[i]) != 0) {
			bench_free(d, i + 1);
			return EXIT_USAGE;
		}
		total += d[i].len;
	}
	t0 = now_seconds();
	do {
		for (int i = 0; i < n; i++)
			if (ack_parser_message(p, d[i].data ? d[i].data : "", d[i].len) ==
			    ACK_OK)
				bytes += d[i].len, msgs++;
	} while ((t = now_seconds() - t0) < 1.0);
	printf("%d files, %.2f MB: %.0f msg/s, %.1f MB/s\n", n, (double)total / 1e6,
	    (double)msgs / t, (double)bytes / 1e6 / t);
	bench_free(d, n);
	return 0;
}

/* Keys (with -c or -k), configuration, patterns and a parser. */
static int
parse_setup(struct ctl *c, ack_patterns **pt, ack_parser **p)
{
	int rc;

	if ((c->conf_given || c->keyfile != NULL) && (rc = ctl_open_keys(c)) != 0)
		return rc;
	if ((rc = ctl_load_config(c, false)) != 0 || (rc = ctl_load_patterns(c, pt)) != 0)
		return rc;
	if (ack_parser_new(p, (size_t)c->cfg->report_max_size) != ACK_OK)
		return fail(EXIT_USAGE, "cannot set up the parser");
	ack_parser_set_patterns(*p, *pt);
	/* the configuration checked the name: this cannot fail */
	(void)ack_parser_set_tracking_header(*p, c->cfg->tracking_header);
	return 0;
}

int
cmd_parse(int argc, char **argv)
{
	static const char use[] = "parse [--json] [--patterns DIR] [--bench] "
	    "[-c FILE] FILE...";
	struct ctl c = { 0 };
	ack_patterns *pt = NULL;
	ack_parser *p = NULL;
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, use)) < 0)
		return EXIT_USAGE;
	if (i == argc)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if ((rc = parse_setup(&c, &pt, &p)) == 0 && c.bench)
		rc = bench(p, argv + i, argc - i);
	else if (rc == 0)
		for (; i < argc; i++) {
			/* A file that fails does not stop the others. */
			int one = parse_one(&c, p, argv[i]);

			rc = one != 0 ? one : rc;
		}
	ack_parser_free(p);
	ack_patterns_free(pt);
	ctl_close(&c);
	return rc;
}
