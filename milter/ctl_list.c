/* ctl_list.c - being written */
#include "config.h"
#include "ackctl.h"
