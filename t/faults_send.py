#!/usr/bin/env python3
"""faults_send.py - send outgoing messages to a running ackmilter over the
milter protocol (t/lib/milterclient.py) and count how each one ended, for
t/faults.test.

    faults_send.py --socket unix:PATH --count N [--rcpts R] [--qid PREFIX]
        [--header Ack-Tracking-Id] [--tokens FILE]
    faults_send.py --socket unix:PATH --dsn TOKEN [--rcpts R] [--qid PREFIX]

Each message comes from the submission daemon (ORIGINATING) with R
recipients and the queue id PREFIXn (macro i at end of message).  Prints
one line:  "tagged=N untracked=N tempfail=N discard=N other=N" and exits 0
(1 on a protocol error: the daemon died or broke the connection).  With
--tokens, the token of each tagged message is appended to FILE, one a line.

--dsn sends instead one DSN from outside (null sender) to the signed
return address bounces+TOKEN@example.org, saying that the R recipients of
message PREFIX0 were delivered, and prints one line
"reply=X ack_report=N quarantine=N other=N" (X the milter's letter at end
of message: c continue, a accept, d discard, t tempfail...).
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


def dsn(opt):
    """One DSN for every recipient of message 0; its result line."""
    rcpts = ["r0.%d.%s@example.net" % (j, opt.qid.lower())
             for j in range(opt.rcpts)]
    body = ("--B\r\nContent-Type: text/plain\r\n\r\nDelivered.\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n"
            "Original-Envelope-Id: %s\r\n\r\n" % opt.dsn +
            "".join("Final-Recipient: rfc822; %s\r\nAction: delivered\r\n"
                    "Status: 2.0.0\r\nRemote-MTA: dns; mx.example.net\r\n"
                    "\r\n" % r for r in rcpts) + "--B--\r\n")
    hdrs = [("From", "MAILER-DAEMON@example.net"),
            ("To", "bounces@example.org"),
            ("Subject", "Delivery Status Notification"),
            ("Message-ID", "<dsn.%s.%d@example.net>" % (opt.qid, os.getpid())),
            ("MIME-Version", "1.0"),
            ("Content-Type", "multipart/report; report-type=delivery-status;"
             ' boundary="B"')]
    c = MilterClient(opt.socket, timeout=60)
    c.negotiate()
    c.connect("mx.example.net", "4", 45678, "192.0.2.7",
              {"j": "mx.example.org", "{daemon_name}": "smtpd-in",
               "{client_addr}": "192.0.2.7"})
    c.helo("mx.example.net")
    res = c.message("<>", ["<bounces+%s@example.org>" % opt.dsn], hdrs,
                    body.encode(), eom_macros={"i": opt.qid + "DSN"})
    c.quit()
    ack = [m for m in res.mods if m[0] == "h" and m[1] == "Ack-Report"]
    quar = res.of("q")
    other = len(res.mods) - len(ack) - len(quar)
    if other:
        print("# DSN: %r" % (res,), file=sys.stderr)
    return "reply=%s ack_report=%d quarantine=%d other=%d" % (
        res.reply[0], len(ack), len(quar), other)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--rcpts", type=int, default=1)
    ap.add_argument("--qid", default="FLT")
    ap.add_argument("--header", default="Ack-Tracking-Id")
    ap.add_argument("--tokens", help="append each tagged message's token here")
    ap.add_argument("--dsn", metavar="TOKEN", help="send a DSN for TOKEN")
    opt = ap.parse_args()
    if opt.dsn:
        try:
            print(dsn(opt))
        except (MilterError, OSError) as e:
            print("faults_send.py: %s" % e, file=sys.stderr)
            return 1
        return 0
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
            toks = [m[2].strip() for m in res.mods
                    if m[0] == "h" and m[1] == opt.header]
            tagged = bool(toks)
            if toks and opt.tokens:
                with open(opt.tokens, "a") as f:
                    f.write(toks[0] + "\n")
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
