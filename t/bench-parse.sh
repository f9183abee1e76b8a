#!/bin/sh
# bench-parse.sh - a benchmark, not a test: parse every file of the corpus
# in one process, single-threaded, files read into memory first, and print
# messages per second and MB per second; then the same for Sisimai (Perl,
# Sisimai->make on each in-memory message, delivered => 1) when
# libsisimai-perl is installed, and the ratio.  The two are interleaved
# for ROUNDS rounds (default 3; the machine is noisy): each round's figures
# are printed, then the medians and the median of the rounds' ratios.
#
# Each round also parses the files with an empty pattern library (RFC
# reports only, no rule run): what the rules cost is the difference.
#
# usage: t/bench-parse.sh [BUILDDIR [CORPUS [ROUNDS]]]
#   BUILDDIR  where milter/ackctl was built (default: $ACK_BUILDDIR or .)
#   CORPUS    the corpus directory (default: $ACK_CORPUS or ../shared/corpus
#             beside the source tree); the files are those of expected.tsv
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${ACK_BUILDDIR:-.}}
corpus=${2:-${ACK_CORPUS:-$srcdir/../shared/corpus}}
rounds=${3:-3}
[ -d "$builddir" ] && builddir=$(cd "$builddir" && pwd) # we cd to the corpus
ackctl=$builddir/milter/ackctl
[ -x "$ackctl" ] || { echo "bench-parse: no $ackctl (build first)" >&2; exit 2; }
[ -f "$corpus/expected.tsv" ] || { echo "bench-parse: no corpus at $corpus" >&2; exit 2; }

list=$(mktemp)
trap 'rm -f "$list"' EXIT INT TERM
(cd "$corpus" && grep -v '^#' expected.tsv | cut -f1 | sort -u) >"$list"

cd "$corpus"
ours() {
	xargs -d '\n' -a "$list" "$ackctl" parse --bench --patterns "${1:-$srcdir/patterns}"
}
theirs() {
	perl -MSisimai -MTime::HiRes=time -e '
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
' <"$list" 2>/dev/null
}
rate() {
	sed -n 's/.*: \([0-9]*\) msg\/s.*/\1/p'
}
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

sisimai=yes
perl -MSisimai -e 1 2>/dev/null || sisimai=
echo "ackmilter: ackctl parse --bench, patterns from $srcdir/patterns"
if [ -n "$sisimai" ]; then
	echo "Sisimai $(perl -MSisimai -e 'print Sisimai->version'): Sisimai->make, delivered => 1"
else
	echo "Sisimai: not installed (apt-get install libsisimai-perl) - no comparison"
fi
res=$(mktemp)
res_empty=$(mktemp)
empty=$(mktemp -d)
trap 'rm -rf "$list" "$res" "$res_empty" "$empty"' EXIT INT TERM
r=1
while [ "$r" -le "$rounds" ]; do
	o=$(ours)
	echo "round $r: ackmilter $o"
	e=$(ours "$empty")
	echo "round $r: no rules  $e"
	echo "$e" | rate >>"$res_empty"
	if [ -n "$sisimai" ]; then
		t=$(theirs)
		echo "round $r: Sisimai   $t"
		echo "$(echo "$o" | rate) $(echo "$t" | rate)" >>"$res"
	else
		echo "$(echo "$o" | rate) 0" >>"$res"
	fi
	r=$((r + 1))
done
echo "median: ackmilter $(cut -d' ' -f1 "$res" | median) msg/s"
echo "median: ackmilter without rules $(median <"$res_empty") msg/s"
[ -n "$sisimai" ] || exit 0
echo "median: Sisimai $(cut -d' ' -f2 "$res" | median) msg/s"
ratio=$(awk '$2 > 0 { printf "%.1f\n", $1 / $2 }' "$res" | median)
echo "ratio: $ratio times Sisimai's messages per second (median of the rounds; target 100)"
