/*
 * config_types.h - what the key table and loader (config.c) share with the
 * per-type parsers, destructors and printers (config_types.c).  Not
 * installed.
 */
#ifndef ACK_CONFIG_TYPES_H
#define ACK_CONFIG_TYPES_H

#include <stddef.h>
#include <stdio.h>

#include "ackmilter.h"

#define KIB 1024LL
#define MIB (1024LL * KIB)
#define GIB (1024LL * MIB)
#define TIB (1024LL * GIB)

#define LINE_MAX_BYTES 4096 /* longest line accepted, without its line end */
#define QUOTE_MAX 64        /* bytes of a value quoted in a message */

#define FIELD(name) offsetof(ack_config, name)

/* s quoted for a message: printable ASCII kept, others \xNN, long cut. */
const char *ack__config_quote(const char *s, char *out, size_t outlen);
/*
 * Set the field of key k from text v.  msg gets the problem, without the
 * key name.  The field keeps its old value on failure.
 */
int ack__config_set(const ack_config_key *k, const char *v, void *field,
    char *msg, size_t msglen);
/* Free what the field of key k holds (strings and lists). */
void ack__config_clear(const ack_config_key *k, void *field);
/* Print the value of the field of key k as " value" (nothing when unset). */
void ack__config_print(const ack_config_key *k, const void *field, FILE *fp);

#endif
