/*
 * ackctl.h - shared pieces of the ackctl commands: options, opening the
 * store and keys, output helpers (tables for people, JSON for scripts).
 */
#ifndef ACK_CTL_H
#define ACK_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "ackmilter.h"

/* Exit statuses: scripts rely on them. */
#define EXIT_NOTFOUND 1 /* nothing found / condition not met */
#define EXIT_USAGE 2    /* usage or data error */

struct ctl {
	const char *conf;   /* -c */
	const char *dbdir;  /* -d */
	const char *keyfile; /* -k */
	bool json;          /* --json */
	bool conf_given;
	ack_config *cfg;
	ack_store *store;
	ack_keys *keys;
};

/* Print "ackctl: ..." on stderr and return status (for `return fail(...)`). */
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse the common options of a command; returns optind or -1 on error. */
int ctl_options(struct ctl *c, int argc, char **argv, const char *usage);
int ctl_load_config(struct ctl *c, bool required);
int ctl_open_store(struct ctl *c);
int ctl_open_keys(struct ctl *c);
void ctl_close(struct ctl *c);

/* Write s to stdout with terminal escapes neutralised. */
void put_safe(const char *s);
/* Local time for people: "2026-11-26 07:12:03 CET"; "-" for 0. */
void fmt_local_time(int64_t t, char *out, size_t len);
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

#endif
