/*
 * config.c - the table of ackmilter.conf keys and the loader that applies
 * a file over the defaults.
 *
 * Every key is spelled once, in keys[] below: name, type, default (text
 * parsed by the same code as a file value), bounds, enum words, a one-line
 * doc and the offset of its field in struct ack_config.  Each type has one
 * parser, one destructor and one printer, in config_types.c.  The loader
 * reads "Key value" lines and stops at the first problem with
 * "file:line: what is wrong".
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_types.h"
#include "internal.h"

#define MSG_LEN 512 /* one problem description */

static const ack_config_key keys[] = {
	{ .name = "Socket", .type = ACK_CT_STRING,
	  .def = "unix:/run/ackmilter/ackmilter.sock",
	  .doc = "libmilter socket: unix:/path, inet:port@host or inet6:port@host",
	  .offset = FIELD(socket) },
	{ .name = "KeyFile", .type = ACK_CT_PATH,
	  .def = "/etc/ackmilter/keys",
	  .doc = "file of token signing keys (mode 0600)",
	  .offset = FIELD(key_file) },
	{ .name = "Database", .type = ACK_CT_PATH,
	  .def = "/var/lib/ackmilter",
	  .doc = "directory of the LMDB receipt store",
	  .offset = FIELD(database) },
	{ .name = "DatabaseMapSize", .type = ACK_CT_SIZE,
	  .def = "1g", .min = MIB, .max = TIB,
	  .doc = "largest size the receipt store may grow to",
	  .offset = FIELD(database_map_size) },
	{ .name = "GroupCommit", .type = ACK_CT_BOOL,
	  .def = "yes",
	  .doc = "share one durable store commit among concurrent messages",
	  .offset = FIELD(group_commit) },
	{ .name = "CommitDelay", .type = ACK_CT_INT,
	  .def = "5", .min = 0, .max = 100,
	  .doc = "milliseconds a shared store commit may wait for more concurrent messages",
	  .offset = FIELD(commit_delay) },
	{ .name = "SubmissionDaemons", .type = ACK_CT_LIST,
	  .def = "ORIGINATING",
	  .doc = "MTA daemon names ({daemon_name}) whose mail is outgoing",
	  .offset = FIELD(submission_daemons) },
	{ .name = "InternalHosts", .type = ACK_CT_NETLIST,
	  .def = NULL,
	  .doc = "client addresses and networks whose mail is outgoing",
	  .offset = FIELD(internal_hosts) },
	{ .name = "AuthenticatedOutgoing", .type = ACK_CT_BOOL,
	  .def = "yes",
	  .doc = "mail from SASL-authenticated clients is outgoing",
	  .offset = FIELD(authenticated_outgoing) },
	{ .name = "ReturnPath", .type = ACK_CT_TEMPLATE,
	  .def = NULL,
	  .doc = "signed envelope sender such as bounces+%t@example.org; unset keeps the sender",
	  .offset = FIELD(return_path) },
	{ .name = "Notify", .type = ACK_CT_NOTIFY,
	  .def = "SUCCESS,FAILURE,DELAY",
	  .doc = "DSN NOTIFY requested for recipients the client left without one",
	  .offset = FIELD(notify) },
	{ .name = "Ret", .type = ACK_CT_ENUM,
	  .def = "hdrs", .words = "hdrs|full",
	  .doc = "DSN RET: return the headers or the full message",
	  .offset = FIELD(ret) },
	{ .name = "ReadReceipts", .type = ACK_CT_ENUM,
	  .def = "keep", .words = "never|always|keep",
	  .doc = "read receipt (MDN) policy",
	  .offset = FIELD(read_receipts) },
	{ .name = "OnError", .type = ACK_CT_ENUM,
	  .def = "accept", .words = "accept|tempfail",
	  .doc = "what to do with a message when tracking fails",
	  .offset = FIELD(on_error) },
	{ .name = "ReportAction", .type = ACK_CT_ENUM,
	  .def = "discard", .words = "discard|pass|hold",
	  .doc = "what to do with a report once it is recorded",
	  .offset = FIELD(report_action) },
	{ .name = "ReportMaxSize", .type = ACK_CT_SIZE,
	  .def = "4m", .min = 64 * KIB, .max = 64 * MIB,
	  .doc = "bytes of an incoming report that are parsed",
	  .offset = FIELD(report_max_size) },
	{ .name = "TrackingHeader", .type = ACK_CT_STRING,
	  .def = "Ack-Tracking-Id",
	  .doc = "name of the header field that carries the token",
	  .offset = FIELD(tracking_header) },
	{ .name = "UserID", .type = ACK_CT_STRING,
	  .def = NULL,
	  .doc = "user or user:group to run as after opening the socket",
	  .offset = FIELD(user_id) },
	{ .name = "PidFile", .type = ACK_CT_PATH,
	  .def = NULL,
	  .doc = "file to write the process id to",
	  .offset = FIELD(pid_file) },
	{ .name = "SyslogFacility", .type = ACK_CT_WORD,
	  .def = "mail",
	  .words = "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7|user",
	  .doc = "syslog facility of the log",
	  .offset = FIELD(syslog_facility) },
	{ .name = "LogVerbose", .type = ACK_CT_BOOL,
	  .def = "no",
	  .doc = "log one line per message and per report",
	  .offset = FIELD(log_verbose) },
	{ .name = "SocketBacklog", .type = ACK_CT_INT,
	  .def = "128", .min = 1, .max = 65535,
	  .doc = "listen(2) backlog of the milter socket",
	  .offset = FIELD(socket_backlog) },
	{ .name = "MilterTimeout", .type = ACK_CT_INT,
	  .def = "300", .min = 1, .max = 86400,
	  .doc = "seconds to wait for the MTA before giving up a connection",
	  .offset = FIELD(milter_timeout) },
	{ .name = "PatternDir", .type = ACK_CT_PATH,
	  .def = PKGDATADIR "/patterns",
	  .doc = "directory of the *.pat files that recognise non-standard bounces and auto-replies",
	  .offset = FIELD(pattern_dir) },
	{ .name = NULL },
};

#define NKEYS (ACK_ARRAY_LEN(keys) - 1)

const ack_config_key *
ack_config_keys(void)
{
	return keys;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void *
field_of(const ack_config *c, const ack_config_key *k)
{
	return (char *)c + k->offset;
}

static bool
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------------ */
/* Printing, defaults, freeing                                         */
/* ------------------------------------------------------------------ */

void
ack_config_dump(const ack_config *c, FILE *fp)
{
	for (const ack_config_key *k = keys; k->name != NULL; k++) {
		fputs(k->name, fp);
		ack__config_print(k, field_of(c, k), fp);
		fputc('\n', fp);
	}
}

void
ack_config_free(ack_config *c)
{
	if (c == NULL)
		return;
	for (const ack_config_key *k = keys; k->name != NULL; k++)
		ack__config_clear(k, field_of(c, k));
	free(c);
}

int
ack_config_defaults(ack_config **out)
{
	char msg[MSG_LEN];
	ack_config *c;
	int rc = ACK_OK;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return ACK_ENOMEM;
	for (const ack_config_key *k = keys; k->name != NULL && rc == ACK_OK; k++)
		rc = ack__config_set(k, k->def ? k->def : "", field_of(c, k),
		    msg, sizeof msg);
	if (rc != ACK_OK) {
		ack_config_free(c);
		return rc == ACK_ENOMEM ? ACK_ENOMEM : ACK_EINVAL;
	}
	*out = c;
	return ACK_OK;
}

/* ------------------------------------------------------------------ */
/* Loading a file                                                      */
/* ------------------------------------------------------------------ */

/* Case-insensitive edit distance of a and b, or 99 when clearly far. */
static unsigned
distance(const char *a, const char *b)
{
	unsigned row[32], i, j;
	size_t la = strlen(a), lb = strlen(b);

	if (la >= ACK_ARRAY_LEN(row) || lb >= ACK_ARRAY_LEN(row) ||
	    (la > lb ? la - lb : lb - la) > 2)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned sub = diag + (ack__strncasecmp(a + i - 1, b + j - 1, 1) != 0);

			row[j] = sub;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

static const ack_config_key *
find_key(const char *name)
{
	for (const ack_config_key *k = keys; k->name != NULL; k++)
		if (ack__strcasecmp(k->name, name) == 0)
			return k;
	return NULL;
}

static void
unknown_key(const char *name, char *msg, size_t msglen)
{
	char q[QUOTE_MAX * 4 + 8];
	const ack_config_key *best = NULL;
	unsigned bestd = 3;

	for (const ack_config_key *k = keys; k->name != NULL; k++) {
		unsigned d = distance(name, k->name);

		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	if (best != NULL)
		snprintf(msg, msglen, "unknown key %s; did you mean \"%s\"?",
		    ack__config_quote(name, q, sizeof q), best->name);
	else
		snprintf(msg, msglen, "unknown key %s", ack__config_quote(name, q, sizeof q));
}

/* Cut a comment ('#' at the start or after a blank) and trailing blanks. */
static void
strip_line(char *line)
{
	size_t n;

	for (char *p = line; *p != '\0'; p++)
		if (*p == '#' && (p == line || is_blank(p[-1]))) {
			*p = '\0';
			break;
		}
	n = strlen(line);
	while (n > 0 && is_blank(line[n - 1]))
		line[--n] = '\0';
}

/*
 * Apply one line.  seen[] holds the line each key was set on.  On failure
 * msg gets the problem (prefixed by the key name where there is one).
 */
static int
apply_line(ack_config *c, unsigned seen[], unsigned lineno, char *line,
    char *msg, size_t msglen)
{
	const ack_config_key *k;
	char *name, *value, sub[MSG_LEN - 64];
	int rc;

	strip_line(line);
	name = line + strspn(line, " \t");
	if (*name == '\0')
		return ACK_OK;
	value = name + strcspn(name, " \t");
	if (*value != '\0') {
		*value++ = '\0';
		value += strspn(value, " \t");
	}
	if ((k = find_key(name)) == NULL) {
		unknown_key(name, msg, msglen);
		return ACK_ECONFIG;
	}
	if (seen[k - keys] != 0) {
		snprintf(msg, msglen, "%s: already set on line %u", k->name,
		    seen[k - keys]);
		return ACK_ECONFIG;
	}
	seen[k - keys] = lineno;
	if ((rc = ack__config_set(k, value, field_of(c, k), sub,
	    sizeof sub)) != ACK_OK)
		snprintf(msg, msglen, "%s: %s", k->name,
		    rc == ACK_ENOMEM ? "out of memory" : sub);
	return rc;
}

/*
 * Read one line into line[LINE_MAX_BYTES + 1] without its line end.
 * Returns 1 for a line, 0 at end of file, or ACK_ECONFIG with msg set.
 */
static int
read_line(FILE *fp, char *line, char *msg, size_t msglen)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(fp)) != EOF && ch != '\n') {
		if (ch == '\0') {
			snprintf(msg, msglen, "NUL byte in line");
			return ACK_ECONFIG;
		}
		if (n == LINE_MAX_BYTES + 1) {
			snprintf(msg, msglen, "line longer than %d bytes", LINE_MAX_BYTES);
			return ACK_ECONFIG;
		}
		line[n++] = (char)ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n > LINE_MAX_BYTES) {
		snprintf(msg, msglen, "line longer than %d bytes", LINE_MAX_BYTES);
		return ACK_ECONFIG;
	}
	line[n] = '\0';
	if (ch == EOF && ferror(fp)) {
		snprintf(msg, msglen, "read error: %s", strerror(errno));
		return ACK_ECONFIG;
	}
	return ch == EOF && n == 0 ? 0 : 1;
}

static int
load_stream(ack_config *c, FILE *fp, const char *path, char *err, size_t errlen)
{
	char line[LINE_MAX_BYTES + 2], msg[MSG_LEN];
	unsigned seen[NKEYS] = { 0 }, lineno = 0;
	int rc;

	for (;;) {
		lineno++;
		if ((rc = read_line(fp, line, msg, sizeof msg)) == 0)
			return ACK_OK;
		if (rc == 1)
			rc = apply_line(c, seen, lineno, line, msg, sizeof msg);
		if (rc != ACK_OK) {
			ack__seterr(err, errlen, "%s:%u: %s", path, lineno, msg);
			return rc == ACK_ENOMEM ? ACK_ENOMEM : ACK_ECONFIG;
		}
	}
}

int
ack_config_load(ack_config **out, const char *path, char *err, size_t errlen)
{
	ack_config *c;
	FILE *fp;
	int rc;

	*out = NULL;
	ack__seterr(err, errlen, "%s", "");
	if ((rc = ack_config_defaults(&c)) != ACK_OK) {
		ack__seterr(err, errlen, "%s: %s", path, ack_strerror(rc));
		return rc;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		ack__seterr(err, errlen, "%s: %s", path, strerror(errno));
		ack_config_free(c);
		return ACK_ECONFIG;
	}
	rc = load_stream(c, fp, path, err, errlen);
	fclose(fp);
	if (rc != ACK_OK) {
		ack_config_free(c);
		return rc;
	}
	*out = c;
	return ACK_OK;
}
