/*
 * fuzz_config.c - libFuzzer target for the configuration loader: each
 * input is written to a file of its own and loaded with ack_config_load
 * over the defaults; a file that loads is dumped (ack_config_dump, to
 * /dev/null), which walks every value, and its netlists are matched
 * against two addresses.  Build: see fuzz_report.c.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ackmilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
input_path(void)
{
	static char path[64];

	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz_config.%ld.conf",
		    (long)getpid());
	return path;
}

static void
use_config(const ack_config *c)
{
	static FILE *null;
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		return;
	ack_config_dump(c, null);
	v4.sin_addr.s_addr = htonl(0x0a000001);
	v6.sin6_addr.s6_addr[15] = 1;
	(void)ack_config_internal(c, &v4);
	(void)ack_config_internal(c, &v6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = input_path();
	ack_config *c = NULL;
	char err[512];
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	if (fwrite(data, 1, size, fp) != size) {
		fclose(fp);
		return 0;
	}
	fclose(fp);
	if (ack_config_load(&c, path, err, sizeof err) == ACK_OK) {
		use_config(c);
		ack_config_free(c);
	} else if (memchr(err, '\0', sizeof err) == NULL) {
		abort(); /* the error message must be terminated */
	}
	return 0;
}
