/*
 * buf.c - bounded growable byte strings, status names and small string
 * helpers shared by the library.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BUF_MIN 64

void
ack_buf_init(ack_buf *b, size_t cap)
{
	memset(b, 0, sizeof *b);
	b->cap = cap ? cap : SIZE_MAX / 2;
}

void
ack_buf_free(ack_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
	b->truncated = false;
}

void
ack_buf_reset(ack_buf *b)
{
	b->len = 0;
	b->truncated = false;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminating NUL. */
static int
reserve(ack_buf *b, size_t n)
{
	size_t need, size;
	char *p;

	if (n > b->cap || b->len > b->cap - n) {
		b->truncated = true;
		return ACK_ETOOBIG;
	}
	need = b->len + n + 1;
	if (need <= b->size)
		return ACK_OK;
	size = b->size ? b->size : BUF_MIN;
	while (size < need)
		size = size > SIZE_MAX / 2 ? need : size * 2;
	p = realloc(b->data, size);
	if (p == NULL)
		return ACK_ENOMEM;
	b->data = p;
	b->size = size;
	return ACK_OK;
}

int
ack__buf_reserve(ack_buf *b, size_t n)
{
	return reserve(b, n);
}

int
ack_buf_add(ack_buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = reserve(b, n)) != ACK_OK)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return ACK_OK;
}

int
ack_buf_adds(ack_buf *b, const char *s)
{
	return ack_buf_add(b, s, strlen(s));
}

int
ack_buf_addc(ack_buf *b, char c)
{
	return ack_buf_add(b, &c, 1);
}

int
ack_buf_printf(ack_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ACK_EINVAL;
	if ((rc = reserve(b, (size_t)n)) != ACK_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ACK_OK;
}

const char *
ack_strerror(int status)
{
	switch (status) {
	case ACK_OK: return "success";
	case ACK_ENOMEM: return "out of memory";
	case ACK_EINVAL: return "invalid argument or input";
	case ACK_ENOTFOUND: return "not found";
	case ACK_ETOKEN: return "malformed token";
	case ACK_EMAC: return "token signature does not verify";
	case ACK_ENOKEY: return "token signed with an unknown key";
	case ACK_EKEYFILE: return "key file unusable";
	case ACK_EPERM: return "unsafe file permissions";
	case ACK_EIO: return "system error";
	case ACK_ESTORE: return "store error";
	case ACK_ESCHEMA: return "store schema version mismatch";
	case ACK_EFULL: return "store full";
	case ACK_ECONFIG: return "configuration error";
	case ACK_ETOOBIG: return "size limit reached";
	case ACK_EEXIST: return "already exists";
	case ACK_ECORRUPT: return "corrupt record";
	}
	return "unknown error";
}

char *
ack__strdup(const char *s)
{
	return s ? ack__strndup(s, strlen(s)) : NULL;
}

char *
ack__strndup(const char *s, size_t n)
{
	char *p;

	if (s == NULL || n == SIZE_MAX || (p = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
ack__seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
ack__strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int d;

		if (*a == *b) { /* the common case: same byte, no folding */
			if (*a == '\0')
				return 0;
			continue;
		}
		d = ack__lower((unsigned char)*a) - ack__lower((unsigned char)*b);
		if (d != 0)
			return d;
	}
	return 0;
}

int
ack__strcasecmp(const char *a, const char *b)
{
	return ack__strncasecmp(a, b, SIZE_MAX);
}
