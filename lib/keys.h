/*
 * keys.h - access to loaded key material for token.c; not installed.
 */
#ifndef ACK_KEYS_H
#define ACK_KEYS_H

#include "ackmilter.h"

/* The 32-byte key with this id, or NULL.  Read-only guarded memory. */
const unsigned char *ack__keys_find(const ack_keys *k, unsigned id);

#endif
