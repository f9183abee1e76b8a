/*
 * fuzz_token.c - libFuzzer target for the token decoder and everything
 * that reads a token from outside: ack_token_decode, ack_token_canon,
 * ack_token_verify (against a key file generated once per process), the
 * return path template match and the xtext decoder (ENVID arrives as
 * xtext).  The input is used whole as a token candidate and, split at
 * its first NUL, as a template and an address.  Build: see fuzz_report.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ackmilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ack_keys *
fuzz_keys(void)
{
	static ack_keys *keys;
	static int tried;
	char path[64], err[256];
	unsigned id;

	if (tried)
		return keys;
	tried = 1;
	snprintf(path, sizeof path, "/tmp/fuzz_token_keys.%ld", (long)getpid());
	(void)unlink(path);
	if (ack_keys_generate(path, &id, err, sizeof err) == ACK_OK &&
	    ack_keys_load(&keys, path, err, sizeof err) != ACK_OK)
		keys = NULL;
	(void)unlink(path);
	return keys;
}

/* Decode, canonicalise and verify s; a decoded token must canonicalise. */
static void
try_token(const char *s, size_t len)
{
	ack_token_info info;
	char canon[ACK_TOKEN_LEN + 1];
	ack_keys *keys = fuzz_keys();

	if (ack_token_decode(s, len, &info) == ACK_OK &&
	    ack_token_canon(s, len, canon) != ACK_OK)
		abort();
	(void)ack_token_canon(s, len, canon);
	if (keys != NULL)
		(void)ack_token_verify(keys, s, len, &info);
}

/* Template before the first NUL, address after it (both NUL terminated). */
static void
try_return_path(const char *s, size_t len)
{
	const char *nul = memchr(s, '\0', len);
	char token[ACK_TOKEN_LEN + 1];

	if (nul != NULL)
		(void)ack_return_path_match(s, nul + 1, token);
	else
		(void)ack_return_path_match("bounces+%t@example.org", s, token);
}

static void
try_xtext(const char *s, size_t len)
{
	ack_buf b;

	ack_buf_init(&b, 0);
	if (ack_xtext_decode(&b, s, len) == ACK_OK)
		try_token(b.data, b.len);
	ack_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	try_token(s, size);
	try_return_path(s, size);
	try_xtext(s, size);
	free(s);
	return 0;
}
