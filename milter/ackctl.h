/*
 * ackctl.h - shared pieces of the ackctl commands: options, opening the
 * store and keys, output helpers (tables for people, JSON for scripts).
 */
#ifndef ACK_CTL_H
#define ACK_CTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ackmilter.h"

/* Exit statuses: scripts rely on them. */
#define EXIT_NOTFOUND 1 /* nothing found / condition not met */
#define EXIT_USAGE 2    /* usage or data error */

struct ctl {
	const char *conf;   /* -c */
	const char *dbdir;  /* -d */
	const char *keyfile; /* -k */
	bool json;          /* --json */
	const char *patterns; /* --patterns DIR */
	bool bench;         /* --bench (ackctl parse) */
	bool conf_given;
	ack_config *cfg;
	ack_store *store;
	ack_keys *keys;
};

/* Print "ackctl: ..." on stderr (one line; the progress bar is taken off
 * first) and return status (for `return fail(...)`). */
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse the common options of a command; returns optind or -1 on error. */
int ctl_options(struct ctl *c, int argc, char **argv, const char *usage);
int ctl_load_config(struct ctl *c, bool required);
/*
 * Like ctl_options, with command options too: extra (terminated by a zero
 * entry; use val >= 256) are handed to fn, which returns 0 or an exit
 * status for a bad value.  Returns optind, or -1 after a usage message.
 */
typedef int (*ctl_opt_fn)(void *arg, int id, const char *value);
int ctl_getopt(struct ctl *c, int argc, char **argv, const char *usage,
    const struct option *extra, ctl_opt_fn fn, void *arg);
/* ctl_open_store, ctl_open_store_rw and ctl_open_keys: on failure they print
 * why and release what c holds (ctl_close); the caller returns the status. */
int ctl_open_store(struct ctl *c);
/* Read-write (ingest, purge); LMDB serialises writers across processes. */
int ctl_open_store_rw(struct ctl *c);
/* "Now": $ACKCTL_NOW (unix seconds or RFC 3339; a testing aid) or the clock. */
int64_t ctl_now(void);
/*
 * Option values: exit status 0 or EXIT_USAGE after a message.  A time is an
 * RFC 3339 timestamp, a date, or a duration meaning that long before now:
 * the cut-offs of overdue --after and purge --older-than are times too.
 */
int ctl_parse_time(const char *opt, const char *s, int64_t *t);
int ctl_parse_count(const char *opt, const char *s, uint64_t *n);
int ctl_open_keys(struct ctl *c);
/* The pattern library (--patterns, else PatternDir) into *pt; NULL when
 * the configured directory is absent (a warning).  0 or an exit status. */
int ctl_load_patterns(const struct ctl *c, ack_patterns **pt);
void ctl_close(struct ctl *c);

/* Read a whole file ("-": standard input) into b, whose cap bounds it;
 * prints a one-line error and returns EXIT_USAGE on failure. */
int ctl_slurp(const char *path, ack_buf *b);
/* A copy of s (NULL for NULL); exits with a message when memory is out. */
char *ctl_strdup(const char *s);
/* Write s to stdout with terminal escapes neutralised. */
void put_safe(const char *s);
/* Local time for people: "2026-11-26 07:12:03 CET"; "-" for 0. */
void fmt_local_time(int64_t t, char *out, size_t len);
/* "3d 4h", "2h 05m", "42s" */
void fmt_duration(int64_t secs, char *out, size_t len);
/* The domain of an address (after the last @), "" when none. */
const char *addr_domain(const char *addr);
/*
 * A one-line progress bar on standard error, only when it is a terminal.
 * Call progress_pause before writing a line on standard output while the
 * bar is up: when both go to the same terminal the bar is taken off, and
 * the next progress_show draws it again.  progress_done takes it off (fail
 * does too).
 */
void progress_show(const char *what, uint64_t done, uint64_t total);
void progress_pause(void);
void progress_done(void);
/* Print buf's JSON and a newline; exits on a write error. */
void put_json_line(ack_buf *b);

/* A table with columns sized to the data. */
struct table {
	size_t ncol, nrow, size;
	char **cell; /* nrow * ncol, owned */
};
void table_init(struct table *t, size_t ncol);
void table_row(struct table *t, ...); /* ncol strings (NULL prints "-") */
void table_print(struct table *t);
void table_free(struct table *t);

int cmd_keygen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_overdue(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_purge(int argc, char **argv);

/* JSON helpers: write the member only when the call chain is still ok. */
#define JS(expr)                 \
	do {                         \
		if ((expr) != ACK_OK)    \
			return ACK_ENOMEM;   \
	} while (0)
/* A fraction 0..1 with four decimals (the writer has no floating point). */
int json_ratio(ack_json *j, uint64_t num, uint64_t den);
/* A recipient's dsn_hard (ACK_HARD_*): true, false or null. */
int json_hard(ack_json *j, int hard);
/* Its reason for a table: "userunknown (hard)", "mailboxfull (soft)",
 * the reason alone, or NULL. */
const char *fmt_reason(const char *reason, int hard, char *out, size_t len);
/* Its status for a table: the stated one, "5.0.0>5.1.1" when the
 * diagnostic refines it, or NULL. */
const char *fmt_status(const char *status, const char *refined, char *out,
    size_t len);

#endif
