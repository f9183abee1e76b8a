#!/usr/bin/env python3
"""milter_test.py - drive the real ackmilter over its socket, no MTA.

Run by t/milter.test, which starts the daemon with a known configuration
(SubmissionDaemons ORIGINATING, InternalHosts 10.9.0.0/16, ReturnPath
bounces+%t@example.org, AuthenticatedOutgoing yes).  Each test is one
function; the output is "ok N - name" / "not ok N - name" lines and a
final "N passed, N failed".  Exit 1 on any failure.  --mode picks the
tests for the daemon's configuration (t/milter.test writes it):

    main     the configuration above (ReadReceipts and ReportAction default)
    rr       ReadReceipts always
    keep     ReadReceipts keep
    never    ReadReceipts never
    noret    ReturnPath unset or empty: the envelope sender is kept
    tcp      Socket inet:PORT@127.0.0.1 (--pid: the daemon, whose accepted
             connection must have TCP_NODELAY)
    pass     ReportAction pass
    hold     ReportAction hold

    milter_test.py --socket unix:DIR/sock --ackctl PATH --config FILE \
        --db DIR [--mode MODE] [--pid PID]
"""

import argparse
import ctypes
import json
import os
import re
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "lib"))
from milterclient import (MilterClient, MilterError,  # noqa: E402
                          SMFIP_HDR_LEADSPC)

HDR = "Ack-Tracking-Id"
TOKEN_RE = re.compile(r"^[a-z2-7]{40}$")
DEFAULT_NOTIFY = "NOTIFY=SUCCESS,FAILURE,DELAY"
OPT = None          # parsed command line
SEQ = [0]           # Message-ID counter


class Fail(Exception):
    """A failed expectation; the message says what differed."""


class Skip(Exception):
    """The test cannot run here; the message says why."""


def check(cond, what):
    if not cond:
        raise Fail(what)


def msgid():
    SEQ[0] += 1
    return "<mt%d.%d.%d@test.example.org>" % (os.getpid(), int(time.time()),
                                               SEQ[0])


def headers(mid, extra=()):
    return [("From", "Alice <alice@example.org>"),
            ("To", "Bob <bob@example.net>"),
            ("Subject", "milter test"),
            ("Date", "Thu, 26 Nov 2026 06:00:00 +0000"),
            ("Message-ID", mid)] + list(extra)


BODY = b"Hello.\r\n\r\nThis is a test.\r\n"


# ------------------------------------------------------------------ helpers

def session(addr="192.0.2.7", daemon="smtpd-in", family="4"):
    """A negotiated, connected client that said HELO."""
    c = MilterClient(OPT.socket, timeout=OPT.timeout)
    c.negotiate()
    macros = {"j": "mx.example.org", "{daemon_name}": daemon,
              "{client_name}": "client.example", "{client_addr}": addr}
    for res in (c.connect("client.example", family, 45678, addr, macros),
                c.helo("client.example")):
        check(res is None or res.reply == ("c",),
              "stage %r replied %r" % (res and res.stage, res and res.reply))
    return c


def xtext(s):
    return "".join("+%02X" % ord(ch) if ch in "+=" or not 33 <= ord(ch) <= 126
                   else ch for ch in s)


def rcpt_args(addr, args):
    """The ADDRCPT_PAR arguments the spec demands for one recipient."""
    notify = [a for a in args if a.upper().startswith("NOTIFY=")]
    orcpt = [a for a in args if a.upper().startswith("ORCPT=")]
    notify = notify[0] if notify else DEFAULT_NOTIFY
    orcpt = orcpt[0] if orcpt else "ORCPT=rfc822;" + xtext(addr.strip("<>"))
    return notify + " " + orcpt


def split_rcpts(rcpts):
    return [(r, ()) if isinstance(r, str) else (r[0], tuple(r[1]))
            for r in rcpts]


def final_ok(res):
    check(res.stage == "E", "message ended at stage %r with %r, mods %r"
          % (res.stage, res.reply, res.mods))
    check(res.reply in (("c",), ("a",)),
          "final reply %r, want continue or accept" % (res.reply,))


def token_of(res):
    e = res.of("e")
    check(len(e) == 1, "want one CHGFROM, got %r" % (res.mods,))
    m = re.match(r"^<bounces\+([^@>]*)@example\.org>$", e[0][1])
    check(m, "CHGFROM address %r, want <bounces+TOKEN@example.org>"
          % e[0][1])
    tok = m.group(1)
    check(TOKEN_RE.match(tok), "token %r is not 40 chars of [a-z2-7]" % tok)
    return tok


def expected_outgoing(tok, rcpts, ret="HDRS", n_forged=0):
    """The exact modification list for an outgoing message."""
    want = [("e", "<bounces+%s@example.org>" % tok,
             "RET=%s ENVID=%s" % (ret, tok))]
    for addr, args in split_rcpts(rcpts):
        # A recipient whose client gave NOTIFY already has its parameters:
        # ackmilter must leave it alone (re-adding a virtual alias in
        # Postfix loses its expansion).
        if any(a.upper().startswith("NOTIFY=") for a in args):
            continue
        want += [("-", addr), ("2", addr, rcpt_args(addr, args))]
    want += [("m", i, HDR, "") for i in range(1, n_forged + 1)]
    return want


def norm_mods(mods):
    """Header names compared case-insensitively, header values stripped
    for ADDHEADER, CHGHEADER deletions of one name as an unordered set."""
    out, dels = [], []
    for m in mods:
        if m[0] == "m" and m[3] == "":
            dels.append((m[0], m[1], m[2].lower(), ""))
            continue
        if dels:
            out += sorted(dels)
            dels = []
        if m[0] == "h":
            m = ("h", m[1].lower(), m[2].strip())
        out.append(m)
    return out + sorted(dels)


def check_outgoing(res, rcpts, mid, ret="HDRS", n_forged=0, extra_h=()):
    """Everything the spec says about a tagged message; returns TOKEN."""
    final_ok(res)
    tok = token_of(res)
    want = expected_outgoing(tok, rcpts, ret, n_forged)
    want.append(("h", HDR, tok))
    got = [m for m in res.mods
           if not (m[0] in "hi" and m[-2].lower() in extra_h)]
    want_n = norm_mods(want)
    got_n = norm_mods(got)
    check(got_n == want_n, "modifications differ:\n  got  %r\n  want %r"
          % (got, want))
    check_store(tok, rcpts, mid)
    return tok


def ackctl(*args):
    p = subprocess.run([OPT.ackctl] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def find_key(obj, key):
    """First value of key anywhere in a JSON tree."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, list):
        for v in obj:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def strings_of(obj):
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, list):
        return [s for v in obj for s in strings_of(v)]
    return []


def check_store(tok, rcpts, mid):
    rc, out, err = ackctl("-c", OPT.config, "verify", tok)
    check(rc == 0, "ackctl verify %s exit %d: %s%s" % (tok, rc, out, err))
    rc, out, err = ackctl("-d", OPT.db, "show", "--json", tok)
    check(rc == 0, "ackctl show --json %s exit %d: %s%s" % (tok, rc, out,
                                                            err))
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise Fail("ackctl show --json output is not JSON (%s): %r"
                   % (e, out[:300]))
    got_mid = find_key(doc, "message_id")
    check(got_mid == mid, "store message_id %r, want %r" % (got_mid, mid))
    recs = find_key(doc, "recipients")
    check(isinstance(recs, list), "no recipients list in %r" % out[:300])
    pairs = split_rcpts(rcpts)
    addrs = [a.strip("<>").lower() for a, _ in pairs]
    # A recipient whose client asked NOTIFY=NEVER has no DSN to wait for.
    never = {a.strip("<>").lower() for a, args in pairs
             if any(x.upper() == "NOTIFY=NEVER" for x in args)}
    check(len(recs) == len(addrs), "store has %d recipients, want %d: %s"
          % (len(recs), len(addrs), out[:500]))
    for a in addrs:
        hit = [r for r in recs if a in [s.lower() for s in strings_of(r)]]
        check(hit, "recipient %s not in the store: %s" % (a, out[:500]))
        dsn = hit[0].get("dsn") if isinstance(hit[0], dict) else None
        want = "none" if a in never else "pending"
        check(isinstance(dsn, dict) and dsn.get("state") == want,
              "recipient %s dsn %r, want {\"state\": \"%s\"}" % (a, dsn, want))


def check_untracked(mid):
    rc, out, err = ackctl("-d", OPT.db, "show", "--json", mid)
    check(rc == 1, "ackctl show %s exit %d, want 1 (not recorded): %s%s"
          % (mid, rc, out[:300], err))


def check_inbound(res, mid, n_forged=0, early=False):
    """Inbound mail: untouched but for forged tracking headers removed.
    With early, the milter must have accepted it at the first body chunk
    (no report, nothing to remove: the MTA sends no more of it)."""
    if early:
        check(res.stage == "B" and res.reply == ("a",),
              "want accept at the first body chunk, got stage %r reply %r"
              % (res.stage, res.reply))
    else:
        final_ok(res)
    want = [("m", i, HDR.lower(), "") for i in range(1, n_forged + 1)]
    check(norm_mods(res.mods) == want,
          "inbound modifications %r, want only %d deletion(s) of %s"
          % (res.mods, n_forged, HDR))
    check_untracked(mid)


RCPT1 = ["<bob@example.net>"]
RCPT2 = ["<bob@example.net>", "<carol@example.com>"]


# ------------------------------------------------------------------ tests

def t_outgoing_daemon_name():
    c = session(addr="192.0.2.7", daemon="ORIGINATING")
    mid = msgid()
    res = c.message("<alice@example.org>", RCPT1, headers(mid), BODY)
    check_outgoing(res, RCPT1, mid)
    c.quit()


def t_outgoing_auth():
    c = session(addr="192.0.2.7", daemon="smtpd-in")
    mid = msgid()
    res = c.message("<alice@example.org>", RCPT1, headers(mid), BODY,
                    mail_macros={"{auth_authen}": "alice",
                                 "{auth_type}": "PLAIN"})
    check_outgoing(res, RCPT1, mid)
    c.quit()


def t_outgoing_internal_hosts():
    c = session(addr="10.9.1.2", daemon="smtpd-in")
    mid = msgid()
    res = c.message("<alice@example.org>", RCPT2, headers(mid), BODY)
    check_outgoing(res, RCPT2, mid)
    c.quit()


def t_inbound_untouched():
    c = session(addr="192.0.2.7", daemon="smtpd-in")
    mid = msgid()
    res = c.message("<carol@example.com>", ["<alice@example.org>"],
                    headers(mid), BODY, mail_macros={"{auth_authen}": ""})
    check_inbound(res, mid, early=True)
    c.quit()


def t_inbound_forged_header():
    # A genuine token made by an outgoing message, then replayed from outside.
    c = session(daemon="ORIGINATING")
    mid = msgid()
    tok = check_outgoing(c.message("<alice@example.org>", RCPT1,
                                   headers(mid), BODY), RCPT1, mid)
    c.quit()
    c = session(addr="192.0.2.7", daemon="smtpd-in")
    mid = msgid()
    forged = [(HDR, tok), ("X-Other", "x"), (HDR, "a" * 40)]
    res = c.message("<mallory@example.com>", ["<alice@example.org>"],
                    headers(mid, forged), BODY)
    check_inbound(res, mid, n_forged=2)
    c.quit()


def t_null_sender_not_tagged():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    res = c.message("<>", RCPT1, headers(mid), BODY)
    final_ok(res)
    bad = [m for m in res.mods if m[0] in "e-2+h"]
    check(not bad, "null sender got modifications %r" % bad)
    check_untracked(mid)
    c.quit()


def t_client_notify_orcpt_kept():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    rcpts = [("<bob@example.net>", ["NOTIFY=NEVER"]),
             ("<carol@example.com>", ["ORCPT=rfc822;carol+2Bold@example.com"]),
             ("<dan@example.com>", ["NOTIFY=FAILURE",
                                    "ORCPT=rfc822;dan@old.example"])]
    res = c.message("<alice@example.org>", rcpts, headers(mid), BODY)
    check_outgoing(res, rcpts, mid)
    c.quit()


def t_ret_full_kept():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    res = c.message("<alice@example.org>", RCPT1, headers(mid), BODY,
                    mail_args=["RET=FULL"])
    check_outgoing(res, RCPT1, mid, ret="FULL")
    c.quit()


def t_two_messages_one_connection():
    c = session(daemon="ORIGINATING")
    mid1, mid2 = msgid(), msgid()
    r1 = ["<bob@example.net>", "<carol@example.com>"]
    r2 = ["<erin@example.net>"]
    t1 = check_outgoing(c.message("<alice@example.org>", r1, headers(mid1),
                                  BODY), r1, mid1)
    res = c.message("<alice@example.org>", r2, headers(mid2), BODY)
    t2 = check_outgoing(res, r2, mid2)
    check(t1 != t2, "both messages got token %s" % t1)
    leaked = [m for m in res.mods if m[0] in "-2" and m[1] in r1]
    check(not leaked, "message 2 carries message 1's recipients: %r"
          % leaked)
    c.quit()


def t_abort_then_new_message():
    c = session(daemon="ORIGINATING")
    mid1, mid2 = msgid(), msgid()
    for step in (lambda: c.mail("<alice@example.org>"),
                 lambda: c.rcpt("<bob@example.net>"),
                 lambda: c.data(),
                 lambda: c.header("Message-ID", mid1)):
        res = step()
        check(res is None or res.reply == ("c",),
              "stage %r before abort replied %r"
              % (res and res.stage, res and res.reply))
    c.abort()
    r2 = ["<carol@example.com>"]
    res = c.message("<alice@example.org>", r2, headers(mid2), BODY)
    check_outgoing(res, r2, mid2)
    check_untracked(mid1)
    c.quit()


def t_orcpt_xtext():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    rcpts = ["<bob@example.net>", "<dave+tag@example.net>",
             "<x=y@example.net>"]
    res = c.message("<alice@example.org>", rcpts, headers(mid), BODY)
    check_outgoing(res, rcpts, mid)
    two = {m[1]: m[2] for m in res.of("2")}
    check("ORCPT=rfc822;dave+2Btag@example.net" in
          two.get("<dave+tag@example.net>", ""),
          "xtext of '+' wrong: %r" % two)
    check("ORCPT=rfc822;x+3Dy@example.net" in
          two.get("<x=y@example.net>", ""), "xtext of '=' wrong: %r" % two)
    c.quit()


def t_8bit_and_huge_headers():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    # The largest header a libmilter peer accepts: name NUL value NUL in
    # one packet of at most 65535 data bytes (the lead space included).
    room = 65535 - len("X-Big") - 2 - c.wants(SMFIP_HDR_LEADSPC)
    big = b"\xc3\xa9\xff" + b"a" * (room - 3)
    extra = [("Subject", b"\xe9t\xe9 \xff\xfe \x80 caf\xc3\xa9"),
             ("X-Eight", b"\x01\x7f\xfe\xff"),
             ("X-Big", big),
             ("X-Empty", b"")]
    res = c.message("<alice@example.org>", RCPT1, headers(mid, extra), BODY)
    final_ok(res)
    c.quit()
    # the daemon survived: a fresh connection still gets a tagged message
    c = session(daemon="ORIGINATING")
    mid = msgid()
    check_outgoing(c.message("<alice@example.org>", RCPT1, headers(mid),
                             BODY), RCPT1, mid)
    c.quit()


def t_outgoing_replaces_old_header():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    old = [(HDR, "b" * 40), ("X-Mid", "1"), (HDR, "stale")]
    res = c.message("<alice@example.org>", RCPT1, headers(mid, old), BODY)
    check_outgoing(res, RCPT1, mid, n_forged=2)
    c.quit()


def t_exact_order():
    c = session(daemon="ORIGINATING")
    mid = msgid()
    rcpts = ["<bob@example.net>", "<carol@example.com>"]
    res = c.message("<alice@example.org>", rcpts, headers(mid), BODY)
    final_ok(res)
    tok = token_of(res)
    want = [("e", "<bounces+%s@example.org>" % tok,
             "RET=HDRS ENVID=%s" % tok),
            ("-", "<bob@example.net>"),
            ("2", "<bob@example.net>", DEFAULT_NOTIFY +
             " ORCPT=rfc822;bob@example.net"),
            ("-", "<carol@example.com>"),
            ("2", "<carol@example.com>", DEFAULT_NOTIFY +
             " ORCPT=rfc822;carol@example.com"),
            ("h", HDR, tok)]
    got = [m if m[0] != "h" else (m[0], m[1], m[2].strip())
           for m in res.mods]
    check(got == want, "order differs:\n  got  %r\n  want %r" % (res.mods,
                                                                  want))
    c.quit()


def added_dnt(res):
    """The value of the one Disposition-Notification-To the milter added."""
    dnt = [m for m in res.mods if m[0] in "hi" and
           m[-2].lower() == "disposition-notification-to"]
    check(len(dnt) == 1 and dnt[0][-1].strip(),
          "want one Disposition-Notification-To header, mods %r" % res.mods)
    return dnt[0][-1].strip()


def t_read_receipts_always():
    # The read receipt goes to the signed return address.
    c = session(daemon="ORIGINATING")
    mid = msgid()
    res = c.message("<alice@example.org>", RCPT1, headers(mid), BODY)
    dnt = added_dnt(res)
    check_outgoing(res, RCPT1, mid,
                   extra_h=("disposition-notification-to",))
    tok = token_of(res)
    check(dnt == "<bounces+%s@example.org>" % tok,
          "Disposition-Notification-To %r, want the return address of %s"
          % (dnt, tok))
    c.quit()


def t_read_receipts_always_no_return_path():
    # Without ReturnPath the read receipt goes to the sender.
    c = session(daemon="ORIGINATING")
    res = c.message("<alice@example.org>", RCPT1, headers(msgid()), BODY)
    c.quit()
    final_ok(res)
    dnt = added_dnt(res)
    check(dnt == "<alice@example.org>",
          "Disposition-Notification-To %r, want <alice@example.org>" % dnt)


# ------------------------------------------------------------ read receipts
# ReadReceipts keep: only a Disposition-Notification-To that the client set
# is recorded (MDN pending), none is added; never: none added, none
# recorded, whatever the client set.  The modifications are checked exactly
# (check_outgoing), so an added Disposition-Notification-To fails them.

DNT = ("Disposition-Notification-To", "Alice <alice@example.org>")


def show(tok):
    """ackctl show --json TOKEN, parsed."""
    rc, out, err = ackctl("-d", OPT.db, "show", "--json", tok)
    check(rc == 0, "ackctl show --json %s exit %d: %s%s" % (tok, rc, out,
                                                            err))
    return json.loads(out)


def side_states(doc, side):
    """{address: state} of one side ("dsn" or "mdn") of each recipient."""
    return {r["address"]: r[side]["state"] for r in doc["recipients"]}


def check_mdn_side(rcpts, client_dnt, want):
    c = session(daemon="ORIGINATING")
    mid = msgid()
    extra = [DNT] if client_dnt else []
    res = c.message("<alice@example.org>", rcpts, headers(mid, extra), BODY)
    tok = check_outgoing(res, rcpts, mid)
    c.quit()
    doc = show(tok)
    check(doc.get("read_receipt_requested") is (want == "pending"),
          "read_receipt_requested %r, want %r"
          % (doc.get("read_receipt_requested"), want == "pending"))
    got = side_states(doc, "mdn")
    check(got == {a.strip("<>"): want for a in rcpts},
          "mdn states %r, want all %r" % (got, want))


def t_keep_client_dnt_recorded():
    check_mdn_side(RCPT2, True, "pending")


def t_keep_no_dnt_none():
    check_mdn_side(RCPT2, False, "none")


def t_never_client_dnt_not_recorded():
    check_mdn_side(RCPT2, True, "none")


def t_never_no_dnt_none():
    check_mdn_side(RCPT1, False, "none")


# ------------------------------------------------------------ no ReturnPath
# ReturnPath unset or empty: CHGFROM names the client's own envelope
# sender, verbatim, and still carries RET= and ENVID=<token>.

def check_sender_kept(sender, mail_args, ret):
    c = session(daemon="ORIGINATING")
    mid = msgid()
    res = c.message(sender, RCPT2, headers(mid), BODY, mail_args=mail_args)
    c.quit()
    final_ok(res)
    e = res.of("e")
    check(len(e) == 1, "want one CHGFROM, got %r" % (res.mods,))
    m = re.match(r"^RET=%s ENVID=([a-z2-7]{40})$" % ret, e[0][2] or "")
    check(e[0][1] == sender and m,
          "CHGFROM %r, want (%r, 'RET=%s ENVID=<token>')" % (e[0], sender,
                                                            ret))
    tok = m.group(1)
    want = [("e", sender, "RET=%s ENVID=%s" % (ret, tok))]
    for a in RCPT2:
        want += [("-", a), ("2", a, rcpt_args(a, ()))]
    want.append(("h", HDR, tok))
    got = [m if m[0] != "h" else (m[0], m[1], m[2].strip())
           for m in res.mods]
    check(got == want, "modifications differ:\n  got  %r\n  want %r"
          % (res.mods, want))
    check_store(tok, RCPT2, mid)
    doc = show(tok)
    check(doc.get("sender") == sender.strip("<>") and
          doc.get("ret") == ret,
          "store sender %r ret %r, want %r %r" % (doc.get("sender"),
                                                  doc.get("ret"),
                                                  sender.strip("<>"), ret))
    return tok


def t_noret_sender_kept():
    check_sender_kept("<alice@example.org>", (), "HDRS")


def t_noret_sender_kept_verbatim_ret_full():
    check_sender_kept("<Dave.Smith+x@Example.COM>", ["RET=FULL"], "FULL")


def t_noret_report_to_sender_delivered():
    # With no return address, a DSN comes back to the sender itself: it is
    # recorded (through its Original-Envelope-Id) and delivered, marked.
    tok = check_sender_kept("<alice@example.org>", (), "HDRS")
    res = send_dsn(tok, "<alice@example.org>")
    final_ok(res)
    want = [("h", "ack-report", "kind=dsn; token=%s; recorded=yes" % tok)]
    check(norm_mods(res.mods) == want, "report modifications %r, want %r"
          % (res.mods, want))
    check_dsn_recorded(tok)


# ------------------------------------------------------------ reports
# A DSN for a message the store knows, addressed to its signed return
# address: recorded, then discarded (the default), passed with an
# Ack-Report header, or held, per ReportAction.

def dsn(token, rcpt, action="delivered", status="2.0.0"):
    body = ("--B\r\nContent-Type: text/plain\r\n\r\nYour message.\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n"
            "Original-Envelope-Id: %s\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n"
            "Remote-MTA: dns; mx.example.net\r\n\r\n--B--\r\n"
            % (token, rcpt, action, status))
    hdrs = [("From", "MAILER-DAEMON@example.net"),
            ("To", "bounces@example.org"),
            ("Subject", "Delivery Status Notification"),
            ("Date", "Thu, 26 Nov 2026 06:01:00 +0000"),
            ("Message-ID", msgid()),
            ("MIME-Version", "1.0"),
            ("Content-Type", "multipart/report; report-type=delivery-status;"
             ' boundary="B"')]
    return hdrs, body.encode()


def tracked(rcpts):
    """An outgoing message with the signed return path; its token."""
    c = session(daemon="ORIGINATING")
    mid = msgid()
    tok = check_outgoing(c.message("<alice@example.org>", rcpts,
                                   headers(mid), BODY), rcpts, mid)
    c.quit()
    return tok


def send_dsn(tok, rcpt_to=None):
    """A null-sender DSN (bob@example.net delivered) from outside."""
    c = session(addr="192.0.2.7", daemon="smtpd-in")
    hdrs, body = dsn(tok, "bob@example.net")
    res = c.message("<>", [rcpt_to or "<bounces+%s@example.org>" % tok],
                    hdrs, body, eom_macros={"i": "RPT%d" % SEQ[0]})
    c.quit()
    return res


def check_dsn_recorded(tok):
    doc = show(tok)
    dsns = {r["address"]: r["dsn"] for r in doc["recipients"]}
    bob = dsns.get("bob@example.net") or {}
    check(bob.get("state") == "delivered" and bob.get("status") == "2.0.0",
          "bob's dsn %r, want delivered 2.0.0" % (bob,))
    others = {a: d["state"] for a, d in dsns.items() if a != "bob@example.net"}
    check(all(v == "pending" for v in others.values()),
          "the other recipients changed: %r" % (others,))


def t_report_discard_default():
    tok = tracked(RCPT2)
    res = send_dsn(tok)
    check(res.stage == "E" and res.reply == ("d",) and not res.mods,
          "want discard at end of message and no modification, got %r"
          % (res,))
    check_dsn_recorded(tok)


def send_inbound(tok, hdrs, text):
    """A null-sender message from outside to the signed return address."""
    c = session(addr="192.0.2.7", daemon="smtpd-in")
    res = c.message("<>", ["<bounces+%s@example.org>" % tok], hdrs,
                    text.replace("\n", "\r\n").encode(),
                    eom_macros={"i": "RPT%d" % SEQ[0]})
    c.quit()
    return res


def rcpt_doc(tok, address):
    doc = show(tok)
    for r in doc["recipients"]:
        if r["address"] == address:
            return r
    raise Fail("no recipient %s in %r" % (address, doc))


def t_bounce_nonstd_absorbed():
    # A qmail bounce (not an RFC 3464 report) to the signed return address
    # is recorded like a DSN, then discarded (ReportAction discard).
    tok = tracked(RCPT2)
    hdrs = [("From", "MAILER-DAEMON@mx.example.com"),
            ("To", "bounces+%s@example.org" % tok),
            ("Subject", "failure notice"),
            ("Date", "Thu, 26 Nov 2026 06:01:00 +0000"),
            ("Message-ID", msgid())]
    text = ("Hi. This is the qmail-send program at mx.example.com.\n"
            "I'm afraid I wasn't able to deliver your message to the "
            "following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work "
            "out.\n\n<carol@example.com>:\n"
            "192.0.2.25 does not like recipient.\n"
            "Remote host said: 550 5.1.1 <carol@example.com>: Recipient "
            "address rejected: User unknown\nGiving up on 192.0.2.25.\n\n"
            "--- Below this line is a copy of the message.\n\n"
            "Subject: hello\n\nHello.\n")
    res = send_inbound(tok, hdrs, text)
    check(res.stage == "E" and res.reply == ("d",) and not res.mods,
          "want discard at end of message and no modification, got %r"
          % (res,))
    carol = rcpt_doc(tok, "carol@example.com")["dsn"]
    check(carol.get("state") == "failed" and carol.get("status") == "5.1.1"
          and carol.get("reason") == "userunknown",
          "carol's dsn %r, want failed 5.1.1 userunknown" % (carol,))
    bob = rcpt_doc(tok, "bob@example.net")["dsn"]
    check(bob.get("state") == "pending", "bob's dsn changed: %r" % (bob,))


def t_autoreply_event_only():
    # An auto-reply to the signed return address is an event of the
    # answering recipient; its DSN state does not change.
    tok = tracked(RCPT2)
    hdrs = [("From", "Bob <bob@example.net>"),
            ("To", "bounces+%s@example.org" % tok),
            ("Subject", "Out of office: hello"),
            ("Auto-Submitted", "auto-replied"),
            ("Date", "Thu, 26 Nov 2026 06:01:00 +0000"),
            ("Message-ID", msgid())]
    res = send_inbound(tok, hdrs, "I am away until Monday.\n")
    check(res.stage == "E" and res.reply == ("d",) and not res.mods,
          "want discard at end of message and no modification, got %r"
          % (res,))
    bob = rcpt_doc(tok, "bob@example.net")
    check(bob["dsn"].get("state") == "pending",
          "bob's dsn changed: %r" % (bob["dsn"],))
    kinds = [(e.get("kind"), e.get("action")) for e in bob.get("events", [])]
    check(("autoreply", "autoreplied") in kinds,
          "no autoreply event for bob: %r" % (bob.get("events"),))


def t_report_pass_header():
    tok = tracked(RCPT2)
    res = send_dsn(tok)
    final_ok(res)
    want = [("h", "ack-report", "kind=dsn; token=%s; recorded=yes" % tok)]
    check(norm_mods(res.mods) == want, "modifications %r, want %r"
          % (res.mods, want))
    check(res.of("h")[0][1] == "Ack-Report", "header name %r, want "
          "Ack-Report" % res.of("h")[0][1])
    check_dsn_recorded(tok)


def t_report_hold_quarantine():
    tok = tracked(RCPT2)
    res = send_dsn(tok)
    final_ok(res)
    want = [("q", "ackmilter: report recorded, held by ReportAction")]
    check(res.mods == want, "modifications %r, want %r" % (res.mods, want))
    check_dsn_recorded(tok)


# ------------------------------------------------------------ inet socket
# Linux gives an accepted socket the listener's TCP_NODELAY.  The daemon's
# side of our connection is fetched with pidfd_getfd(2) (root, or the same
# user with ptrace allowed) and asked directly.

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def daemon_fd_of(pid, port, peer_port):
    """The daemon's fd number for the TCP connection port <- peer_port."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            if (int(col[1].rsplit(":", 1)[1], 16) == port and
                    int(col[2].rsplit(":", 1)[1], 16) == peer_port):
                inodes.add("socket:[%s]" % col[9])
    check(inodes, "no TCP connection %d <- %d in /proc/%d/net"
          % (port, peer_port, pid))
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, name)) in inodes:
                return int(name)
        except OSError:
            continue
    raise Fail("the daemon (pid %d) holds no fd for its side of our "
               "connection %s" % (pid, sorted(inodes)))


def borrow_fd(pid, fd):
    """A duplicate of another process's fd (pidfd_getfd), or Skip."""
    if not hasattr(os, "pidfd_open"):
        raise Skip("os.pidfd_open needs Python 3.9")
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        dup = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        err = ctypes.get_errno()
    finally:
        os.close(pidfd)
    if dup < 0:
        raise Skip("pidfd_getfd of the daemon's socket: %s (needs Linux "
                   "5.6 and root or ptrace rights)" % os.strerror(err))
    return dup


def t_tcp_nodelay():
    check(OPT.pid, "--pid (the daemon's) is needed in tcp mode")
    m = re.match(r"^inet6?:(\d+)", OPT.socket)
    check(m, "socket %r is not inet" % OPT.socket)
    c = session(daemon="ORIGINATING")  # negotiated: the daemon accepted
    fd = daemon_fd_of(OPT.pid, int(m.group(1)), c.sock.getsockname()[1])
    dup = borrow_fd(OPT.pid, fd)
    s = socket.socket(fileno=dup)
    try:
        on = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        s.close()
    check(on != 0, "TCP_NODELAY is off on the daemon's accepted socket "
          "(its fd %d)" % fd)
    mid = msgid()
    check_outgoing(c.message("<alice@example.org>", RCPT1, headers(mid), BODY),
                   RCPT1, mid)
    c.quit()


MAIN = [t_outgoing_daemon_name, t_outgoing_auth, t_outgoing_internal_hosts,
        t_inbound_untouched, t_inbound_forged_header,
        t_null_sender_not_tagged, t_client_notify_orcpt_kept,
        t_ret_full_kept, t_two_messages_one_connection,
        t_abort_then_new_message, t_orcpt_xtext, t_8bit_and_huge_headers,
        t_outgoing_replaces_old_header, t_exact_order,
        t_report_discard_default, t_bounce_nonstd_absorbed,
        t_autoreply_event_only]
MODES = {
    "main": MAIN,
    "rr": [t_read_receipts_always],
    "rr-noret": [t_read_receipts_always_no_return_path],
    "keep": [t_keep_client_dnt_recorded, t_keep_no_dnt_none],
    "never": [t_never_client_dnt_not_recorded, t_never_no_dnt_none],
    "noret": [t_noret_sender_kept, t_noret_sender_kept_verbatim_ret_full,
              t_noret_report_to_sender_delivered],
    "tcp": [t_tcp_nodelay, t_outgoing_daemon_name, t_exact_order,
            t_client_notify_orcpt_kept, t_two_messages_one_connection,
            t_inbound_untouched, t_report_discard_default],
    "pass": [t_report_pass_header],
    "hold": [t_report_hold_quarantine],
}


def run(tests):
    passed = failed = 0
    for n, t in enumerate(tests, 1):
        name = t.__name__[2:]
        try:
            t()
        except Skip as e:
            passed += 1
            print("ok %d - %s # SKIP %s" % (n, name, e))
        except Exception as e:  # a crash in one test fails only that test
            failed += 1
            print("not ok %d - %s" % (n, name))
            text = "%s: %s" % (type(e).__name__, e)
            if not isinstance(e, (Fail, MilterError)):
                text = traceback.format_exc()
            for line in text.splitlines():
                print("#   " + line)
        else:
            passed += 1
            print("ok %d - %s" % (n, name))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main():
    global OPT
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--ackctl", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--mode", choices=sorted(MODES), default="main")
    ap.add_argument("--pid", type=int, help="the daemon's pid (tcp mode)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--only", help="run only tests whose name contains this")
    OPT = ap.parse_args()
    tests = MODES[OPT.mode]
    if OPT.only:
        tests = [t for t in tests if OPT.only in t.__name__]
    return run(tests)


if __name__ == "__main__":
    sys.exit(main())
