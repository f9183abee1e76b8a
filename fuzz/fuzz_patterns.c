/*
 * fuzz_patterns.c - libFuzzer target for the pattern library: the first
 * input byte chooses what the rest is.  Even: a message matched against
 * the shipped rules (every .pat file of patterns/, loaded once), as a whole and through
 * the milter stages with a bounce-like Subject, so every rule class runs
 * against hostile text under the PCRE2 limits.  Odd: a pattern file,
 * written to a directory of its own and compiled with ack_patterns_load
 * (the .pat parser and the regex compile errors).  Build: see
 * fuzz_report.c (PKGDATADIR must point at the source tree).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ackmilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ack_patterns *
shipped(void)
{
	static ack_patterns *pt;
	static int tried;
	char err[512];

	if (!tried) {
		tried = 1;
		if (ack_patterns_load(&pt, PKGDATADIR "/patterns", err,
		    sizeof err) != ACK_OK) {
			fprintf(stderr, "fuzz_patterns: %s\n", err);
			abort();
		}
	}
	return pt;
}

static void
match_message(ack_parser *p, const uint8_t *data, size_t size)
{
	ack_parser_set_patterns(p, shipped());
	if (ack_parser_message(p, data, size) != ACK_OK)
		return;
	ack_parser_reset(p);
	ack_parser_set_patterns(p, shipped());
	if (ack_parser_header(p, "Subject", "Undelivered Mail Returned to Sender") != ACK_OK ||
	    ack_parser_header(p, "From", "MAILER-DAEMON@example.org") != ACK_OK ||
	    ack_parser_eoh(p) != ACK_OK)
		return;
	(void)ack_parser_candidate(p);
	if (ack_parser_body(p, data, size) == ACK_OK)
		(void)ack_parser_eom(p);
}

static void
load_file(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[96], err[512];
	ack_patterns *pt = NULL;
	FILE *fp;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_patterns.%ld", (long)getpid());
		(void)mkdir(dir, 0700);
	}
	snprintf(path, sizeof path, "%s/50-fuzz.pat", dir);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	if (fwrite(data, 1, size, fp) != size) {
		(void)fclose(fp);
		return;
	}
	if (fclose(fp) == 0 &&
	    ack_patterns_load(&pt, dir, err, sizeof err) == ACK_OK)
		ack_patterns_free(pt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ack_parser *p;

	if (size == 0)
		return 0;
	if (p == NULL && ack_parser_new(&p, 64 * 1024) != ACK_OK)
		return 0;
	ack_parser_reset(p);
	if (data[0] % 2 == 0)
		match_message(p, data + 1, size - 1);
	else
		load_file(data + 1, size - 1);
	ack_parser_reset(p);
	return 0;
}
