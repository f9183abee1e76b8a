/*
 * ackctl.c - the command line tool for mail administrators: dispatch to
 * the commands, common options, and the output helpers they share.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ackctl.h"

#define DEFAULT_CONF SYSCONFDIR "/ackmilter.conf"

static const struct command {
	const char *name;
	int (*run)(int, char **);
	const char *help;
} commands[] = {
	{ "show", cmd_show, "show [--json] TOKEN|MESSAGE-ID|QUEUE-ID" },
	{ "list", cmd_list, "list [--json] [--state S[,S]] [--since T] [--until T] "
	    "[--sender A] [--recipient A|@DOMAIN] [--limit N]" },
	{ "overdue", cmd_overdue, "overdue [--json] --after DURATION [--expect dsn|mdn]" },
	{ "explain", cmd_explain, "explain [--json] TOKEN|MESSAGE-ID [RECIPIENT]" },
	{ "stats", cmd_stats, "stats [--json] [--since T] [--by domain|state|day]" },
	{ "export", cmd_export, "export [--since CURSOR] [--follow]" },
	{ "ingest", cmd_ingest, "ingest [--json] [--maildir DIR | --mbox FILE | FILE...]" },
	{ "purge", cmd_purge, "purge [--json] --older-than DURATION [--dry-run]" },
	{ "parse", cmd_parse, "parse [--json] FILE..." },
	{ "verify", cmd_verify, "verify TOKEN" },
	{ "keygen", cmd_keygen, "keygen [FILE]" },
	{ "config", cmd_config, "config [--keys]" },
};

static int
usage(FILE *fp, int status)
{
	fprintf(fp, "usage: ackctl [-c config-file | -d dbdir] command [arguments]\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(fp, "       ackctl %s\n", commands[i].help);
	return status;
}

int
fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("ackctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int
ctl_getopt(struct ctl *c, int argc, char **argv, const char *use,
    const struct option *extra, ctl_opt_fn fn, void *arg)
{
	static const struct option common[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "patterns", required_argument, NULL, 'P' },
		{ "bench", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option longopts[32];
	size_t n = 0;
	int ch, rc;

	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
		longopts[n++] = common[i];
	for (; extra && extra[0].name && n < 31; extra++)
		longopts[n++] = extra[0];
	memset(&longopts[n], 0, sizeof longopts[n]);
	if (c->conf == NULL)
		c->conf = DEFAULT_CONF;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:d:k:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->conf = optarg; c->conf_given = true; break;
		case 'd': c->dbdir = optarg; break;
		case 'k': c->keyfile = optarg; break;
		case 'j': c->json = true; break;
		case 'P': c->patterns = optarg; break;
		case 'B': c->bench = true; break;
		case 'h': printf("usage: ackctl %s\n", use); exit(0);
		default:
			if (ch >= 256 && fn != NULL) {
				if ((rc = fn(arg, ch, optarg)) != 0)
					return -1;
				break;
			}
			fprintf(stderr, "usage: ackctl %s\n", use);
			return -1;
		}
	}
	return optind;
}

int
ctl_options(struct ctl *c, int argc, char **argv, const char *use)
{
	return ctl_getopt(c, argc, argv, use, NULL, NULL, NULL);
}

int64_t
ctl_now(void)
{
	const char *env = getenv("ACKCTL_NOW");
	int64_t t;
	char *end;

	if (env != NULL && *env != '\0') {
		long long v = strtoll(env, &end, 10);

		if (*end == '\0')
			return (int64_t)v;
		if (ack_time_parse(env, 0, &t) == ACK_OK)
			return t;
	}
	return (int64_t)time(NULL);
}

int
ctl_parse_time(const char *opt, const char *s, int64_t *t)
{
	if (ack_time_parse(s, ctl_now(), t) == ACK_OK)
		return 0;
	return fail(EXIT_USAGE, "%s: \"%s\" is neither a duration (90d, 12h, 30m) "
	    "nor an RFC 3339 time", opt, s);
}

int
ctl_parse_duration(const char *opt, const char *s, int64_t *secs)
{
	if (ack_duration_parse(s, secs) == ACK_OK)
		return 0;
	return fail(EXIT_USAGE, "%s: \"%s\" is not a duration (90d, 12h, 30m, 45s, 2w)",
	    opt, s);
}

int
ctl_parse_count(const char *opt, const char *s, uint64_t *n)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0)
		return fail(EXIT_USAGE, "%s: \"%s\" is not a number", opt, s);
	*n = (uint64_t)v;
	return 0;
}

int
ctl_load_config(struct ctl *c, bool required)
{
	char err[1024];
	int rc;

	if (c->cfg != NULL)
		return 0;
	if (!c->conf_given && !required && access(c->conf, F_OK) != 0)
		rc = ack_config_defaults(&c->cfg);
	else
		rc = ack_config_load(&c->cfg, c->conf, err, sizeof err);
	if (rc != ACK_OK)
		return fail(EXIT_USAGE, "%s", rc == ACK_ECONFIG ? err : ack_strerror(rc));
	return 0;
}

static int
open_store(struct ctl *c, unsigned flags)
{
	char err[1024];
	const char *dir = c->dbdir;
	int rc;

	if (dir == NULL) {
		if ((rc = ctl_load_config(c, false)) != 0)
			return rc;
		dir = c->cfg->database;
	}
	rc = ack_store_open(&c->store, dir, flags, 0, err, sizeof err);
	if (rc != ACK_OK)
		return fail(EXIT_USAGE, "%s", err);
	return 0;
}

int
ctl_open_store(struct ctl *c)
{
	return open_store(c, ACK_STORE_RDONLY);
}

int
ctl_open_store_rw(struct ctl *c)
{
	return open_store(c, 0);
}

int
ctl_open_keys(struct ctl *c)
{
	char err[1024];
	const char *path = c->keyfile;
	int rc;

	if (path == NULL) {
		if ((rc = ctl_load_config(c, false)) != 0)
			return rc;
		path = c->cfg->key_file;
	}
	if ((rc = ack_keys_load(&c->keys, path, err, sizeof err)) != ACK_OK)
		return fail(EXIT_USAGE, "%s", err);
	return 0;
}

void
ctl_close(struct ctl *c)
{
	ack_store_close(c->store);
	ack_keys_free(c->keys);
	ack_config_free(c->cfg);
	c->store = NULL;
	c->keys = NULL;
	c->cfg = NULL;
}

int
ctl_slurp(const char *path, ack_buf *b)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = ACK_OK;

	if (fp == NULL)
		return fail(EXIT_USAGE, "%s: %s", path, strerror(errno));
	while (rc == ACK_OK && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		rc = ack_buf_add(b, chunk, n);
	if (rc == ACK_OK && ferror(fp))
		rc = ACK_EIO;
	if (fp != stdin)
		fclose(fp);
	if (rc != ACK_OK)
		return fail(EXIT_USAGE, "%s: %s", path, rc == ACK_ETOOBIG ?
		    "too large" : "read error");
	return 0;
}

char *
ctl_strdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		exit(fail(EXIT_USAGE, "out of memory"));
	return p;
}

void
put_safe(const char *s)
{
	ack_buf b;

	ack_buf_init(&b, 0);
	if (s != NULL && ack_safe_text(&b, s, strlen(s)) == ACK_OK)
		fputs(b.data, stdout);
	ack_buf_free(&b);
}

void
fmt_local_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL) {
		snprintf(out, len, "-");
		return;
	}
	strftime(out, len, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

void
fmt_duration(int64_t secs, char *out, size_t len)
{
	int64_t d = secs / 86400, h = secs % 86400 / 3600, m = secs % 3600 / 60;

	if (secs < 0)
		snprintf(out, len, "-");
	else if (d > 0)
		snprintf(out, len, "%lldd %02lldh", (long long)d, (long long)h);
	else if (h > 0)
		snprintf(out, len, "%lldh %02lldm", (long long)h, (long long)m);
	else if (m > 0)
		snprintf(out, len, "%lldm %02llds", (long long)m, (long long)(secs % 60));
	else
		snprintf(out, len, "%llds", (long long)secs);
}

const char *
addr_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : "";
}

static bool progress_on;

void
progress_show(const char *what, uint64_t done, uint64_t total)
{
	int width = 30, fill;

	if (!isatty(STDERR_FILENO))
		return;
	fill = total ? (int)(done * (uint64_t)width / total) : 0;
	if (fill > width)
		fill = width;
	fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", what, fill,
	    "##############################", width - fill, "",
	    (unsigned long long)done, (unsigned long long)total);
	fflush(stderr);
	progress_on = true;
}

void
progress_done(void)
{
	if (progress_on)
		fputs("\r\033[K", stderr);
	progress_on = false;
}

int
json_ratio(ack_json *j, uint64_t num, uint64_t den)
{
	uint64_t r;
	int rc;

	if (den == 0)
		return ack_json_null(j);
	r = (num * 10000 + den / 2) / den;
	if ((rc = ack_json_int(j, (int64_t)(r / 10000))) != ACK_OK)
		return rc;
	return ack_buf_printf(j->out, ".%04u", (unsigned)(r % 10000));
}

void
put_json_line(ack_buf *b)
{
	if (fwrite(b->data, 1, b->len, stdout) != b->len || putchar('\n') == EOF)
		exit(fail(EXIT_USAGE, "write error on standard output"));
}

void
table_init(struct table *t, size_t ncol)
{
	memset(t, 0, sizeof *t);
	t->ncol = ncol;
}

void
table_row(struct table *t, ...)
{
	va_list ap;

	if (t->nrow == t->size) {
		size_t size = t->size ? t->size * 2 : 8;
		char **v = reallocarray(t->cell, size * t->ncol, sizeof *v);

		if (v == NULL)
			exit(fail(EXIT_USAGE, "out of memory"));
		t->cell = v;
		t->size = size;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncol; i++) {
		const char *s = va_arg(ap, const char *);
		ack_buf b;

		ack_buf_init(&b, 0);
		if (ack_safe_text(&b, s ? s : "-", strlen(s ? s : "-")) != ACK_OK)
			exit(fail(EXIT_USAGE, "out of memory"));
		t->cell[t->nrow * t->ncol + i] = b.data;
	}
	va_end(ap);
	t->nrow++;
}

/* Display width: UTF-8 code points (ack_safe_text left only printable ones). */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void
table_print(struct table *t)
{
	size_t w[16] = { 0 };

	for (size_t r = 0; r < t->nrow; r++)
		for (size_t i = 0; i < t->ncol && i < 16; i++)
			if (width(t->cell[r * t->ncol + i]) > w[i])
				w[i] = width(t->cell[r * t->ncol + i]);
	for (size_t r = 0; r < t->nrow; r++) {
		for (size_t i = 0; i < t->ncol; i++) {
			const char *s = t->cell[r * t->ncol + i];

			fputs(s, stdout);
			if (i + 1 < t->ncol)
				printf("%*s", (int)(w[i < 16 ? i : 15] - width(s) + 2), "");
		}
		putchar('\n');
	}
}

void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrow * t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof *t);
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *dbdir = NULL;
	int i = 1;

	/* Options before the command apply to it (ackctl -d DIR show X). */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-d") == 0) && i + 1 < argc) {
			*(argv[i][1] == 'c' ? &conf : &dbdir) = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			return usage(stdout, 0);
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("ackctl %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (i >= argc)
		return usage(stderr, EXIT_USAGE);
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		/* Hand the command its arguments with the global options re-inserted. */
		char **args = calloc((size_t)argc + 5, sizeof *args);
		int n = 0, rc;

		if (args == NULL)
			return fail(EXIT_USAGE, "out of memory");
		args[n++] = argv[i];
		if (conf) { args[n++] = (char *)"-c"; args[n++] = (char *)conf; }
		if (dbdir) { args[n++] = (char *)"-d"; args[n++] = (char *)dbdir; }
		for (int j = i + 1; j < argc; j++)
			args[n++] = argv[j];
		args[n] = NULL;
		rc = commands[k].run(n, args);
		free(args);
		return rc;
	}
	fprintf(stderr, "ackctl: unknown command \"%s\"\n", argv[i]);
	return usage(stderr, EXIT_USAGE);
}
