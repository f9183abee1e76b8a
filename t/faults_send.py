#!/usr/bin/env python3
"""faults_send.py - send outgoing messages to a running ackmilter over the
milter protocol (t/lib/milterclient.py) and count how each one ended, for
t/faults.test.

    faults_send.py --socket unix:PATH --count N [--rcpts R] [--qid PREFIX]
        [--header Ack-Tracking-Id]

Each message comes from the submission daemon (ORIGINATING) with R
recipients and the queue id PREFIXn (macro i at end of message).  Prints
one line:  "tagged=N untracked=N tempfail=N discard=N other=N" and exits 0
(1 on a protocol error: the daemon died or broke the connection).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
from milterclient import MilterClient, MilterError  # noqa: E402


def session(sock):
    c = MilterClient(sock, timeout=60)
    c.negotiate()
    c.connect("client.example", "4", 45678, "10.9.0.5",
              {"j": "mx.example.org", "{daemon_name}": "ORIGINATING",
               "{client_addr}": "10.9.0.5"})
    c.helo("client.example")
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--rcpts", type=int, default=1)
    ap.add_argument("--qid", default="FLT")
    ap.add_argument("--header", default="Ack-Tracking-Id")
    opt = ap.parse_args()
    n = {"tagged": 0, "untracked": 0, "tempfail": 0, "discard": 0, "other": 0}
    c = None
    try:
        for i in range(opt.count):
            if c is None:
                c = session(opt.socket)
            qid = "%s%d" % (opt.qid, i)
            rcpts = ["<r%d.%d.%s@example.net>" % (i, j, opt.qid.lower())
                     for j in range(opt.rcpts)]
            res = c.message("<alice@example.org>", rcpts,
                            [("From", "alice@example.org"),
                             ("Message-ID", "<%s.%d@example.org>" % (qid, os.getpid())),
                             ("Subject", "fault %d" % i)],
                            b"x" * 200 + b"\r\n", eom_macros={"i": qid})
            tagged = any(m[0] == "h" and m[1] == opt.header for m in res.mods)
            if res.reply[0] == "t":
                n["tempfail"] += 1
            elif res.reply[0] == "d":
                n["discard"] += 1
            elif res.reply[0] in ("c", "a") and tagged:
                n["tagged"] += 1
            elif res.reply[0] in ("c", "a") and not res.mods:
                n["untracked"] += 1
            else:
                n["other"] += 1
                print("# message %d: %r" % (i, res), file=sys.stderr)
            if i % 50 == 49:
                c.quit()
                c = None
        if c is not None:
            c.quit()
    except (MilterError, OSError) as e:
        print(" ".join("%s=%d" % kv for kv in n.items()))
        print("faults_send.py: %s" % e, file=sys.stderr)
        return 1
    print(" ".join("%s=%d" % kv for kv in n.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
