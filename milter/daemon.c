/*
 * daemon.c - ackmilter's main(): options, the configuration check (-n), and
 * the start order: configuration, socket, keys, store, pid file, then the
 * drop to UserID (refused as root without one), then libmilter's threads.
 * In the background the parent waits until the child reports that
 * everything opened, so a start failure is printed where the
 * administrator typed the command.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "log.h"
#include "milter.h"
#include "mta.h"

struct ackd ackd;
static pthread_mutex_t snap_mutex = PTHREAD_MUTEX_INITIALIZER;

#define STOP_WAIT 10 /* seconds a stop waits for messages in progress */
#define STOP_QUIET 25 /* ... unless no callback came for that many 20 ms ticks */

static int verdict_fd = -1; /* pipe to the waiting parent, when detached */
static int signal_pipe[2] = { -1, -1 };

static void
usage(void)
{
	fprintf(stderr, "usage: ackmilter [-fnV] [-c config-file]\n");
	exit(2);
}

/* Running as root with no UserID to drop to is refused (-n says so too). */
static bool
root_refused(const ack_config *cfg, const char *path)
{
	if (geteuid() != 0 || (cfg->user_id != NULL && *cfg->user_id != '\0'))
		return false;
	fprintf(stderr, "ackmilter: running as root without UserID: set UserID "
	    "(e.g. ackmilter:postfix) in %s\n", path);
	return true;
}

/* Log a start-up failure, tell the waiting parent, and exit. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_err(NULL, "%s", line);
	if (verdict_fd >= 0) {
		(void)!write(verdict_fd, line, strlen(line));
		close(verdict_fd);
	}
	exit(1);
}

/* -n: configuration, keys and store, each checked and reported. */
static int
check(const char *path, const ack_config *cfg)
{
	char err[1024], data[4096];
	ack_keys *keys = NULL;
	ack_store *st = NULL;
	ack_patterns *pt = NULL;
	int rc, bad = 0;

	if ((rc = ack_keys_load(&keys, cfg->key_file, err, sizeof err)) != ACK_OK) {
		fprintf(stderr, "ackmilter: KeyFile %s\n", err);
		bad = 1;
	}
	if (ack_patterns_load(&pt, cfg->pattern_dir, err, sizeof err) != ACK_OK) {
		fprintf(stderr, "ackmilter: %s\n", err);
		bad = 1;
	}
	if (root_refused(cfg, path))
		bad = 1;
	snprintf(data, sizeof data, "%s/data.mdb", cfg->database);
	if (access(data, F_OK) != 0)
		printf("ackmilter: Database %s does not exist yet: it will be created\n",
		    cfg->database);
	else if ((rc = ack_store_open(&st, cfg->database, ACK_STORE_RDONLY, 0, err,
	    sizeof err)) != ACK_OK) {
		fprintf(stderr, "ackmilter: Database %s\n", err);
		bad = 1;
	}
	if (!bad)
		printf("ackmilter: %s: configuration OK (%u key%s, signing key %u, "
		    "%zu patterns)\n", path, ack_keys_count(keys),
		    ack_keys_count(keys) == 1 ? "" : "s", ack_keys_signing_id(keys),
		    ack_patterns_count(pt));
	ack_keys_free(keys);
	ack_patterns_free(pt);
	ack_store_close(st);
	return bad;
}

/* Fork; the parent waits for the child's verdict and exits with it. */
static void
detach(void)
{
	char msg[1024];
	int p[2];
	ssize_t n;
	pid_t pid;

	if (pipe(p) != 0 || (pid = fork()) < 0)
		die("cannot detach: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		n = read(p[0], msg, sizeof msg - 1);
		if (n <= 0 || (n == 2 && memcmp(msg, "ok", 2) == 0))
			exit(n == 2 ? 0 : 1);
		msg[n] = '\0';
		fprintf(stderr, "ackmilter: %s\n", msg);
		exit(1);
	}
	close(p[0]);
	verdict_fd = p[1];
	if (setsid() < 0 || chdir("/") != 0)
		die("cannot detach: %s", strerror(errno));
}

static void
quiet_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* Linux passes TCP_NODELAY from a listener to the sockets it accepts. */
static void
nodelay_listeners(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int on = 1, listening = 0;
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss, ol = sizeof listening;

		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 ||
		    !listening)
			continue;
		mta_inet = true;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0)
			log_warn(NULL, "TCP_NODELAY on the listener: %s", strerror(errno));
	}
}

/* "user" or "user:group" -> ids; false when unknown. */
static bool
lookup_user(const char *spec, uid_t *uid, gid_t *gid)
{
	char name[256];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	struct group *gr;

	snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - spec) : 255, spec);
	if ((pw = getpwnam(name)) == NULL)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon + 1)) == NULL)
			return false;
		*gid = gr->gr_gid;
	}
	return true;
}

/* The socket belongs to UserID and its group, mode 0660: never others. */
static void
hand_over_socket(const char *sockpath, uid_t uid, gid_t gid)
{
	if (sockpath == NULL)
		return;
	if (getuid() == 0 && chown(sockpath, uid, gid) != 0)
		die("chown %s: %s", sockpath, strerror(errno));
	if (chmod(sockpath, 0660) != 0)
		die("chmod %s: %s", sockpath, strerror(errno));
}

/*
 * After the socket, the store and the keys are open: become UserID for
 * good.  Not root: UserID must then be who we already are.
 */
static void
drop_privileges(const ack_config *cfg, const char *sockpath)
{
	uid_t uid;
	gid_t gid;

	if (cfg->user_id == NULL || *cfg->user_id == '\0') {
		hand_over_socket(sockpath, getuid(), getgid());
		return;
	}
	if (!lookup_user(cfg->user_id, &uid, &gid))
		die("UserID %s: no such user or group", cfg->user_id);
	if (getuid() != 0 && uid != getuid())
		die("UserID %s: only root can become another user", cfg->user_id);
	hand_over_socket(sockpath, uid, gid);
	if (getuid() == 0 && (setgroups(1, &gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0))
		die("cannot become %s: %s", cfg->user_id, strerror(errno));
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		die("UserID %s: privileges could not be dropped", cfg->user_id);
}

/* The unix socket's path, or NULL for inet sockets. */
static const char *
socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

static void
open_socket(const ack_config *cfg)
{
	mode_t old;

	if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS ||
	    smfi_settimeout((int)cfg->milter_timeout) != MI_SUCCESS ||
	    smfi_setbacklog((int)cfg->socket_backlog) != MI_SUCCESS ||
	    smfi_register(ack_milter_desc) != MI_SUCCESS)
		die("Socket %s: libmilter refused the settings", cfg->socket);
	old = umask(007); /* the MTA's group may connect, others may not */
	if (smfi_opensocket(true) != MI_SUCCESS)
		die("Socket %s: cannot listen (in use, or directory missing?)", cfg->socket);
	umask(old);
	nodelay_listeners();
}

static void
open_store(const ack_config *cfg)
{
	char err[1024];
	int rc;

	rc = ack_store_open(&ackd.store, cfg->database, ACK_STORE_CREATE |
	    (cfg->group_commit ? 0 : ACK_STORE_NOGROUP),
	    (size_t)cfg->database_map_size, err, sizeof err);
	if (rc != ACK_OK)
		die("Database %s", err);
	ack_store_set_commit_delay(ackd.store, (unsigned)cfg->commit_delay * 1000);
}

/* Write the pid file; its path (a copy: a reload frees the configuration)
 * for the unlink at stop, or NULL for none. */
static char *
write_pidfile(const char *path)
{
	char *copy;
	FILE *fp;

	if (path == NULL || *path == '\0')
		return NULL;
	if ((copy = strdup(path)) == NULL)
		die("PidFile %s: out of memory", path);
	if ((fp = fopen(path, "w")) == NULL)
		die("PidFile %s: %s", path, strerror(errno));
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		die("PidFile %s: %s", path, strerror(errno));
	return copy;
}

static void
snap_free(struct snap *s)
{
	ack_config_free(s->cfg);
	ack_keys_free(s->keys);
	ack_patterns_free(s->patterns);
	free(s);
}

struct snap *
snap_get(void)
{
	struct snap *s;

	pthread_mutex_lock(&snap_mutex);
	s = ackd.snap;
	s->refs++;
	pthread_mutex_unlock(&snap_mutex);
	return s;
}

void
snap_put(struct snap *s)
{
	bool last;

	pthread_mutex_lock(&snap_mutex);
	last = --s->refs == 0;
	pthread_mutex_unlock(&snap_mutex);
	if (last)
		snap_free(s);
}

/* Configuration, keys and patterns from path; NULL and err on failure. */
static struct snap *
snap_load(const char *path, char *err, size_t errlen)
{
	struct snap *s = calloc(1, sizeof *s);
	char kerr[900];

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ack_config_load(&s->cfg, path, err, errlen) != ACK_OK) {
		free(s);
		return NULL;
	}
	if (ack_keys_load(&s->keys, s->cfg->key_file, kerr, sizeof kerr) != ACK_OK) {
		snprintf(err, errlen, "KeyFile %s", kerr);
		snap_free(s);
		return NULL;
	}
	if (ack_patterns_load(&s->patterns, s->cfg->pattern_dir, kerr,
	    sizeof kerr) != ACK_OK) {
		snprintf(err, errlen, "%s", kerr);
		snap_free(s);
		return NULL;
	}
	return s;
}

static void
snap_install(struct snap *s)
{
	struct snap *old;

	s->refs = 1;
	pthread_mutex_lock(&snap_mutex);
	old = ackd.snap;
	ackd.snap = s;
	pthread_mutex_unlock(&snap_mutex);
	if (old != NULL)
		snap_put(old);
}

static bool
same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* SIGHUP: new configuration and keys for new connections, or none at all. */
static void
reload(const char *path)
{
	const ack_config *cur = ackd.snap->cfg;
	char err[1024];
	struct snap *s = snap_load(path, err, sizeof err);

	if (s == NULL) {
		log_err(NULL, "reload failed: %s; the running configuration stays in force", err);
		return;
	}
	if (!same(s->cfg->socket, cur->socket) || !same(s->cfg->database, cur->database) ||
	    !same(s->cfg->user_id, cur->user_id) || !same(s->cfg->pid_file, cur->pid_file))
		log_warn(NULL, "reload: Socket, Database, UserID and PidFile changes "
		    "take effect at the next restart");
	snap_install(s);
	ack_store_set_commit_delay(ackd.store, (unsigned)s->cfg->commit_delay * 1000);
	log_info(NULL, "reloaded %s: %u key(s), signing key %u, %zu pattern(s)",
	    path, ack_keys_count(s->keys), ack_keys_signing_id(s->keys),
	    ack_patterns_count(s->patterns));
}

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	(void)!write(signal_pipe[1], &b, 1);
	errno = saved;
}

/* SIGUSR1 only interrupts: see stop_milter(). */
static void
on_wake(int sig)
{
	(void)sig;
}

static void *
milter_thread(void *arg)
{
	unsigned char b = 0;
	int *rc = arg;

	*rc = smfi_main();
	(void)!write(signal_pipe[1], &b, 1); /* tell the main thread */
	return NULL;
}

/*
 * SIGHUP, SIGTERM and SIGINT go through a pipe to serve()'s loop.  Caught
 * from before the socket exists: a SIGHUP sent as soon as the socket
 * appears must reload (at the loop's start), not kill the daemon.
 */
static void
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	if (pipe(signal_pipe) != 0)
		die("pipe: %s", strerror(errno));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_wake;
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
}

static void *
stopper(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

/*
 * Stop libmilter and wait for its thread.  Its listener holds a lock
 * while it polls the socket (up to 5 s) and smfi_stop() waits for that
 * lock after raising the stop flag; so smfi_stop() runs in a thread of its
 * own while SIGUSR1 to the listener interrupts the poll, and the listener
 * sees the flag at once.  Resent until the thread ends, in case a signal
 * arrived just before a poll.
 */
static void
stop_milter(pthread_t tid)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	pthread_t st;
	bool have_st = pthread_create(&st, NULL, stopper, NULL) == 0;
	int i;

	if (!have_st)
		smfi_stop(); /* the slow way: the listener's next timeout */
	for (i = 0; i < 500 && pthread_tryjoin_np(tid, NULL) != 0; i++) {
		pthread_kill(tid, SIGUSR1);
		nanosleep(&tick, NULL);
	}
	if (i == 500)
		pthread_join(tid, NULL); /* 10 s: stop interrupting, just wait */
	if (have_st)
		pthread_join(st, NULL);
}

/*
 * libmilter's own signal thread would stop the milter on SIGHUP.  The
 * main thread keeps SIGHUP, SIGTERM and SIGINT unblocked while libmilter's
 * threads (started from milter_thread) block them, so Linux delivers them
 * here: SIGHUP reloads, SIGTERM and SIGINT stop.
 */
static int
serve(const char *path)
{
	pthread_t tid;
	sigset_t set, old;
	unsigned char b;
	int rc = MI_FAILURE;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (pthread_create(&tid, NULL, milter_thread, &rc) != 0)
		die("cannot start the milter thread: %s", strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (;;) {
		if (read(signal_pipe[0], &b, 1) != 1) {
			if (errno == EINTR)
				continue;
			b = SIGTERM; /* cannot hear signals any more: stop */
			break;
		}
		if (b == SIGHUP) {
			reload(path);
			continue;
		}
		break;
	}
	if (b != 0)
		stop_milter(tid); /* SIGTERM or SIGINT */
	else
		pthread_join(tid, NULL); /* smfi_main returned by itself */
	return rc;
}

/*
 * The listener is closed, but connections the MTA opened before may be in
 * the middle of a message.  Wait for them (up to STOP_WAIT seconds, and
 * only while callbacks still come: after STOP_QUIET ticks without one,
 * nothing more is coming for them, as when libmilter's worker pool has
 * already stopped taking work) before the store is closed.  False when
 * some are still in progress: then the process exits with the store open
 * (LMDB needs no close to stay consistent; their uncommitted work is lost
 * and the MTA applies its default action to them).
 */
static bool
wait_idle(void)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	unsigned n, calls, quiet = 0;
	int i;

	atomic_store(&ackd.stopping, true); /* messages starting now pass */
	if ((n = atomic_load(&ackd.busy)) == 0)
		return true;
	log_info(NULL, "waiting for %u message(s) in progress", n);
	calls = atomic_load(&ackd.calls);
	for (i = 0; i < STOP_WAIT * 50 && quiet < STOP_QUIET &&
	    (n = atomic_load(&ackd.busy)) > 0; i++) {
		unsigned now;

		nanosleep(&tick, NULL);
		now = atomic_load(&ackd.calls);
		quiet = now == calls ? quiet + 1 : 0;
		calls = now;
	}
	n = atomic_load(&ackd.busy);
	if (n > 0 && quiet >= STOP_QUIET)
		log_warn(NULL, "%u message(s) still in progress, but nothing came "
		    "for them in %d ms: exiting without them", n, STOP_QUIET * 20);
	else if (n > 0)
		log_warn(NULL, "%u message(s) still in progress after %d s: "
		    "exiting without them", n, STOP_WAIT);
	return n == 0;
}

/* Detached: the waiting parent exits 0 now; stdio goes quiet. */
static void
tell_parent_ok(void)
{
	if (verdict_fd < 0)
		return;
	(void)!write(verdict_fd, "ok", 2);
	close(verdict_fd);
	verdict_fd = -1;
	quiet_stdio();
}

int
main(int argc, char **argv)
{
	const char *path = SYSCONFDIR "/ackmilter.conf";
	bool foreground = false, check_only = false;
	ack_config *cfg;
	struct snap *s;
	char err[1024], *pidfile;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check_only = true; break;
		case 'V': printf("ackmilter %s\n", PACKAGE_VERSION); return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if ((rc = ack_config_load(&cfg, path, err, sizeof err)) != ACK_OK) {
		fprintf(stderr, "ackmilter: %s\n", err);
		return 1;
	}
	if (check_only) {
		rc = check(path, cfg);
		ack_config_free(cfg);
		return rc;
	}
	if (root_refused(cfg, path)) {
		ack_config_free(cfg);
		return 1;
	}
	log_init("ackmilter", cfg->syslog_facility, foreground, cfg->log_verbose);
	ack_config_free(cfg);
	if (!foreground)
		detach();
	if ((s = snap_load(path, err, sizeof err)) == NULL)
		die("%s", err);
	snap_install(s);
	cfg = s->cfg;
	catch_signals();
	open_socket(cfg);
	open_store(cfg);
	pidfile = write_pidfile(cfg->pid_file);
	drop_privileges(cfg, socket_path(cfg->socket));
	log_info(NULL, "ackmilter %s starting: socket %s, database %s, %u key(s), "
	    "%zu pattern(s)", PACKAGE_VERSION, cfg->socket, cfg->database,
	    ack_keys_count(s->keys), ack_patterns_count(s->patterns));
	tell_parent_ok();
	rc = serve(path);
	log_info(NULL, "ackmilter stopping"); /* cfg is gone after a reload */
	if (pidfile != NULL)
		unlink(pidfile);
	free(pidfile);
	if (!wait_idle()) {
		log_close();
		return rc == MI_SUCCESS ? 0 : 1; /* the store stays open: see wait_idle */
	}
	ack_store_close(ackd.store);
	snap_put(ackd.snap);
	log_close();
	return rc == MI_SUCCESS ? 0 : 1;
}
