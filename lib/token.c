/*
 * token.c - the tracking token: 25 bytes (version, key id, hours since the
 * epoch, 80 random bits, 80-bit keyed BLAKE2b MAC) written as 40
 * characters of lowercase RFC 4648 base32, which survives local-part case
 * folding, xtext and header folding.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "internal.h"
#include "keys.h"

#define TOKEN_BYTES 25
#define SIGNED_BYTES 15 /* version, key id, hours, random */
#define RANDOM_BYTES 10
#define MAC_BYTES 10
#define MAC_FULL 16 /* BLAKE2b output length, truncated to MAC_BYTES */
#define HOURS_MAX 0xffffffLL

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Value of a base32 character (either case), or -1. */
static int
b32val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static void
b32encode(const unsigned char *in, char *out)
{
	unsigned bits = 0, acc = 0;
	size_t o = 0;

	for (size_t i = 0; i < TOKEN_BYTES; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alphabet[(acc >> bits) & 31];
		}
	}
	out[o] = '\0';
}

static int
b32decode(const char *s, size_t len, unsigned char *out)
{
	unsigned bits = 0, acc = 0;
	size_t o = 0;

	if (s == NULL || len != ACK_TOKEN_LEN)
		return ACK_ETOKEN;
	for (size_t i = 0; i < len; i++) {
		int v = b32val((unsigned char)s[i]);

		if (v < 0)
			return ACK_ETOKEN;
		acc = (acc << 5 | (unsigned)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return ACK_OK;
}

static void
compute_mac(const unsigned char *key, const unsigned char *tok,
    unsigned char mac[MAC_FULL])
{
	crypto_generichash(mac, MAC_FULL, tok, SIGNED_BYTES, key, ACK_KEY_BYTES);
}

static int
decode(const char *s, size_t len, unsigned char *raw, ack_token_info *info)
{
	int rc;

	if ((rc = b32decode(s, len, raw)) != ACK_OK)
		return rc;
	if (raw[0] != ACK_TOKEN_VERSION)
		return ACK_ETOKEN;
	if (info) {
		info->version = raw[0];
		info->key_id = raw[1];
		info->issued = ((int64_t)raw[2] << 16 | (int64_t)raw[3] << 8 | raw[4]) * 3600;
	}
	return ACK_OK;
}

int
ack_token_decode(const char *s, size_t len, ack_token_info *info)
{
	unsigned char raw[TOKEN_BYTES];

	return decode(s, len, raw, info);
}

int
ack_token_make(const ack_keys *k, int64_t now, char *out)
{
	unsigned char raw[TOKEN_BYTES], mac[MAC_FULL];
	unsigned id = ack_keys_signing_id(k);
	const unsigned char *key = ack__keys_find(k, id);
	int64_t hours = now / 3600;

	if (key == NULL)
		return ACK_ENOKEY;
	if (now < 0 || hours > HOURS_MAX)
		return ACK_EINVAL;
	if (sodium_init() < 0)
		return ACK_EIO;
	raw[0] = ACK_TOKEN_VERSION;
	raw[1] = (unsigned char)id;
	raw[2] = (unsigned char)(hours >> 16);
	raw[3] = (unsigned char)(hours >> 8);
	raw[4] = (unsigned char)hours;
	randombytes_buf(raw + 5, RANDOM_BYTES);
	compute_mac(key, raw, mac);
	memcpy(raw + SIGNED_BYTES, mac, MAC_BYTES);
	b32encode(raw, out);
	sodium_memzero(mac, sizeof mac);
	return ACK_OK;
}

int
ack_token_verify(const ack_keys *k, const char *s, size_t len,
    ack_token_info *info)
{
	unsigned char raw[TOKEN_BYTES], mac[MAC_FULL];
	const unsigned char *key;
	int rc;

	if ((rc = decode(s, len, raw, info)) != ACK_OK)
		return rc;
	if ((key = ack__keys_find(k, raw[1])) == NULL)
		return ACK_ENOKEY;
	if (sodium_init() < 0)
		return ACK_EIO;
	compute_mac(key, raw, mac);
	rc = sodium_memcmp(mac, raw + SIGNED_BYTES, MAC_BYTES) == 0 ? ACK_OK : ACK_EMAC;
	sodium_memzero(mac, sizeof mac);
	return rc;
}

int
ack_token_canon(const char *s, size_t len, char *out)
{
	int rc;

	if ((rc = ack_token_decode(s, len, NULL)) != ACK_OK)
		return rc;
	for (size_t i = 0; i < len; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + ('a' - 'A')) : s[i];
	out[len] = '\0';
	return ACK_OK;
}
