#!/usr/bin/env python3
"""t/lib/smtpsend.py - a tiny SMTP client for the end-to-end tests.

Sends one message in one SMTP session and prints the queue id the server
gave in its reply to the end of DATA ("250 2.0.0 Ok: queued as 4Xyz"), or
the whole reply when it names none.  Any refusal or connection problem ends
the program with exit status 1 and one line on stderr saying which command
failed and the server's reply.

  smtpsend.py --port 10587 --from alice@ack.test \\
      --rcpt 'bob@example.org' \\
      --rcpt 'carol@example.org NOTIFY=NEVER ORCPT=rfc822;carol@example.org' \\
      --mail-opt RET=FULL --mail-opt ENVID=abc \\
      --message-id 1@ack.test --subject hello [--header 'X-A: b']...
  smtpsend.py --port 10025 --from x@y --rcpt z@local.test --file msg.eml
"""

import argparse
import email.utils
import smtplib
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(description="send one message over SMTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=25)
    p.add_argument("--helo", default="client.ack.test")
    p.add_argument("--from", dest="sender", required=True,
                   help="envelope sender ('' for the null sender)")
    p.add_argument("--mail-opt", action="append", default=[],
                   help="ESMTP MAIL parameter such as RET=HDRS (repeat)")
    p.add_argument("--rcpt", action="append", required=True,
                   help="'ADDRESS [PARAM...]', e.g. 'a@b NOTIFY=NEVER'")
    p.add_argument("--file", help="the message (headers and body)")
    p.add_argument("--message-id", help="Message-ID of a generated message")
    p.add_argument("--subject", default="ackmilter test")
    p.add_argument("--header", action="append", default=[],
                   help="extra header line for a generated message")
    p.add_argument("--timeout", type=float, default=30)
    a = p.parse_args(argv)
    if (a.file is None) == (a.message_id is None):
        p.error("give exactly one of --file and --message-id")
    return a


def build_message(a, rcpts):
    lines = [
        "From: <%s>" % a.sender,
        "To: %s" % ", ".join("<%s>" % r for r in rcpts),
        "Date: %s" % email.utils.formatdate(localtime=False),
        "Message-ID: <%s>" % a.message_id.strip("<>"),
        "Subject: %s" % a.subject,
    ]
    lines += a.header
    lines += ["MIME-Version: 1.0",
              "Content-Type: text/plain; charset=us-ascii",
              "", "This is a test message from the ackmilter test suite.", ""]
    return "\r\n".join(lines).encode("ascii")


def load_message(a, rcpts):
    if a.file is None:
        return build_message(a, rcpts)
    with open(a.file, "rb") as f:
        data = f.read()
    # SMTP wants CR LF; smtplib's data() also fixes bare LF and dots.
    return data


def die(what, code, msg):
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    sys.stderr.write("smtpsend: %s refused: %s %s\n" % (what, code, msg))
    sys.exit(1)


def check(what, reply, want=250):
    code, msg = reply
    if code != want:
        die(what, code, msg)


def transaction(s, a, rcpts, data):
    check("EHLO", s.ehlo(a.helo))
    check("MAIL FROM:<%s>" % a.sender, s.mail(a.sender, a.mail_opt))
    for spec in a.rcpt:
        words = spec.split()
        code, msg = s.rcpt(words[0], words[1:])
        if code not in (250, 251):
            die("RCPT TO:<%s>" % words[0], code, msg)
    code, msg = s.data(data)
    if code != 250:
        die("DATA", code, msg)
    s.quit()
    text = msg.decode("utf-8", "replace")
    marker = "queued as "
    if marker in text:
        return text.split(marker, 1)[1].split()[0]
    return text


def main(argv):
    a = parse_args(argv)
    rcpts = [spec.split()[0] for spec in a.rcpt if spec.split()]
    if len(rcpts) != len(a.rcpt):
        sys.stderr.write("smtpsend: empty --rcpt\n")
        return 2
    data = load_message(a, rcpts)
    try:
        s = smtplib.SMTP(a.host, a.port, timeout=a.timeout)
        try:
            print(transaction(s, a, rcpts, data))
        finally:
            s.close()
    except smtplib.SMTPResponseException as e:
        die("session", e.smtp_code, e.smtp_error)
    except (OSError, smtplib.SMTPException) as e:
        sys.stderr.write("smtpsend: %s:%d: %s\n" % (a.host, a.port, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
