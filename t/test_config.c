/*
 * test_config.c - unit tests of the configuration table and loader
 * (lib/config.c): defaults, a file setting every key, every error path
 * with its "file:line:" prefix, InternalHosts matching and the dump.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ackmilter.h"
#include "tap.h"

static char dir[64];
static char path[128];

/* Write len bytes of text to the test file; returns its name. */
static const char *
put_file(const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(99);
	}
	return path;
}

static int
load_text(const char *text, ack_config **c, char *err, size_t errlen)
{
	err[0] = '\0';
	return ack_config_load(c, put_file(text, strlen(text)), err, errlen);
}

static int
count_keys(void)
{
	int n = 0;

	for (const ack_config_key *k = ack_config_keys(); k->name != NULL; k++)
		n++;
	return n;
}

static void
test_table(void)
{
	const ack_config_key *k;
	int bad = 0;

	is_int(count_keys(), 24, "the table has 24 keys");
	for (k = ack_config_keys(); k->name != NULL; k++) {
		bool enumish = k->type == ACK_CT_ENUM || k->type == ACK_CT_WORD;

		if (k->doc == NULL || k->doc[0] == '\0' || (enumish && k->words == NULL))
			bad++;
		if ((k->type == ACK_CT_INT || k->type == ACK_CT_SIZE) && k->min > k->max)
			bad++;
		for (const ack_config_key *j = ack_config_keys(); j < k; j++)
			if (strcasecmp(j->name, k->name) == 0)
				bad++;
	}
	is_int(bad, 0, "every key has a doc, words where needed, sane bounds, a unique name");
}

static void
test_defaults(void)
{
	ack_config *c = NULL;

	is_int(ack_config_defaults(&c), ACK_OK, "defaults load");
	if (c == NULL)
		return;
	is_str(c->socket, "unix:/run/ackmilter/ackmilter.sock", "Socket default");
	is_str(c->key_file, "/etc/ackmilter/keys", "KeyFile default");
	is_str(c->database, "/var/lib/ackmilter", "Database default");
	is_int(c->database_map_size, 1073741824LL, "DatabaseMapSize default 1g");
	is_int(c->submission_daemons.n, 1, "SubmissionDaemons has one word");
	if (c->submission_daemons.n == 1)
		is_str(c->submission_daemons.v[0], "ORIGINATING", "SubmissionDaemons default");
	is_int(c->n_internal_hosts, 0, "InternalHosts default empty");
	ok(c->internal_hosts == NULL, "InternalHosts array NULL");
	ok(c->authenticated_outgoing, "AuthenticatedOutgoing default yes");
	ok(c->return_path == NULL, "ReturnPath default unset");
	is_int(c->notify, ACK_NOTIFY_SUCCESS | ACK_NOTIFY_FAILURE | ACK_NOTIFY_DELAY,
	    "Notify default");
	is_int(c->ret, 0, "Ret default hdrs");
	is_int(c->read_receipts, ACK_RR_KEEP, "ReadReceipts default keep");
	is_int(c->on_error, ACK_ONERROR_ACCEPT, "OnError default accept");
	is_int(c->report_action, ACK_RA_DISCARD, "ReportAction default discard");
	is_int(c->report_max_size, 4 * 1024 * 1024, "ReportMaxSize default 4m");
	is_str(c->tracking_header, "Ack-Tracking-Id", "TrackingHeader default");
	ok(c->user_id == NULL, "UserID default unset");
	ok(c->pid_file == NULL, "PidFile default unset");
	is_str(c->syslog_facility, "mail", "SyslogFacility default");
	ok(!c->log_verbose, "LogVerbose default no");
	is_int(c->socket_backlog, 128, "SocketBacklog default");
	is_int(c->milter_timeout, 300, "MilterTimeout default");
	is_int(c->commit_delay, 5, "CommitDelay default 5 ms");
	ack_config_free(c);
}

static const char full_file[] =
	"# every key, none at its default\n"
	"Socket inet:8891@127.0.0.1\n"
	"KeyFile /etc/ack/k\n"
	"Database /srv/ack db\n"
	"DatabaseMapSize 2G\n"
	"SubmissionDaemons ORIGINATING, submission  smtps,,relay\n"
	"InternalHosts 127.0.0.1, 10.1.2.3/8 ::1 2001:db8::ff/32\n"
	"AuthenticatedOutgoing no\n"
	"ReturnPath bounces+%t@example.org\n"
	"Notify failure, delay\n"
	"Ret FULL\n"
	"ReadReceipts always\n"
	"OnError tempfail\n"
	"ReportAction hold\n"
	"ReportMaxSize 65536\n"
	"TrackingHeader X-Ack\n"
	"UserID ackmilter:ackmilter\n"
	"PidFile /run/ackmilter/ackmilter.pid\n"
	"SyslogFacility LOCAL3\n"
	"LogVerbose true\n"
	"SocketBacklog 65535\n"
	"MilterTimeout 1\n"
	"CommitDelay 0\n";

static void
check_full(const ack_config *c)
{
	const ack_strlist *l = &c->submission_daemons;

	is_str(c->socket, "inet:8891@127.0.0.1", "Socket set");
	is_str(c->key_file, "/etc/ack/k", "KeyFile set");
	is_str(c->database, "/srv/ack db", "Database kept verbatim with a blank");
	is_int(c->database_map_size, 2LL << 30, "DatabaseMapSize 2G");
	is_int(l->n, 4, "SubmissionDaemons four words");
	if (l->n == 4) {
		is_str(l->v[0], "ORIGINATING", "list word 1");
		is_str(l->v[1], "submission", "list word 2");
		is_str(l->v[2], "smtps", "list word 3");
		is_str(l->v[3], "relay", "list word 4");
	}
	is_int(c->n_internal_hosts, 4, "InternalHosts four nets");
	if (c->n_internal_hosts == 4) {
		is_int(c->internal_hosts[1].prefix, 8, "10.1.2.3/8 prefix");
		ok(memcmp(c->internal_hosts[1].addr, "\x0a\0\0\0", 4) == 0,
		    "10.1.2.3/8 masked to 10.0.0.0");
		is_int(c->internal_hosts[2].family, AF_INET6, "::1 is IPv6");
		is_int(c->internal_hosts[2].prefix, 128, "::1 prefix 128");
		is_int(c->internal_hosts[0].prefix, 32, "127.0.0.1 prefix 32");
	}
	ok(!c->authenticated_outgoing, "AuthenticatedOutgoing no");
	is_str(c->return_path, "bounces+%t@example.org", "ReturnPath set");
	is_int(c->notify, ACK_NOTIFY_FAILURE | ACK_NOTIFY_DELAY, "Notify set");
	is_int(c->ret, 1, "Ret FULL");
	is_int(c->read_receipts, ACK_RR_ALWAYS, "ReadReceipts always");
	is_int(c->on_error, ACK_ONERROR_TEMPFAIL, "OnError tempfail");
	is_int(c->report_action, ACK_RA_HOLD, "ReportAction hold");
	is_int(c->report_max_size, 65536, "ReportMaxSize 65536");
	is_str(c->tracking_header, "X-Ack", "TrackingHeader set");
	is_str(c->user_id, "ackmilter:ackmilter", "UserID set");
	is_str(c->pid_file, "/run/ackmilter/ackmilter.pid", "PidFile set");
	is_str(c->syslog_facility, "local3", "SyslogFacility stored as its word");
	ok(c->log_verbose, "LogVerbose true");
	is_int(c->socket_backlog, 65535, "SocketBacklog at its maximum");
	is_int(c->milter_timeout, 1, "MilterTimeout at its minimum");
	is_int(c->commit_delay, 0, "CommitDelay 0: never waits");
}

static char *
dump_text(const ack_config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		exit(99);
	ack_config_dump(c, fp);
	fclose(fp);
	return text;
}

static void
test_full(void)
{
	ack_config *c = NULL, *c2 = NULL;
	char err[512], *d1, *d2;
	int rc;

	rc = load_text(full_file, &c, err, sizeof err);
	is_int(rc, ACK_OK, "a file setting every key loads (%s)", err);
	if (c == NULL)
		return;
	check_full(c);
	d1 = dump_text(c);
	ok(strstr(d1, "InternalHosts 127.0.0.1/32, 10.0.0.0/8, ::1/128, 2001:db8::/32\n") != NULL,
	    "dump writes nets as addr/prefix joined by \", \"");
	ok(strstr(d1, "SubmissionDaemons ORIGINATING, submission, smtps, relay\n") != NULL,
	    "dump joins lists with \", \"");
	ok(strstr(d1, "DatabaseMapSize 2147483648\n") != NULL, "dump writes sizes as bytes");
	ok(strstr(d1, "LogVerbose yes\n") != NULL && strstr(d1, "AuthenticatedOutgoing no\n"),
	    "dump writes booleans as yes/no");
	ok(strstr(d1, "Notify FAILURE,DELAY\n") != NULL, "dump writes Notify");
	ok(strstr(d1, "Ret full\n") != NULL, "dump writes enum words");
	rc = load_text(d1, &c2, err, sizeof err);
	is_int(rc, ACK_OK, "the dump loads back (%s)", err);
	if (c2 != NULL) {
		d2 = dump_text(c2);
		is_str(d2, d1, "dump, load, dump gives the same text");
		free(d2);
	}
	free(d1);
	ack_config_free(c);
	ack_config_free(c2);
}

static void
test_dump_defaults(void)
{
	ack_config *c = NULL, *c2 = NULL;
	char err[512], *d, *d2, want[64];
	int missing = 0;

	if (ack_config_defaults(&c) != ACK_OK)
		return;
	d = dump_text(c);
	for (const ack_config_key *k = ack_config_keys(); k->name != NULL; k++) {
		snprintf(want, sizeof want, "\n%s", k->name);
		if (strncmp(d, k->name, strlen(k->name)) != 0 && strstr(d, want) == NULL) {
			printf("# dump lacks %s\n", k->name);
			missing++;
		}
	}
	is_int(missing, 0, "dump of the defaults names every key");
	ok(strstr(d, "\nPidFile\n") != NULL, "an unset key is dumped as its bare name");
	is_int(load_text(d, &c2, err, sizeof err), ACK_OK, "dump of defaults loads back (%s)", err);
	if (c2 != NULL) {
		d2 = dump_text(c2);
		is_str(d2, d, "defaults round trip");
		free(d2);
	}
	free(d);
	ack_config_free(c);
	ack_config_free(c2);
}

/* A file that must fail: line number and text that err must contain. */
static const struct {
	const char *text;
	unsigned line;
	const char *want;
} bad_files[] = {
	{ "Sockett unix:/x\n", 1, "unknown key \"Sockett\"; did you mean \"Socket\"?" },
	{ "# c\nlogverbos yes\n", 2, "did you mean \"LogVerbose\"?" },
	{ "Frobnicate 1\n", 1, "unknown key \"Frobnicate\"" },
	{ "Socket\n", 1, "Socket: value required" },
	{ "SocketBacklog   \n", 1, "SocketBacklog: value required" },
	{ "SubmissionDaemons , ,\n", 1, "SubmissionDaemons: value required" },
	{ "Notify\n", 1, "Notify: value required" },
	{ "Socket /run/x.sock\n", 1, "Socket: expected unix:/path, inet:port@host or inet6:port@host" },
	{ "Socket unix:\n", 1, "Socket: expected unix:/path" },
	{ "KeyFile keys\n", 1, "KeyFile: path must be absolute" },
	{ "Database var/lib\n", 1, "Database: path must be absolute" },
	{ "PidFile x.pid\n", 1, "PidFile: path must be absolute" },
	{ "LogVerbose maybe\n", 1, "LogVerbose: \"maybe\" is not a boolean" },
	{ "SocketBacklog 12x\n", 1, "SocketBacklog: \"12x\" is not an integer" },
	{ "SocketBacklog -\n", 1, "SocketBacklog: \"-\" is not an integer" },
	{ "SocketBacklog 0\n", 1, "SocketBacklog: 0 is below the minimum 1" },
	{ "SocketBacklog -5\n", 1, "SocketBacklog: -5 is below the minimum 1" },
	{ "SocketBacklog 65536\n", 1, "SocketBacklog: 65536 is above the maximum 65535" },
	{ "MilterTimeout 99999999999999999999\n", 1, "MilterTimeout: \"99999999999999999999\" is too large" },
	{ "MilterTimeout 86401\n", 1, "MilterTimeout: 86401 is above the maximum 86400" },
	{ "CommitDelay 101\n", 1, "CommitDelay: 101 is above the maximum 100" },
	{ "DatabaseMapSize 512k\n", 1, "DatabaseMapSize: 512k is below the minimum 1m" },
	{ "DatabaseMapSize 2t\n", 1, "DatabaseMapSize: 2t is above the maximum 1t" },
	{ "DatabaseMapSize 99999999999t\n", 1, "DatabaseMapSize: \"99999999999t\" is too large" },
	{ "DatabaseMapSize 1x\n", 1, "DatabaseMapSize: \"1x\" is not a size" },
	{ "DatabaseMapSize m\n", 1, "DatabaseMapSize: \"m\" is not a size" },
	{ "ReportMaxSize 65535\n", 1, "ReportMaxSize: 65535 is below the minimum 64k" },
	{ "Ret some\n", 1, "Ret: \"some\" is not one of hdrs, full" },
	{ "ReadReceipts sometimes\n", 1, "ReadReceipts: \"sometimes\" is not one of never, always, keep" },
	{ "OnError reject\n", 1, "OnError: \"reject\" is not one of accept, tempfail" },
	{ "ReportAction drop\n", 1, "ReportAction: \"drop\" is not one of discard, pass, hold" },
	{ "SyslogFacility kern\n", 1, "SyslogFacility: \"kern\" is not one of mail, daemon, local0" },
	{ "Notify SUCCESS,NEVER\n", 1, "Notify: \"SUCCESS,NEVER\" is not" },
	{ "Notify SOMETIMES\n", 1, "Notify: \"SOMETIMES\" is not" },
	{ "InternalHosts 10.0.0.0/33\n", 1, "InternalHosts: \"10.0.0.0/33\": prefix length must be 0 to 32" },
	{ "InternalHosts ::/129\n", 1, "InternalHosts: \"::/129\": prefix length must be 0 to 128" },
	{ "InternalHosts 10.0.0.1 10.0.0.300\n", 1, "InternalHosts: \"10.0.0.300\" is not an IPv4 or IPv6" },
	{ "InternalHosts 10.0.0.0/\n", 1, "InternalHosts: \"10.0.0.0/\": prefix length" },
	{ "InternalHosts 10.0.0.0/8x\n", 1, "InternalHosts: \"10.0.0.0/8x\": prefix length" },
	{ "InternalHosts localhost\n", 1, "InternalHosts: \"localhost\" is not" },
	{ "InternalHosts 10.0.0.1/000000000000000000000000000000000000000000000000008\n", 1,
	  "InternalHosts: \"10.0.0.1/0000" },
	{ "ReturnPath bounces@example.org\n", 1, "ReturnPath: must contain %t exactly once" },
	{ "ReturnPath b+%t%t@example.org\n", 1, "ReturnPath: must contain %t exactly once" },
	{ "ReturnPath b+%s@example.org\n", 1, "ReturnPath: must contain %t exactly once" },
	{ "ReturnPath bounces+%t\n", 1, "ReturnPath: must be of the form local@domain" },
	{ "ReturnPath %t@\n", 1, "ReturnPath: must be of the form local@domain" },
	{ "ReturnPath a@b@%t\n", 1, "ReturnPath: must be of the form local@domain" },
	{ "ReturnPath bounces@%t.example.org\n", 1, "ReturnPath: %t must be in the local part" },
	{ "ReturnPath <b+%t@example.org>\n", 1, "ReturnPath: must not contain" },
	{ "ReturnPath b+%t @example.org\n", 1, "ReturnPath: must not contain" },
	{ "ReturnPath \"b\"+%t@example.org\n", 1, "ReturnPath: must not contain" },
	{ "ReturnPath abcdefghijklmnopqrstuvwx+%t@example.org\n", 1,
	  "ReturnPath: the local part with a 40-character token is 65 characters" },
	{ "TrackingHeader X-Ack:\n", 1, "TrackingHeader: \"X-Ack:\" is not a header field name" },
	{ "TrackingHeader X Ack\n", 1, "TrackingHeader: \"X Ack\" is not a header field name" },
	{ "TrackingHeader X_Ack\n", 1, "TrackingHeader: \"X_Ack\" is not a header field name" },
	{ "TrackingHeader 1-Ack\n", 1, "TrackingHeader: \"1-Ack\" is not a header field name" },
	{ "TrackingHeader X-\xc3\xa9\n", 1, "TrackingHeader: \"X-\\xc3\\xa9\" is not" },
	{ "TrackingHeader "
	  "X-123456789012345678901234567890123456789012345678901234567890123\n", 1,
	  "TrackingHeader: \"X-1234" },
	{ "UserID :grp\n", 1, "UserID: \":grp\": expected user or user:group" },
	{ "UserID usr:\n", 1, "UserID: \"usr:\": expected user or user:group" },
	{ "UserID a:b:c\n", 1, "UserID: \"a:b:c\": expected user" },
	{ "Socket unix:/a\nLogVerbose yes\nsocket unix:/b\n", 3, "Socket: already set on line 1" },
	{ "\n\nRet full\n#\nRET hdrs\n", 5, "Ret: already set on line 3" },
	{ "TrackingHeader X\x01Y\n", 1, "TrackingHeader: control character in value" },
	{ "Socket unix:/a\rb\n", 1, "Socket: control character in value" },
	{ "Sock\x1b[31met unix:/x\n", 1, "unknown key \"Sock\\x1b[31met\"" },
};

static void
test_errors(void)
{
	char err[512], prefix[256];

	for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		ack_config *c = (ack_config *)&c; /* must be reset to NULL */
		int rc = load_text(bad_files[i].text, &c, err, sizeof err);

		snprintf(prefix, sizeof prefix, "%s:%u: ", path, bad_files[i].line);
		ok(rc == ACK_ECONFIG && c == NULL &&
		    strncmp(err, prefix, strlen(prefix)) == 0 &&
		    strstr(err + strlen(prefix), bad_files[i].want) != NULL,
		    "error %zu: %s", i, bad_files[i].want);
		if (rc != ACK_ECONFIG || strstr(err, bad_files[i].want) == NULL)
			printf("#   rc %d, err \"%s\"\n", rc, err);
	}
}

/* Files that are not lines of text. */
static void
test_bad_bytes(void)
{
	static const char nul[] = "Socket unix:/a\nLogVerbose y\0es\n";
	char err[512], want[256], *big;
	ack_config *c = NULL;
	size_t n = 4096 + 20;
	int rc;

	rc = ack_config_load(&c, put_file(nul, sizeof nul - 1), err, sizeof err);
	snprintf(want, sizeof want, "%s:2: NUL byte", path);
	ok(rc == ACK_ECONFIG && strncmp(err, want, strlen(want)) == 0, "NUL byte: %s", err);

	big = malloc(n + 1);
	memcpy(big, "#ok\nTrackingHeader ", 19);
	memset(big + 19, 'x', n - 20);
	big[n - 1] = '\n';
	rc = ack_config_load(&c, put_file(big, n), err, sizeof err);
	snprintf(want, sizeof want, "%s:2: line longer than 4096 bytes", path);
	ok(rc == ACK_ECONFIG && strcmp(err, want) == 0, "long line: %s", err);

	/* Exactly 4096 bytes plus CRLF is accepted (a comment line). */
	memset(big, ' ', 4096);
	big[0] = '#';
	memcpy(big + 4096, "\r\n", 2);
	rc = ack_config_load(&c, put_file(big, 4098), err, sizeof err);
	is_int(rc, ACK_OK, "a 4096-byte line with CRLF is accepted");
	ack_config_free(c);
	free(big);

	rc = ack_config_load(&c, "/nonexistent/ackmilter.conf", err, sizeof err);
	ok(rc == ACK_ECONFIG && c == NULL, "missing file gives ACK_ECONFIG");
	is_str(err, "/nonexistent/ackmilter.conf: No such file or directory", "missing file message");
}

static void
test_syntax(void)
{
	static const char text[] =
		"# comment line\r\n"
		"\r\n"
		"   \t \n"
		"  sOcKeT\t  local:/run/a.sock   # trailing comment\r\n"
		"TRACKINGHEADER X-Ack\t\r\n"
		"KEYFILE /etc/keys#1\t\r\n"
		"ret Full\n"
		"notify   never\n"
		"syslogfacility Daemon\n"
		"pidfile\n"
		"ReturnPath\n"
		"InternalHosts\n"
		"UserID   # nobody\n"
		"ReadReceipts NEVER";
	ack_config *c = NULL;
	char err[512];
	int rc = load_text(text, &c, err, sizeof err);

	is_int(rc, ACK_OK, "comments, CRLF, blanks, mixed case (%s)", err);
	if (c == NULL)
		return;
	is_str(c->socket, "local:/run/a.sock", "case-insensitive key, comment cut");
	is_str(c->tracking_header, "X-Ack", "TrackingHeader, key in upper case");
	is_str(c->key_file, "/etc/keys#1", "'#' inside a word is kept");
	is_int(c->ret, 1, "enum words match case-insensitively");
	is_int(c->notify, ACK_NOTIFY_NEVER, "Notify never");
	is_str(c->syslog_facility, "daemon", "facility stored lowercase");
	ok(c->pid_file == NULL && c->return_path == NULL && c->user_id == NULL,
	    "optional keys accept an empty value");
	is_int(c->read_receipts, ACK_RR_NEVER, "last line without a newline");
	ack_config_free(c);
}

/* Sizes: value and bytes, or -1 for an error. */
static void
test_sizes(void)
{
	static const struct {
		const char *v;
		long long want;
	} t[] = {
		{ "1m", 1048576 }, { "1M", 1048576 }, { "1048576", 1048576 },
		{ "1024k", 1048576 }, { "1t", 1099511627776LL }, { "3g", 3221225472LL },
		{ "1048575", -1 }, { "1 m", -1 }, { "-1m", -1 }, { "1mb", -1 },
		{ "", -1 }, { "0x100000", -1 },
	};
	char text[128], err[512];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ack_config *c = NULL;
		int rc;

		snprintf(text, sizeof text, "DatabaseMapSize %s\n", t[i].v);
		rc = load_text(text, &c, err, sizeof err);
		if (t[i].want < 0)
			is_int(rc, ACK_ECONFIG, "size \"%s\" refused", t[i].v);
		else
			ok(rc == ACK_OK && c->database_map_size == t[i].want,
			    "size \"%s\" is %lld", t[i].v, t[i].want);
		ack_config_free(c);
	}
}

static void
test_good_values(void)
{
	static const char *const t[] = {
		"ReturnPath %t@example.org",
		"ReturnPath abcdefghijklmnopqrstuvw+%t@b.example",
		"ReturnPath bounces-%t.x@example.org",
		"Socket inet6:8891@[::1]",
		"Socket UNIX:/x",
		("TrackingHeader "
		 "X-123456789012345678901234567890123456789012345678901234567890ab"),
		"UserID nobody",
		"Notify SUCCESS FAILURE,,DELAY",
		"LogVerbose 1", "LogVerbose FALSE", "LogVerbose No",
		"InternalHosts ::ffff:10.0.0.0/104",
		"SubmissionDaemons",
		"Database /",
	};
	char text[256], err[512];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ack_config *c = NULL;
		int rc;

		snprintf(text, sizeof text, "%s\n", t[i]);
		rc = load_text(text, &c, err, sizeof err);
		if (strcmp(t[i], "SubmissionDaemons") == 0)
			is_int(rc, ACK_ECONFIG, "\"%s\" refused (non-empty default)", t[i]);
		else
			is_int(rc, ACK_OK, "\"%s\" accepted (%s)", t[i], err);
		ack_config_free(c);
	}
}

static bool
internal(const ack_config *c, const char *addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return ack_config_internal(c, &sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return ack_config_internal(c, &sin6);
	}
	printf("# bad test address %s\n", addr);
	exit(99);
}

static void
test_internal(void)
{
	static const struct {
		const char *nets;
		const char *addr;
		bool want;
	} t[] = {
		{ "192.0.2.1", "192.0.2.1", true },
		{ "192.0.2.1/32", "192.0.2.2", false },
		{ "10.0.0.0/8", "10.255.1.2", true },
		{ "10.0.0.0/8", "11.0.0.1", false },
		{ "10.1.2.3/8", "10.9.9.9", true },
		{ "172.16.0.0/12", "172.31.255.255", true },
		{ "172.16.0.0/12", "172.32.0.0", false },
		{ "192.0.2.128/25", "192.0.2.127", false },
		{ "192.0.2.128/25", "192.0.2.200", true },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "0.0.0.0/0", "2001:db8::1", false },
		{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
		{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
		{ "127.0.0.1", "::1", false },
		{ "::1", "::1", true },
		{ "::1/128", "::2", false },
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/32", "2001:db9::1", false },
		{ "2001:db8::/33", "2001:db8:8000::1", false },
		{ "::/0", "fe80::1", true },
		{ "::/0", "192.0.2.1", false },
		{ "::ffff:0:0/96", "::ffff:192.0.2.1", true },
		{ "", "127.0.0.1", false },
		{ "192.0.2.1, 10.0.0.0/8 2001:db8::/32", "2001:db8::5", true },
		{ "192.0.2.1, 10.0.0.0/8 2001:db8::/32", "192.0.2.1", true },
		{ "192.0.2.1, 10.0.0.0/8 2001:db8::/32", "192.0.2.3", false },
	};
	char text[256], err[512];
	struct sockaddr sa;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		ack_config *c = NULL;

		snprintf(text, sizeof text, "InternalHosts %s\n", t[i].nets);
		if (load_text(text, &c, err, sizeof err) != ACK_OK) {
			ok(0, "load %s: %s", t[i].nets, err);
			continue;
		}
		is_int(internal(c, t[i].addr), t[i].want, "%s %s in %s", t[i].addr,
		    t[i].want ? "is" : "is not", t[i].nets);
		ack_config_free(c);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_family = AF_UNIX;
	ok(!ack_config_internal(NULL, &sa), "NULL config: not internal");
}

/* The line of dump text d for key name, without its newline, in out. */
static void
dump_line(const char *d, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = d; *p != '\0'; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != '\0'))
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '\n')) {
			snprintf(out, outlen, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
}

/* Every "#Key value" line of text uncommented; *nkeys counts them. */
static char *
uncomment(const char *text, int *nkeys)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	*nkeys = 0;
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		if (p[0] == '#' && p[1] >= 'A' && p[1] <= 'Z') {
			p++;
			n--;
			(*nkeys)++;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
		if (*p == '\n')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/* contrib/ackmilter.conf loads, and its commented values are the defaults. */
static void
test_sample(void)
{
	const char *src = getenv("ACK_SRCDIR");
	char file[512], err[512] = "", a[256], b[256], *text, *open_text, *d, *dd;
	ack_config *c = NULL, *def = NULL;
	size_t len = 0;
	int nkeys, bad = 0;
	FILE *fp;

	snprintf(file, sizeof file, "%s/contrib/ackmilter.conf", src ? src : "..");
	if ((fp = fopen(file, "r")) == NULL) {
		printf("# skip sample tests: %s not found (ACK_SRCDIR unset?)\n", file);
		return;
	}
	text = calloc(1, 65536);
	len = fread(text, 1, 65535, fp);
	fclose(fp);
	is_int(ack_config_load(&c, file, err, sizeof err), ACK_OK, "sample loads as is (%s)", err);
	ack_config_free(c);
	open_text = uncomment(text, &nkeys);
	is_int(nkeys, count_keys(), "sample shows every key once, commented out");
	is_int(load_text(open_text, &c, err, sizeof err), ACK_OK,
	    "sample with every key uncommented loads (%s)", err);
	if (c != NULL && ack_config_defaults(&def) == ACK_OK) {
		d = dump_text(c);
		dd = dump_text(def);
		for (const ack_config_key *k = ack_config_keys(); k->name != NULL; k++) {
			dump_line(d, k->name, a, sizeof a);
			dump_line(dd, k->name, b, sizeof b);
			/* A default under the install prefix differs per build. */
			if (k->def != NULL && strncmp(k->def, PKGDATADIR,
			    strlen(PKGDATADIR)) == 0)
				continue;
			if (k->def != NULL && k->def[0] != '\0' && strcmp(a, b) != 0) {
				printf("# sample shows \"%s\", default is \"%s\"\n", a, b);
				bad++;
			}
		}
		is_int(bad, 0, "sample's commented values are the defaults (%zu bytes)", len);
		free(d);
		free(dd);
	}
	ack_config_free(c);
	ack_config_free(def);
	free(open_text);
	free(text);
}

int
main(void)
{
	strcpy(dir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(path, sizeof path, "%s/ackmilter.conf", dir);
	test_table();
	test_defaults();
	test_full();
	test_dump_defaults();
	test_errors();
	test_bad_bytes();
	test_syntax();
	test_sizes();
	test_good_values();
	test_internal();
	test_sample();
	unlink(path);
	rmdir(dir);
	return tap_done();
}
