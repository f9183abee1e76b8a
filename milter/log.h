/*
 * log.h - the daemon's one logging module: syslog or stderr, chosen once.
 * Every message line carries the queue id (or "NOQUEUE").
 */
#ifndef ACK_LOG_H
#define ACK_LOG_H

#include <stdbool.h>

#define LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* facility: a word of SyslogFacility; to_stderr: -f mode. */
int log_init(const char *ident, const char *facility, bool to_stderr, bool verbose);
void log_close(void);

/* Recoverable problems with a message or a peer. */
void log_warn(const char *qid, const char *fmt, ...) LOG_PRINTF(2, 3);
/* Failures of the environment (store, keys, socket). */
void log_err(const char *qid, const char *fmt, ...) LOG_PRINTF(2, 3);
/* One line per tracked or absorbed message. */
void log_info(const char *qid, const char *fmt, ...) LOG_PRINTF(2, 3);
/* Only with LogVerbose. */
void log_debug(const char *qid, const char *fmt, ...) LOG_PRINTF(2, 3);

#endif
