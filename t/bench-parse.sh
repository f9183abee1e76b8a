#!/bin/sh
# bench-parse.sh - a benchmark, not a test: parse every file of the corpus
# in one process, single-threaded, files read into memory first, and print
# messages per second and MB per second; then the same for Sisimai (Perl,
# Sisimai->make on each in-memory message, delivered => 1) when
# libsisimai-perl is installed, and the ratio.
#
# usage: t/bench-parse.sh [BUILDDIR [CORPUS]]
#   BUILDDIR  where milter/ackctl was built (default: $ACK_BUILDDIR or .)
#   CORPUS    the corpus directory (default: $ACK_CORPUS or ../shared/corpus
#             beside the source tree); the files are those of expected.tsv
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${ACK_BUILDDIR:-.}}
corpus=${2:-${ACK_CORPUS:-$srcdir/../shared/corpus}}
ackctl=$builddir/milter/ackctl
[ -x "$ackctl" ] || { echo "bench-parse: no $ackctl (build first)" >&2; exit 2; }
[ -f "$corpus/expected.tsv" ] || { echo "bench-parse: no corpus at $corpus" >&2; exit 2; }

list=$(mktemp)
trap 'rm -f "$list"' EXIT INT TERM
(cd "$corpus" && grep -v '^#' expected.tsv | cut -f1 | sort -u) >"$list"

cd "$corpus"
echo "ackmilter (ackctl parse --bench, patterns from $srcdir/patterns):"
ours=$(xargs -d '\n' -a "$list" "$ackctl" parse --bench --patterns "$srcdir/patterns")
echo "  $ours"

if ! perl -MSisimai -e 1 2>/dev/null; then
	echo "Sisimai: not installed (apt-get install libsisimai-perl) - no comparison"
	exit 0
fi
echo "Sisimai $(perl -MSisimai -e 'print Sisimai->version'):"
theirs=$(perl -MSisimai -MTime::HiRes=time -e '
	my (@d, $bytes);
	while (my $f = <STDIN>) {
		chomp $f;
		open(my $fh, "<:raw", $f) or next;
		local $/; my $s = <$fh>; close $fh;
		push @d, $s; $bytes += length $s;
	}
	my ($n, $b, $t0) = (0, 0, time);
	do {
		for my $s (@d) {
			eval { Sisimai->make(\$s, delivered => 1) };
			$n++; $b += length $s;
		}
	} while (time - $t0 < 3);
	my $t = time - $t0;
	printf "%d files, %.2f MB: %.0f msg/s, %.1f MB/s\n",
	    scalar @d, $bytes / 1e6, $n / $t, $b / 1e6 / $t;
' <"$list" 2>/dev/null)
echo "  $theirs"
o=$(echo "$ours" | sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p')
s=$(echo "$theirs" | sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p')
if [ -n "$o" ] && [ -n "$s" ] && [ "$s" -gt 0 ]; then
	echo "ratio: $(awk -v o="$o" -v s="$s" 'BEGIN { printf "%.1f", o / s }') times Sisimai's messages per second (target 100)"
fi
