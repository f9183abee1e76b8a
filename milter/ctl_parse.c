/*
 * ctl_parse.c - ackctl parse: run the report parser over files (or
 * standard input) without a store, as the milter would see them, and
 * print what it recognised.  With a configuration (-c) the tokens found
 * are verified against the key file.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackctl.h"

#define MAX_FILE (64u << 20)

/* Read a whole file (or stdin for "-") into b. */
static int
slurp(const char *path, ack_buf *b)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = ACK_OK;

	if (fp == NULL)
		return ACK_EIO;
	while (rc == ACK_OK && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		rc = ack_buf_add(b, chunk, n);
	if (rc == ACK_OK && ferror(fp))
		rc = ACK_EIO;
	if (fp != stdin)
		fclose(fp);
	return rc;
}

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
	rc = rc ? rc : ack_json_key(&j, "file");
	rc = rc ? rc : ack_json_str(&j, file);
	rc = rc ? rc : ack_json_key(&j, "token");
	rc = rc ? rc : ack_json_str(&j, f->status == ACK_ENOTFOUND ? NULL : f->token);
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
	table_init(&t, 5);
	table_row(&t, "  RECIPIENT", "ACTION", "STATUS", "REMOTE-MTA", "DIAGNOSTIC");
	for (size_t i = 0; i < r->nrcpt; i++) {
		const ack_report_rcpt *p = &r->rcpt[i];
		char addr[1024];

		snprintf(addr, sizeof addr, "  %s", p->final_recipient ?
		    p->final_recipient : p->original_recipient ? p->original_recipient : "-");
		table_row(&t, addr, p->action, p->status, p->remote_mta, p->diagnostic);
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
	if ((rc = slurp(file, &b)) != ACK_OK) {
		ack_buf_free(&b);
		return fail(EXIT_USAGE, "%s: %s", file, rc == ACK_EIO ?
		    strerror(errno) : ack_strerror(rc));
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

int
cmd_parse(int argc, char **argv)
{
	struct ctl c = { 0 };
	ack_parser *p;
	int i, rc, status = 0;

	if ((i = ctl_options(&c, argc, argv, "parse [--json] [-c FILE] FILE...")) < 0)
		return EXIT_USAGE;
	if (i == argc)
		return fail(EXIT_USAGE, "usage: ackctl parse [--json] [-c FILE] FILE...");
	if (c.conf_given || c.keyfile != NULL) {
		if ((rc = ctl_open_keys(&c)) != 0)
			return rc;
	}
	if (ctl_load_config(&c, false) != 0 ||
	    ack_parser_new(&p, (size_t)c.cfg->report_max_size) != ACK_OK)
		return fail(EXIT_USAGE, "cannot set up the parser");
	for (; i < argc; i++)
		if ((rc = parse_one(&c, p, argv[i])) != 0)
			status = rc;
	ack_parser_free(p);
	ctl_close(&c);
	return status;
}
