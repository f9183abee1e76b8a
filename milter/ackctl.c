/*
 * ackctl.c - the command line tool for mail administrators: dispatch to
 * the commands, common options, and the output helpers they share.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

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
	{ "overdue", cmd_overdue, "overdue [--json] --after DURATION|TIME "
	    "[--expect dsn|mdn]" },
	{ "explain", cmd_explain, "explain [--json] TOKEN|MESSAGE-ID [RECIPIENT]" },
	{ "stats", cmd_stats, "stats [--json] [--since T] [--by domain|state|day]" },
	{ "export", cmd_export, "export [--since CURSOR] [--follow]" },
	{ "ingest", cmd_ingest, "ingest [--json] [--maildir DIR | --mbox FILE | FILE...]" },
	{ "purge", cmd_purge, "purge [--json] --older-than DURATION|TIME [--dry-run]" },
	{ "parse", cmd_parse, "parse [--json] [--patterns DIR] [--bench] FILE..." },
	{ "verify", cmd_verify, "verify [--json] [-k KEYFILE] TOKEN" },
	{ "keygen", cmd_keygen, "keygen [--json] [FILE]" },
	{ "config", cmd_config, "config [--json] [--keys]" },
	{ "help", NULL, "help [COMMAND]" },
};

/* The synopsis of every command, on standard output (ackctl help). */
static int
usage(void)
{
	printf("usage: ackctl [-c config-file | -d dbdir] command [arguments]\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		printf("       ackctl %s\n", commands[i].help);
	return 0;
}

/* Hand the command its arguments with the global options re-inserted. */
static int
run(const struct command *cmd, const char *conf, const char *dbdir, int argc,
    char **argv)
{
	char **args = calloc((size_t)argc + 5, sizeof *args);
	int n = 0, rc;

	if (args == NULL)
		return fail(EXIT_USAGE, "out of memory");
	args[n++] = argv[0];
	if (conf) { args[n++] = (char *)"-c"; args[n++] = (char *)conf; }
	if (dbdir) { args[n++] = (char *)"-d"; args[n++] = (char *)dbdir; }
	for (int j = 1; j < argc; j++)
		args[n++] = argv[j];
	args[n] = NULL;
	rc = cmd->run(n, args);
	free(args);
	return rc;
}

/* ackctl help [COMMAND]: the synopsis of every command, or of one. */
static int
help(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			printf("usage: ackctl %s\n", commands[i].help);
			return 0;
		}
	return fail(EXIT_USAGE, "help: unknown command '%s' (see ackctl help)", argv[1]);
}

int
fail(int status, const char *fmt, ...)
{
	va_list ap;

	progress_done();
	fputs("ackctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/*
 * The one-line message for an option getopt_long refused (ch '?' or ':').
 * It leaves in optopt the short option, or the long option's value when the
 * name was known (0 when not), and the option's word before optind.
 */
static void
bad_option(char **argv, int ch)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "";
	int n = (int)strcspn(opt, "=");
	bool islong = strncmp(opt, "--", 2) == 0;
	char shortopt[3] = { '-', (char)optopt, '\0' };

	if (!islong && optopt > 0 && optopt < 128) {
		opt = shortopt;
		n = 2;
	}
	if (ch == ':' || (islong && optopt != 0 && opt[n] == '='))
		fail(0, "%s: option '%.*s' %s (see ackctl help %s)", argv[0], n, opt,
		    ch == ':' ? "needs a value" : "takes no value", argv[0]);
	else
		fail(0, "%s: unknown option '%.*s' (see ackctl help %s)", argv[0], n,
		    opt, argv[0]);
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
	opterr = 0; /* one line of our own instead of getopt's and a usage */
	while ((ch = getopt_long(argc, argv, ":c:d:k:h", longopts, NULL)) != -1) {
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
			bad_option(argv, ch);
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
	if (rc != ACK_OK) {
		fail(0, "%s", err);
		ctl_close(c);
		return EXIT_USAGE;
	}
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
	if ((rc = ack_keys_load(&c->keys, path, err, sizeof err)) != ACK_OK) {
		fail(0, "%s", err);
		ctl_close(c);
		return EXIT_USAGE;
	}
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

/*
 * The progress bar: one line on standard error, redrawn in place, only when
 * standard error is a terminal.  A line written meanwhile to the same
 * terminal (a per-file result on standard output, a warning through fail)
 * first takes the bar off, and the next progress_show draws it again below
 * that line, so lines and bar never run into each other.
 */
#define BAR_WIDTH 30
#define BAR_INTERVAL_NS 100000000LL /* redraw at most ten times a second */

static struct {
	bool visible;
	int64_t drawn; /* monotonic ns of the last drawing */
	int fill;
} bar;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Do standard output and standard error go to the same terminal? */
static bool
stdout_shares_bar(void)
{
	static int shared = -1;
	struct stat o, e;

	if (shared < 0)
		shared = isatty(STDOUT_FILENO) && fstat(STDOUT_FILENO, &o) == 0 &&
		    fstat(STDERR_FILENO, &e) == 0 && o.st_rdev == e.st_rdev;
	return shared;
}

void
progress_show(const char *what, uint64_t done, uint64_t total)
{
	int fill;

	if (!isatty(STDERR_FILENO))
		return;
	fill = total ? (int)(done * (uint64_t)BAR_WIDTH / total) : 0;
	if (fill > BAR_WIDTH)
		fill = BAR_WIDTH;
	/* Throttled, but the bar's steps and the last count always show. */
	if (bar.visible && fill == bar.fill && done < total &&
	    mono_ns() - bar.drawn < BAR_INTERVAL_NS)
		return;
	fflush(stdout);
	fprintf(stderr, "\r\033[K%s [%.*s%*s] %llu/%llu", what, fill,
	    "##############################", BAR_WIDTH - fill, "",
	    (unsigned long long)done, (unsigned long long)total);
	fflush(stderr);
	bar.visible = true;
	bar.fill = fill;
	bar.drawn = mono_ns();
}

void
progress_done(void)
{
	if (!bar.visible)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	bar.visible = false;
}

void
progress_pause(void)
{
	if (stdout_shares_bar())
		progress_done();
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

int
json_hard(ack_json *j, int hard)
{
	if (hard == ACK_HARD_UNKNOWN)
		return ack_json_null(j);
	return ack_json_bool(j, hard == ACK_HARD_YES);
}

const char *
fmt_reason(const char *reason, int hard, char *out, size_t len)
{
	if (reason == NULL || hard == ACK_HARD_UNKNOWN)
		return reason;
	snprintf(out, len, "%s (%s)", reason, hard == ACK_HARD_YES ? "hard" : "soft");
	return out;
}

const char *
fmt_status(const char *status, const char *refined, char *out, size_t len)
{
	if (status == NULL || refined == NULL)
		return status;
	snprintf(out, len, "%s>%s", status, refined);
	return out;
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

/* Is the user's locale UTF-8 (setlocale(LC_CTYPE, "") in main)? */
static bool
utf8_locale(void)
{
	static int utf8 = -1;

	if (utf8 < 0)
		utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return utf8;
}

/*
 * Display width in terminal columns.  ack_safe_text left valid UTF-8 with
 * only printable characters: under a UTF-8 locale wcwidth counts wide (CJK)
 * characters as two columns and combining ones as none; otherwise (the C
 * locale) each code point counts one.
 */
static size_t
width(const char *s)
{
	const char *end = s + strlen(s);
	mbstate_t st;
	size_t w = 0, n;
	wchar_t wc;
	int cw;

	if (!utf8_locale()) {
		for (; *s; s++)
			w += ((unsigned char)*s & 0xc0) != 0x80;
		return w;
	}
	memset(&st, 0, sizeof st);
	while (s < end) {
		n = mbrtowc(&wc, s, (size_t)(end - s), &st);
		if (n == 0 || n == (size_t)-1 || n == (size_t)-2) {
			memset(&st, 0, sizeof st);
			w++;
			s++;
			continue;
		}
		cw = wcwidth(wc);
		w += cw < 0 ? 1 : (size_t)cw;
		s += n;
	}
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

	/* Only the character type: display widths; times and numbers stay C. */
	setlocale(LC_CTYPE, "");
	/* Options before the command apply to it (ackctl -d DIR show X). */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-d") == 0) {
			if (i + 1 >= argc)
				return fail(EXIT_USAGE, "option '%s' needs a value "
				    "(see ackctl help)", argv[i]);
			*(argv[i][1] == 'c' ? &conf : &dbdir) = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			return usage();
		} else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("ackctl %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			return fail(EXIT_USAGE, "unknown option '%s' (see ackctl help)",
			    argv[i]);
		}
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return fail(EXIT_USAGE, "no command given (see ackctl help)");
	if (strcmp(argv[i], "help") == 0)
		return help(argc - i, argv + i);
	for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
		if (commands[k].run == NULL || strcmp(argv[i], commands[k].name) != 0)
			continue;
		return run(&commands[k], conf, dbdir, argc - i, argv + i);
	}
	return fail(EXIT_USAGE, "unknown command '%s' (see ackctl help)", argv[i]);
}
