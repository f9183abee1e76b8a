/*
 * ctl_keys.c - ackctl keygen, verify and config: the key file, a token's
 * signature, and the effective configuration, each for people or (with
 * --json) as one JSON object.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ackctl.h"

/* ---------------------------------------------------------------- keygen */

/*
 * The CREATED field of key id in the key file ("ID CREATED BASE64KEY"
 * lines), into out; "" when it cannot be read.  The file is read without a
 * stdio buffer, the key is never copied out of the line, and the line is
 * wiped.
 */
static void
key_created(const char *path, unsigned id, char *out, size_t len)
{
	FILE *fp = fopen(path, "r");
	char line[256], *p;

	out[0] = '\0';
	if (fp == NULL)
		return;
	setvbuf(fp, NULL, _IONBF, 0);
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strtoul(line, &p, 10) != id || p == line || (*p != ' ' && *p != '\t'))
			continue;
		p += strspn(p, " \t");
		snprintf(out, len, "%.*s", (int)strcspn(p, " \t\r\n"), p);
	}
	explicit_bzero(line, sizeof line);
	fclose(fp);
}

static int
keygen_json(const char *path, unsigned id)
{
	char created[64];
	ack_buf b;
	ack_json j;
	int rc;

	key_created(path, id, created, sizeof created);
	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_kstr(&j, "file", path);
	rc = rc ? rc : ack_json_kint(&j, "key_id", id);
	rc = rc ? rc : ack_json_kstr(&j, "created", created[0] ? created : NULL);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

int
cmd_keygen(int argc, char **argv)
{
	static const char use[] = "keygen [--json] [FILE]";
	struct ctl c = { 0 };
	char err[1024];
	const char *path;
	unsigned id;
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, use)) < 0)
		return EXIT_USAGE;
	if (argc - i > 1)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if (i < argc)
		path = argv[i];
	else if ((rc = ctl_load_config(&c, false)) != 0)
		return rc;
	else
		path = c.cfg->key_file;
	if ((rc = ack_keys_generate(path, &id, err, sizeof err)) != ACK_OK)
		rc = fail(EXIT_USAGE, "%s", err);
	else if (c.json)
		rc = keygen_json(path, id);
	else
		printf("%s: key %u added; it signs new tokens, older keys still verify\n",
		    path, id);
	ctl_close(&c);
	return rc;
}

/* ---------------------------------------------------------------- verify */

/* What a token carries: decoded even when the signature does not hold. */
static int
verify_json(const char *token, int rc, const ack_token_info *info, bool decoded)
{
	ack_buf b;
	ack_json j;
	int jr;

	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	jr = ack_json_obj_open(&j);
	jr = jr ? jr : ack_json_kstr(&j, "token", token);
	jr = jr ? jr : ack_json_kbool(&j, "valid", rc == ACK_OK);
	jr = jr ? jr : ack_json_key(&j, "key_id");
	jr = jr ? jr : decoded ? ack_json_int(&j, info->key_id) : ack_json_null(&j);
	jr = jr ? jr : ack_json_key(&j, "issued");
	jr = jr ? jr : decoded ? ack_json_time(&j, info->issued) : ack_json_null(&j);
	if (rc != ACK_OK)
		jr = jr ? jr : ack_json_kstr(&j, "error", ack_strerror(rc));
	jr = jr ? jr : ack_json_obj_close(&j);
	if (jr == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return jr == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

int
cmd_verify(int argc, char **argv)
{
	static const char use[] = "verify [--json] [-k KEYFILE] TOKEN";
	struct ctl c = { 0 };
	ack_token_info info = { 0 };
	bool decoded;
	char when[64];
	size_t len;
	int i, rc, status;

	if ((i = ctl_options(&c, argc, argv, use)) < 0)
		return EXIT_USAGE;
	if (argc - i != 1)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if ((rc = ctl_open_keys(&c)) != 0)
		return rc;
	len = strlen(argv[i]);
	rc = ack_token_verify(c.keys, argv[i], len, &info);
	decoded = rc == ACK_OK || ack_token_decode(argv[i], len, &info) == ACK_OK;
	status = rc == ACK_OK ? 0 : EXIT_NOTFOUND;
	if (c.json) {
		if (verify_json(argv[i], rc, &info, decoded) != 0)
			status = EXIT_USAGE;
	} else if (rc == ACK_OK) {
		fmt_local_time(info.issued, when, sizeof when);
		printf("valid: key %u, issued %s\n", info.key_id, when);
	} else {
		printf("invalid: %s\n", ack_strerror(rc));
	}
	ctl_close(&c);
	return status;
}

/* ---------------------------------------------------------------- config */

/*
 * One key of ack_config_dump's "Key value" lines as a JSON member, typed by
 * the key table: yes/no as true/false, numbers as numbers, lists as arrays
 * of strings, an unset value as null, anything else as the string.
 */
static int
config_member(ack_json *j, const ack_config_key *k, const char *v, size_t n)
{
	char *end, num[32];
	long long x;

	JS(ack_json_key(j, k->name));
	if (k->type == ACK_CT_LIST || k->type == ACK_CT_NETLIST) {
		JS(ack_json_arr_open(j));
		while (n > 0) {
			const char *comma = memchr(v, ',', n);
			size_t w = comma ? (size_t)(comma - v) : n;

			JS(ack_json_strn(j, v, w));
			w += comma != NULL;
			w += w < n && v[w] == ' ';
			v += w;
			n -= w;
		}
		return ack_json_arr_close(j);
	}
	if (n == 0)
		return ack_json_null(j);
	if (k->type == ACK_CT_BOOL)
		return ack_json_bool(j, n == 3 && memcmp(v, "yes", 3) == 0);
	if ((k->type == ACK_CT_INT || k->type == ACK_CT_SIZE) && n < sizeof num) {
		memcpy(num, v, n);
		num[n] = '\0';
		errno = 0;
		x = strtoll(num, &end, 10);
		if (*end == '\0' && errno == 0)
			return ack_json_int(j, x);
	}
	return ack_json_strn(j, v, n);
}

/* The effective configuration as one object, from ack_config_dump (one line
 * per key, in the table's order), so both forms show the same values. */
static int
config_json(const ack_config *cfg)
{
	char *dump = NULL, *p;
	size_t size = 0;
	FILE *fp = open_memstream(&dump, &size);
	ack_buf b;
	ack_json j;
	int rc;

	if (fp == NULL)
		return fail(EXIT_USAGE, "out of memory");
	ack_config_dump(cfg, fp);
	if (fclose(fp) != 0 || dump == NULL)
		return fail(EXIT_USAGE, "out of memory");
	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	p = dump;
	for (const ack_config_key *k = ack_config_keys(); rc == ACK_OK && k->name; k++) {
		size_t line = strcspn(p, "\n"), name = strlen(k->name);

		if (line < name || memcmp(p, k->name, name) != 0) {
			rc = ACK_EINVAL;
			break;
		}
		name += line > name && p[name] == ' ';
		rc = config_member(&j, k, p + name, line - name);
		p += line + (p[line] == '\n');
	}
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	free(dump);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "configuration dump: %s",
	    ack_strerror(rc));
}

/* The key table's names, without a configuration file: one a line, or
 * {"keys": [...]}. */
static int
config_keys(bool json)
{
	ack_buf b;
	ack_json j;
	int rc;

	if (!json) {
		for (const ack_config_key *k = ack_config_keys(); k->name; k++)
			printf("%s\n", k->name);
		return 0;
	}
	ack_buf_init(&b, 0);
	ack_json_init(&j, &b);
	rc = ack_json_obj_open(&j);
	rc = rc ? rc : ack_json_key(&j, "keys");
	rc = rc ? rc : ack_json_arr_open(&j);
	for (const ack_config_key *k = ack_config_keys(); rc == ACK_OK && k->name; k++)
		rc = ack_json_str(&j, k->name);
	rc = rc ? rc : ack_json_arr_close(&j);
	rc = rc ? rc : ack_json_obj_close(&j);
	if (rc == ACK_OK)
		put_json_line(&b);
	ack_buf_free(&b);
	return rc == ACK_OK ? 0 : fail(EXIT_USAGE, "out of memory");
}

enum { O_KEYS = 256 };

static int
config_opt(void *arg, int id, const char *v)
{
	(void)id;
	(void)v;
	*(bool *)arg = true;
	return 0;
}

int
cmd_config(int argc, char **argv)
{
	static const char use[] = "config [--json] [--keys]";
	static const struct option opts[] = {
		{ "keys", no_argument, NULL, O_KEYS },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	bool keys = false;
	int i, rc;

	if ((i = ctl_getopt(&c, argc, argv, use, opts, config_opt, &keys)) < 0)
		return EXIT_USAGE;
	if (i != argc)
		return fail(EXIT_USAGE, "usage: ackctl %s", use);
	if (keys)
		return config_keys(c.json);
	if ((rc = ctl_load_config(&c, true)) != 0)
		return rc;
	if (c.json)
		rc = config_json(c.cfg);
	else
		ack_config_dump(c.cfg, stdout);
	ctl_close(&c);
	return rc;
}
