/*
 * state.c - names of DSN and MDN states and NOTIFY keyword handling.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const dsn_names[ACK_DSN__COUNT] = {
	"none", "pending", "relayed", "delivered", "expanded", "delayed", "failed",
};

static const char *const mdn_names[ACK_MDN__COUNT] = {
	"none", "pending", "displayed", "deleted", "dispatched", "processed",
	"denied", "failed",
};

const char *
ack_dsn_state_name(int s)
{
	return s >= 0 && s < ACK_DSN__COUNT ? dsn_names[s] : "unknown";
}

const char *
ack_mdn_state_name(int s)
{
	return s >= 0 && s < ACK_MDN__COUNT ? mdn_names[s] : "unknown";
}

/* Index of the name matching the first word of s[0..len), or -1. */
static int
lookup_word(const char *const *names, int count, const char *s, size_t len)
{
	size_t w = 0;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (w < len && s[w] != ' ' && s[w] != '\t' && s[w] != '(' &&
	    s[w] != ';' && s[w] != '\r' && s[w] != '\n')
		w++;
	for (int i = 0; i < count; i++)
		if (strlen(names[i]) == w && ack__strncasecmp(names[i], s, w) == 0)
			return i;
	return -1;
}

int
ack_dsn_state_parse(const char *s, size_t len)
{
	return lookup_word(dsn_names, ACK_DSN__COUNT, s, len);
}

int
ack_mdn_state_parse(const char *s, size_t len)
{
	return lookup_word(mdn_names, ACK_MDN__COUNT, s, len);
}

bool
ack_dsn_state_final(int s)
{
	return s == ACK_DSN_RELAYED || s == ACK_DSN_DELIVERED ||
	    s == ACK_DSN_EXPANDED || s == ACK_DSN_FAILED;
}

static const struct {
	const char *word;
	unsigned bit;
} notify_words[] = {
	{ "SUCCESS", ACK_NOTIFY_SUCCESS },
	{ "FAILURE", ACK_NOTIFY_FAILURE },
	{ "DELAY", ACK_NOTIFY_DELAY },
	{ "NEVER", ACK_NOTIFY_NEVER },
};

int
ack_notify_parse(const char *s, unsigned *bits)
{
	unsigned out = 0;

	while (*s != '\0') {
		size_t w = strcspn(s, ",");
		size_t i;

		for (i = 0; i < ACK_ARRAY_LEN(notify_words); i++)
			if (strlen(notify_words[i].word) == w &&
			    ack__strncasecmp(notify_words[i].word, s, w) == 0)
				break;
		if (i == ACK_ARRAY_LEN(notify_words))
			return ACK_EINVAL;
		out |= notify_words[i].bit;
		s += w;
		if (*s == ',' && *++s == '\0')
			return ACK_EINVAL;
	}
	if (out == 0 || ((out & ACK_NOTIFY_NEVER) && out != ACK_NOTIFY_NEVER))
		return ACK_EINVAL;
	*bits = out;
	return ACK_OK;
}

void
ack_notify_format(unsigned bits, char *out, size_t outlen)
{
	size_t used = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < ACK_ARRAY_LEN(notify_words); i++) {
		size_t w = strlen(notify_words[i].word);

		if (!(bits & notify_words[i].bit))
			continue;
		if (used + w + (used ? 1 : 0) + 1 > outlen)
			break;
		if (used)
			out[used++] = ',';
		memcpy(out + used, notify_words[i].word, w + 1);
		used += w;
	}
}
