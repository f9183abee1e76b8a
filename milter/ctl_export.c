/* ctl_export.c - being written */
#include "config.h"
#include "ackctl.h"
