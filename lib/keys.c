/*
 * keys.c - the token key file: loading (with a permission check), the
 * in-memory key ring in guarded memory, and generating new keys for
 * rotation.  File format, one key per line:
 *
 *	ID CREATED BASE64KEY
 *
 * ID 1..255, CREATED an RFC 3339 UTC time, the key 32 bytes of standard
 * base64.  '#' starts a comment line; blank lines are ignored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "keys.h"

#define KEYS_MAX 255
#define KEYFILE_MAX (1024 * 1024)
#define KEYLINE_MAX 1024
#define KEYFILE_HEADER \
	"# ackmilter key file: ID CREATED BASE64KEY, one key per line; keep mode 0600\n"

struct key {
	unsigned id;
	int64_t created;
	unsigned char bytes[ACK_KEY_BYTES];
};

/* Lives in sodium_malloc memory, read-only once loaded. */
struct ack_keys {
	unsigned n;
	unsigned signing; /* index into v */
	struct key v[KEYS_MAX];
};

/* A key file read into guarded memory. */
struct keyfile {
	char *data;
	size_t len;
	struct stat st;
};

static int
sodium_ready(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		ack__seterr(err, errlen, "libsodium cannot be initialised");
		return ACK_EIO;
	}
	return ACK_OK;
}

/* ---------------------------------------------------------------- reading */

static int
check_file(int fd, const char *path, struct stat *st, char *err, size_t errlen)
{
	if (fstat(fd, st) != 0) {
		ack__seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ACK_EIO;
	}
	if (!S_ISREG(st->st_mode)) {
		ack__seterr(err, errlen, "%s: not a regular file", path);
		return ACK_EKEYFILE;
	}
	if ((st->st_mode & 077) != 0) {
		ack__seterr(err, errlen, "%s: mode %04o is too open: group or "
		    "others can access it; chmod 600 %s", path,
		    (unsigned)(st->st_mode & 07777), path);
		return ACK_EPERM;
	}
	if (st->st_size > KEYFILE_MAX) {
		ack__seterr(err, errlen, "%s: larger than %d bytes", path, KEYFILE_MAX);
		return ACK_EKEYFILE;
	}
	return ACK_OK;
}

static int
read_all(int fd, const char *path, struct keyfile *f, char *err, size_t errlen)
{
	size_t size = (size_t)f->st.st_size;

	if ((f->data = sodium_malloc(size + 1)) == NULL)
		return ACK_ENOMEM;
	f->len = 0;
	while (f->len < size) {
		ssize_t r = read(fd, f->data + f->len, size - f->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ack__seterr(err, errlen, "%s: %s", path, strerror(errno));
			return ACK_EIO;
		}
		if (r == 0)
			break;
		f->len += (size_t)r;
	}
	f->data[f->len] = '\0';
	return ACK_OK;
}

static void
keyfile_free(struct keyfile *f)
{
	if (f->data)
		sodium_free(f->data);
	f->data = NULL;
}

/*
 * Open, check and read a key file.  *missing tells ENOENT apart from other
 * failures (ACK_EIO either way).
 */
static int
keyfile_read(const char *path, struct keyfile *f, bool *missing, char *err,
    size_t errlen)
{
	int fd, rc;

	memset(f, 0, sizeof *f);
	*missing = false;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		ack__seterr(err, errlen, "%s: %s", path, strerror(errno));
		return ACK_EIO;
	}
	rc = check_file(fd, path, &f->st, err, errlen);
	if (rc == ACK_OK)
		rc = read_all(fd, path, f, err, errlen);
	close(fd);
	if (rc != ACK_OK)
		keyfile_free(f);
	return rc;
}

/* ---------------------------------------------------------------- parsing */

/* "2026-11-26T06:07:44Z" exactly. */
static int
parse_time(const char *s, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm, back;
	time_t t;

	if (strlen(s) != sizeof shape - 1)
		return -1;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 59)
		return -1;
	t = timegm(&tm);
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != atoi(s + 8))
		return -1; /* February 30 and friends */
	*out = (int64_t)t;
	return 0;
}

static int
parse_id(const char *s, unsigned *id)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v < 1 || v > KEYS_MAX)
		return -1;
	*id = v;
	return 0;
}

static int
parse_key(const char *s, unsigned char *key, char *problem, size_t plen)
{
	unsigned char tmp[ACK_KEY_BYTES * 4];
	size_t n = 0;
	int rc = 0;

	if (sodium_base642bin(tmp, sizeof tmp, s, strlen(s), NULL, &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		ack__seterr(problem, plen, "bad base64 key");
		rc = -1;
	} else if (n != ACK_KEY_BYTES) {
		ack__seterr(problem, plen, "key is %zu bytes, want %d", n, ACK_KEY_BYTES);
		rc = -1;
	} else {
		memcpy(key, tmp, ACK_KEY_BYTES);
	}
	sodium_memzero(tmp, sizeof tmp);
	return rc;
}

/* Split line in place into at most max blank-separated fields. */
static size_t
split(char *line, char **field, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0' || n == max)
			return *p == '\0' ? n : max + 1;
		field[n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* One non-comment line into k->v[k->n]; problem says why not. */
static int
parse_line(ack_keys *k, char *line, char *problem, size_t plen)
{
	struct key *key = &k->v[k->n];
	char *f[3];

	if (split(line, f, 3) != 3) {
		ack__seterr(problem, plen, "expected \"ID CREATED BASE64KEY\"");
		return -1;
	}
	if (parse_id(f[0], &key->id) != 0) {
		ack__seterr(problem, plen, "bad key id \"%.16s\" (want 1..%d)", f[0], KEYS_MAX);
		return -1;
	}
	for (unsigned i = 0; i < k->n; i++)
		if (k->v[i].id == key->id) {
			ack__seterr(problem, plen, "duplicate key id %u", key->id);
			return -1;
		}
	if (parse_time(f[1], &key->created) != 0) {
		ack__seterr(problem, plen, "bad time \"%.32s\" (want RFC 3339 UTC "
		    "like 2026-11-26T06:07:44Z)", f[1]);
		return -1;
	}
	if (parse_key(f[2], key->bytes, problem, plen) != 0)
		return -1;
	if (k->n == 0 || key->created >= k->v[k->signing].created)
		k->signing = k->n;
	k->n++;
	return 0;
}

static bool
blank_or_comment(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '#';
}

/*
 * Copy the next line (without its end) into buf and advance *pp.  -1 when
 * it is too long, -2 when it holds a NUL byte.
 */
static int
next_line(const char **pp, const char *end, char *buf, size_t size)
{
	const char *p = *pp, *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);

	*pp = nl ? nl + 1 : end;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n >= size)
		return -1;
	if (memchr(p, '\0', n) != NULL)
		return -2;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* One line of the file: ACK_OK, or -1 with problem set. */
static int
handle_line(ack_keys *k, char *line, char *problem, size_t plen)
{
	if (blank_or_comment(line))
		return 0;
	if (k->n == KEYS_MAX) {
		/* ids are unique in 1..255, so this line cannot be valid */
		ack__seterr(problem, plen, "more than %d keys", KEYS_MAX);
		return -1;
	}
	return parse_line(k, line, problem, plen);
}

static int
parse_file(ack_keys *k, const char *path, const struct keyfile *f,
    bool allow_empty, char *err, size_t errlen)
{
	const char *p = f->data, *end = f->data + f->len;
	char line[KEYLINE_MAX + 1], problem[160];
	unsigned lineno = 0;
	int bad = 0;

	while (p < end && !bad) {
		lineno++;
		if ((bad = next_line(&p, end, line, sizeof line)) != 0) {
			ack__seterr(problem, sizeof problem, bad == -1 ?
			    "line too long" : "NUL byte in line");
		} else {
			bad = handle_line(k, line, problem, sizeof problem);
		}
	}
	sodium_memzero(line, sizeof line);
	if (bad) {
		ack__seterr(err, errlen, "%s:%u: %s", path, lineno, problem);
		return ACK_EKEYFILE;
	}
	if (k->n == 0 && !allow_empty) {
		ack__seterr(err, errlen, "%s: no keys", path);
		return ACK_EKEYFILE;
	}
	return ACK_OK;
}

static int
keys_from_file(ack_keys **out, const char *path, const struct keyfile *f,
    bool allow_empty, char *err, size_t errlen)
{
	ack_keys *k = sodium_malloc(sizeof *k);
	int rc;

	if (k == NULL)
		return ACK_ENOMEM;
	memset(k, 0, sizeof *k);
	if ((rc = parse_file(k, path, f, allow_empty, err, errlen)) != ACK_OK) {
		sodium_free(k);
		return rc;
	}
	sodium_mprotect_readonly(k);
	*out = k;
	return ACK_OK;
}

int
ack_keys_load(ack_keys **out, const char *path, char *err, size_t errlen)
{
	struct keyfile f;
	bool missing;
	int rc;

	*out = NULL;
	if ((rc = sodium_ready(err, errlen)) != ACK_OK ||
	    (rc = keyfile_read(path, &f, &missing, err, errlen)) != ACK_OK)
		return rc;
	rc = keys_from_file(out, path, &f, false, err, errlen);
	keyfile_free(&f);
	return rc;
}

void
ack_keys_free(ack_keys *k)
{
	if (k)
		sodium_free(k);
}

unsigned
ack_keys_count(const ack_keys *k)
{
	return k ? k->n : 0;
}

unsigned
ack_keys_signing_id(const ack_keys *k)
{
	return k && k->n ? k->v[k->signing].id : 0;
}

const unsigned char *
ack__keys_find(const ack_keys *k, unsigned id)
{
	for (unsigned i = 0; k && i < k->n; i++)
		if (k->v[i].id == id)
			return k->v[i].bytes;
	return NULL;
}

/* ---------------------------------------------------------------- generating */

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Best effort: make the rename or link itself durable. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? ack__strndup(path, slash == path ? 1 : (size_t)(slash - path))
	    : ack__strdup(".");
	int fd;

	if (dir == NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Write data to a fresh temporary file beside path; its name into tmp. */
static int
write_temp(const char *path, const char *data, size_t len,
    const struct stat *owner, char **tmp)
{
	int fd, rc = 0;

	if ((*tmp = malloc(strlen(path) + 8)) == NULL)
		return -1;
	strcpy(*tmp, path);
	strcat(*tmp, ".XXXXXX");
	if ((fd = mkostemp(*tmp, O_CLOEXEC)) < 0) {
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	if (owner && fchown(fd, owner->st_uid, owner->st_gid) != 0 && errno != EPERM)
		rc = -1;
	if (rc != 0 || fchmod(fd, 0600) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc != 0) {
		int saved = errno;

		unlink(*tmp);
		errno = saved;
	}
	return rc;
}

/*
 * Replace (or, with create, exclusively create) path with data so that a
 * crash leaves either the old file or the new one.
 */
static int
install_file(const char *path, const char *data, size_t len,
    const struct stat *owner, bool create, char *err, size_t errlen)
{
	char *tmp = NULL;
	int rc = ACK_OK;

	if (write_temp(path, data, len, owner, &tmp) != 0)
		rc = ACK_EIO;
	else if (create ? link(tmp, path) != 0 : rename(tmp, path) != 0)
		rc = ACK_EIO;
	if (rc != ACK_OK)
		ack__seterr(err, errlen, "%s: %s", path, strerror(errno));
	if (tmp && (create || rc != ACK_OK))
		unlink(tmp);
	free(tmp);
	if (rc == ACK_OK)
		sync_dir(path);
	return rc;
}

/* "ID CREATED KEY\n" for a fresh random key into line. */
static void
new_key_line(unsigned id, char *line, size_t size)
{
	unsigned char key[ACK_KEY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(ACK_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	char created[32];

	randombytes_buf(key, sizeof key);
	sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
	ack_time_rfc3339((int64_t)time(NULL), created, sizeof created);
	snprintf(line, size, "%u %s %s\n", id, created, b64);
	sodium_memzero(key, sizeof key);
	sodium_memzero(b64, sizeof b64);
}

/* Old content (or the header) plus the new line, in guarded memory. */
static int
append_key(const struct keyfile *f, unsigned id, char **out, size_t *outlen)
{
	const char *old = f->data ? f->data : KEYFILE_HEADER;
	size_t oldlen = f->data ? f->len : strlen(KEYFILE_HEADER);
	bool nl = oldlen > 0 && old[oldlen - 1] != '\n';
	char line[128];

	if ((*out = sodium_malloc(oldlen + sizeof line + 1)) == NULL)
		return ACK_ENOMEM;
	memcpy(*out, old, oldlen);
	if (nl)
		(*out)[oldlen] = '\n';
	new_key_line(id, line, sizeof line);
	memcpy(*out + oldlen + nl, line, strlen(line));
	*outlen = oldlen + nl + strlen(line);
	sodium_memzero(line, sizeof line);
	return ACK_OK;
}

/* The id a new key in this file gets: highest + 1. */
static int
next_id(const char *path, const struct keyfile *f, unsigned *id, char *err,
    size_t errlen)
{
	ack_keys *k;
	unsigned max = 0;
	int rc;

	if (f->data == NULL) {
		*id = 1;
		return ACK_OK;
	}
	if ((rc = keys_from_file(&k, path, f, true, err, errlen)) != ACK_OK)
		return rc;
	for (unsigned i = 0; i < k->n; i++)
		if (k->v[i].id > max)
			max = k->v[i].id;
	ack_keys_free(k);
	if (max >= KEYS_MAX) {
		ack__seterr(err, errlen, "%s: no free key id", path);
		return ACK_EKEYFILE;
	}
	*id = max + 1;
	return ACK_OK;
}

int
ack_keys_generate(const char *path, unsigned *id, char *err, size_t errlen)
{
	struct keyfile f;
	bool missing;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if ((rc = sodium_ready(err, errlen)) != ACK_OK)
		return rc;
	rc = keyfile_read(path, &f, &missing, err, errlen);
	if (rc != ACK_OK && !missing)
		return rc;
	if (missing)
		ack__seterr(err, errlen, "%s", "");
	if ((rc = next_id(path, &f, id, err, errlen)) == ACK_OK &&
	    (rc = append_key(&f, *id, &data, &len)) == ACK_OK)
		rc = install_file(path, data, len, missing ? NULL : &f.st,
		    missing, err, errlen);
	if (data)
		sodium_free(data);
	keyfile_free(&f);
	return rc;
}
