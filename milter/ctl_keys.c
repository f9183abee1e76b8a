/*
 * ctl_keys.c - ackctl keygen, verify and config: the key file, a token's
 * signature, and the effective configuration.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ackctl.h"

int
cmd_keygen(int argc, char **argv)
{
	struct ctl c = { 0 };
	char err[1024];
	const char *path;
	unsigned id;
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, "keygen [FILE]")) < 0)
		return EXIT_USAGE;
	if (argc - i > 1)
		return fail(EXIT_USAGE, "usage: ackctl keygen [FILE]");
	if (i < argc)
		path = argv[i];
	else if ((rc = ctl_load_config(&c, false)) != 0)
		return rc;
	else
		path = c.cfg->key_file;
	rc = ack_keys_generate(path, &id, err, sizeof err);
	if (rc == ACK_OK)
		printf("%s: key %u added; it signs new tokens, older keys still verify\n",
		    path, id);
	else
		fail(EXIT_USAGE, "%s", err);
	ctl_close(&c);
	return rc == ACK_OK ? 0 : EXIT_USAGE;
}

int
cmd_verify(int argc, char **argv)
{
	struct ctl c = { 0 };
	ack_token_info info;
	char when[64];
	int i, rc;

	if ((i = ctl_options(&c, argc, argv, "verify [-k KEYFILE] TOKEN")) < 0)
		return EXIT_USAGE;
	if (argc - i != 1)
		return fail(EXIT_USAGE, "usage: ackctl verify [-k KEYFILE] TOKEN");
	if ((rc = ctl_open_keys(&c)) != 0)
		return rc;
	rc = ack_token_verify(c.keys, argv[i], strlen(argv[i]), &info);
	if (rc == ACK_OK) {
		fmt_local_time(info.issued, when, sizeof when);
		printf("valid: key %u, issued %s\n", info.key_id, when);
	} else {
		printf("invalid: %s\n", ack_strerror(rc));
	}
	ctl_close(&c);
	return rc == ACK_OK ? 0 : EXIT_NOTFOUND;
}

int
cmd_config(int argc, char **argv)
{
	struct ctl c = { 0 };
	int i, rc;
	bool keys = argc > 1 && strcmp(argv[argc - 1], "--keys") == 0;

	if (keys) {
		for (const ack_config_key *k = ack_config_keys(); k->name; k++)
			printf("%s\n", k->name);
		return 0;
	}
	if ((i = ctl_options(&c, argc, argv, "config [--keys]")) < 0 || i != argc)
		return EXIT_USAGE;
	if ((rc = ctl_load_config(&c, true)) != 0)
		return rc;
	ack_config_dump(c.cfg, stdout);
	ctl_close(&c);
	return 0;
}
