/* ctl_explain.c - being written */
#include "config.h"
#include "ackctl.h"
