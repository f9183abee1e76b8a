/*
 * log.c - logging for the daemon: syslog(3) in production, stderr with -f.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool use_stderr;
static bool log_verbose;
static const char *log_ident = "ackmilter";

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

int
log_init(const char *ident, const char *facility, bool to_stderr, bool verbose)
{
	int fac = -1;

	for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (facility != NULL && strcmp(facility, facilities[i].name) == 0)
			fac = facilities[i].facility;
	log_ident = ident;
	use_stderr = to_stderr;
	log_verbose = verbose;
	if (!use_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
	return fac < 0 && facility != NULL ? -1 : 0;
}

void
log_close(void)
{
	if (!use_stderr)
		closelog();
}

static void __attribute__((format(printf, 3, 0)))
vlog(int prio, const char *qid, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	n = snprintf(line, sizeof line, "%s: ", qid ? qid : "NOQUEUE");
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	/* Never let peer data split a log line (CR, LF) or drive a
	 * terminal (ESC and the other control characters). */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (use_stderr) {
		struct tm tm;
		char ts[32];
		time_t now = time(NULL);

		localtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s %s[%s]: %s\n", ts, log_ident,
		    prio <= LOG_ERR ? "error" : prio == LOG_WARNING ? "warning" :
		    prio == LOG_DEBUG ? "debug" : "info", line);
	} else {
		syslog(prio, "%s", line);
	}
}

#define LOG_FN(name, prio, cond)                               \
	void name(const char *qid, const char *fmt, ...)           \
	{                                                          \
		va_list ap;                                            \
		if (!(cond))                                           \
			return;                                            \
		va_start(ap, fmt);                                     \
		vlog(prio, qid, fmt, ap);                              \
		va_end(ap);                                            \
	}

LOG_FN(log_warn, LOG_WARNING, true)
LOG_FN(log_err, LOG_ERR, true)
LOG_FN(log_info, LOG_INFO, true)
LOG_FN(log_debug, LOG_DEBUG, log_verbose)
