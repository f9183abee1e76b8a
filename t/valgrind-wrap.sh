#!/bin/sh
# valgrind-wrap.sh - LOG_COMPILER of the C unit tests under
# `sh t/run --valgrind`: run the test under valgrind; any error or definite
# leak makes it exit 99 (a failed test).  Reports go to $VG_LOGS, which
# t/run lists at the end.
exec valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --suppressions="$(dirname "$0")/valgrind.supp" \
    --log-file="${VG_LOGS:-/tmp}/vg.%p.log" "$@"
