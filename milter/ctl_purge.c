/* ctl_purge.c - being written */
#include "config.h"
#include "ackctl.h"
