#!/usr/bin/env python3
"""corpus_score.py - score report-parser output against the corpus' expected.tsv.

Reads JSON Lines (one object per file, as printed by `ackctl parse --json`
or t/parse_dump) and the corpus' expected.tsv, and prints per expected kind:
files, detected, recipient recall and status agreement, plus false positives
on ordinary mail and auto-replies.  Scoring follows the corpus README:
addresses compared case-insensitively without <>, status = first d.d.d.

usage: corpus_score.py [--check [--bounces]] [--misses] [--strict-labels]
                       [--expected FILE] [JSONL]
  --check    exit 1 unless the thresholds of the report-parser issue hold
  --bounces  with --check, also the thresholds of the pattern library issue
  --misses   list the files and recipients that were missed
"""
import argparse
import json
import re
import sys

REPORT_KINDS = {"dsn", "bounce", "mdn", "arf"}
KINDS = ["dsn", "mdn", "arf", "bounce-nonstd", "autoreply", "other"]
# Labels the corpus README itself says are wrong: scored as corrected
# unless --strict-labels is given (a note is printed either way).
README_RELABEL = {
    "mimekit/UnitTests/TestData/messages/feedback-report.txt": "arf",
}
STATUS_RE = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d])")


def norm_addr(a):
    return (a or "").strip().strip("<>").strip().lower()


def first_status(s):
    m = STATUS_RE.search(s or "")
    return m.group(1) if m else None


def load_expected(path, relabel=True):
    files, rows = {}, []
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            col = (line.split("\t") + [""] * 6)[:6]
            name, kind = col[0], col[1]
            if relabel and name in README_RELABEL:
                kind = README_RELABEL[name]
            files.setdefault(name, kind)
            rows.append((name, kind, col[2], col[3]))
    return files, rows


def load_results(fp):
    out = {}
    for n, line in enumerate(fp, 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            sys.exit("line %d: invalid JSON: %s" % (n, e))
        out[obj.get("file")] = obj
    return out


def detected(kind, got):
    if kind in ("mdn", "arf"):
        return got == kind
    return got in REPORT_KINDS


def pct(a, b):
    return "%.1f%% (%d/%d)" % (100.0 * a / b, a, b) if b else "n/a"


class Score:
    def __init__(self):
        self.files = self.det = self.same = 0
        self.exp_rcpt = self.found = 0
        self.exp_status = self.status_ok = 0


def score(files, rows, res, misses):
    sc = {k: Score() for k in KINDS}
    for name, kind in files.items():
        if kind not in sc:
            continue
        got = (res.get(name) or {}).get("kind", "missing")
        sc[kind].files += 1
        if kind == "autoreply" and got == "autoreply":
            sc[kind].same += 1
        elif kind == "autoreply":
            misses.append("autoreply not recognised (%s): %s" % (got, name))
        if detected(kind, got):
            sc[kind].det += 1
        elif kind not in ("other", "autoreply"):
            misses.append("undetected %s (%s): %s" % (kind, got, name))
        if kind in ("other", "autoreply") and got in REPORT_KINDS:
            misses.append("false positive %s (%s): %s" % (kind, got, name))
    for name, kind, rcpt, status in rows:
        if kind not in sc or not rcpt:
            continue
        s = sc[kind]
        recips = (res.get(name) or {}).get("recipients") or []
        match = [r for r in recips if norm_addr(r.get("address")) == norm_addr(rcpt)]
        s.exp_rcpt += 1
        if not match:
            misses.append("rcpt missed %s: %s %s" % (kind, name, rcpt))
            continue
        s.found += 1
        want = first_status(status)
        if want:
            s.exp_status += 1
            got = first_status(match[0].get("status"))
            if got == want:
                s.status_ok += 1
            else:
                misses.append("status %s: %s %s got %s want %s" %
                              (kind, name, rcpt, got, want))
    return sc


def report(sc):
    print("%-14s %6s  %-20s %-20s %-20s" % ("kind", "files", "detected",
                                            "rcpt recall", "status agree"))
    for k in KINDS:
        s = sc[k]
        label = "false pos." if k in ("other", "autoreply") else "detected"
        det = pct(s.det if label == "detected" else s.det, s.files)
        if label != "detected":
            det = "fp " + det
        print("%-14s %6d  %-20s %-20s %-20s" % (k, s.files, det,
                                                pct(s.found, s.exp_rcpt),
                                                pct(s.status_ok, s.exp_status)))
    a = sc["autoreply"]
    print("autoreply files reported as autoreply: %s" % pct(a.same, a.files))
    fp = sc["other"].det + sc["autoreply"].det
    print("false positives on other+autoreply: %s" %
          pct(fp, sc["other"].files + sc["autoreply"].files))


def check(sc, bounces=False):
    d = sc["dsn"]
    fails = []

    def need(ok, what):
        if not ok:
            fails.append(what)
    need(d.files and d.det * 100 >= 99 * d.files, "DSN detection < 99%")
    need(d.exp_rcpt == 0 or d.found * 100 >= 98 * d.exp_rcpt, "DSN recall < 98%")
    need(d.exp_status == 0 or d.status_ok * 100 >= 98 * d.exp_status,
         "DSN status agreement < 98%")
    need(sc["mdn"].det == sc["mdn"].files, "an MDN file not recognised")
    need(sc["arf"].det == sc["arf"].files, "an ARF file not recognised")
    need(sc["other"].det + sc["autoreply"].det == 0, "false positives")
    if bounces:
        b = sc["bounce-nonstd"]
        need(b.files and b.det * 100 >= 95 * b.files,
             "non-standard bounce detection < 95%")
        need(b.exp_rcpt == 0 or b.found * 100 >= 90 * b.exp_rcpt,
             "non-standard bounce recall < 90%")
        need(b.exp_status == 0 or b.status_ok * 100 >= 85 * b.exp_status,
             "non-standard bounce status agreement < 85%")
        need(sc["autoreply"].same == sc["autoreply"].files,
             "an auto-reply not reported as autoreply")
    for f in fails:
        print("CHECK FAILED: " + f)
    return not fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("jsonl", nargs="?", help="JSON Lines (default stdin)")
    ap.add_argument("--expected", default="/work/shared/corpus/expected.tsv")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--bounces", action="store_true",
                    help="with --check: also the non-standard bounce and "
                    "auto-reply thresholds (needs the pattern files)")
    ap.add_argument("--strict-labels", action="store_true",
                    help="do not apply the README's label corrections")
    a = ap.parse_args()
    files, rows = load_expected(a.expected, not a.strict_labels)
    for name, kind in README_RELABEL.items():
        print("note: %s scored as %s%s (per the corpus README)" %
              (name, kind, " -- not applied" if a.strict_labels else ""))
    if a.jsonl:
        with open(a.jsonl, encoding="utf-8") as fp:
            res = load_results(fp)
    else:
        res = load_results(sys.stdin)
    misses = []
    sc = score(files, rows, res, misses)
    report(sc)
    if a.misses:
        print("\n".join(misses))
    if a.check and not check(sc, a.bounces):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
