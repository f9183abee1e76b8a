#!/bin/sh
# t/lib/sm-deliver.sh - the loopback Sendmail's local mailer in the tests
# (t/lib/sendmail.sh): sh sm-deliver.sh DIR USER < message
# writes the message to DIR/USER/N.eml.  Sendmail runs it as user nobody
# and reports "delivered" when it exits 0.
set -eu
dir=$1/$2
mkdir -p "$dir"
f=$dir/$(date +%s%N).$$.eml
cat >"$f.tmp"
mv "$f.tmp" "$f"
