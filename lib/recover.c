/*
 * recover.c - finding the tracking token a report is about: from the
 * signed return address it was sent to, its Original-Envelope-Id, or the
 * tracking header of the message it returns.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

bool
ack_return_path_match(const char *tmpl, const char *address,
    char token[ACK_TOKEN_LEN + 1])
{
	const char *t = tmpl ? strstr(tmpl, "%t") : NULL;
	size_t pre, post, len;

	if (t == NULL || address == NULL)
		return false;
	pre = (size_t)(t - tmpl);
	post = strlen(t + 2);
	len = strlen(address);
	if (len != pre + ACK_TOKEN_LEN + post ||
	    ack__strncasecmp(address, tmpl, pre) != 0 ||
	    ack__strcasecmp(address + pre + ACK_TOKEN_LEN, t + 2) != 0)
		return false;
	return ack_token_canon(address + pre, ACK_TOKEN_LEN, token) == ACK_OK;
}

/* Copy s into token when it has a token's syntax (blanks and <> trimmed). */
static bool
candidate(const char *s, char token[ACK_TOKEN_LEN + 1])
{
	size_t n;

	if (s == NULL)
		return false;
	while (*s == ' ' || *s == '\t' || *s == '<')
		s++;
	n = strcspn(s, " \t>\r\n");
	return n == ACK_TOKEN_LEN && ack_token_canon(s, n, token) == ACK_OK;
}

int
ack_report_token(const ack_report *r, const char *envelope_token,
    const ack_keys *keys, char token[ACK_TOKEN_LEN + 1], const char **where)
{
	const struct {
		const char *value, *name;
	} places[] = {
		{ envelope_token, "return-path" },
		{ r ? r->original_envelope_id : NULL, "envid" },
		{ r ? r->returned_token : NULL, "returned-header" },
	};

	for (size_t i = 0; i < ACK_ARRAY_LEN(places); i++) {
		if (!candidate(places[i].value, token))
			continue;
		if (where != NULL)
			*where = places[i].name;
		return keys ? ack_token_verify(keys, token, ACK_TOKEN_LEN, NULL) : ACK_OK;
	}
	return ACK_ENOTFOUND;
}

int
ack_store_absorb(ack_store *s, const ack_keys *keys, const ack_report *r,
    const char *envelope_token, int64_t now, char token[ACK_TOKEN_LEN + 1],
    const char **where, ack_apply_result *res)
{
	int rc;

	if (r == NULL)
		return ACK_EINVAL;
	rc = ack_report_token(r, envelope_token, keys, token, where);
	if (rc == ACK_ENOTFOUND && (r->kind == ACK_KIND_MDN ||
	    r->kind == ACK_KIND_AUTOREPLY) && r->original_message_id != NULL) {
		if (where != NULL)
			*where = "message-id";
		rc = ack__store_lookup_msgid(s, r->original_message_id, token);
	}
	if (rc != ACK_OK)
		return rc;
	return ack_store_apply(s, token, r, now, res);
}
