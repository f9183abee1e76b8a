"""milterclient.py - a small Sendmail milter protocol (version 6) client.

Plays the MTA side of the milter protocol against a real milter over a
unix or inet socket, so that tests can drive ackmilter without an MTA and
assert every modification request it makes (including the ESMTP arguments
of CHGFROM and ADDRCPT_PAR, which miltertest cannot see).

Standard library only.  Written for the ackmilter test suite from the
constants in libmilter's mfdef.h / mfapi.h.

    m = MilterClient("unix:/tmp/x/sock")
    m.negotiate()
    m.connect("client.example", "4", 2525, "192.0.2.7",
              macros={"{daemon_name}": "ORIGINATING"})
    m.helo("client.example")
    res = m.message("<alice@example.org>", ["<bob@example.net>"],
                    [("Subject", "hi"), ("Message-ID", "<1@x>")],
                    b"body\\r\\n")
    res.mods   -> [("e", "<bounces+...>", "RET=HDRS ENVID=..."), ...]
    res.reply  -> ("c",) or ("a",) or ("y", "550 5.7.1 text") ...
    m.quit()
"""

import socket
import struct

# Protocol version and option lengths (mfdef.h).
SMFI_PROT_VERSION = 6
MILTER_CHUNK_SIZE = 65535
MILTER_MAX_DATA_SIZE = 65535

# Commands, MTA -> milter.
SMFIC_ABORT = b"A"
SMFIC_BODY = b"B"
SMFIC_CONNECT = b"C"
SMFIC_MACRO = b"D"
SMFIC_BODYEOB = b"E"
SMFIC_HELO = b"H"
SMFIC_QUIT_NC = b"K"
SMFIC_HEADER = b"L"
SMFIC_MAIL = b"M"
SMFIC_EOH = b"N"
SMFIC_OPTNEG = b"O"
SMFIC_QUIT = b"Q"
SMFIC_RCPT = b"R"
SMFIC_DATA = b"T"
SMFIC_UNKNOWN = b"U"

# Replies and actions, milter -> MTA.
SMFIR_ADDRCPT = b"+"
SMFIR_DELRCPT = b"-"
SMFIR_ADDRCPT_PAR = b"2"
SMFIR_SHUTDOWN = b"4"
SMFIR_ACCEPT = b"a"
SMFIR_REPLBODY = b"b"
SMFIR_CONTINUE = b"c"
SMFIR_DISCARD = b"d"
SMFIR_CHGFROM = b"e"
SMFIR_CONN_FAIL = b"f"
SMFIR_ADDHEADER = b"h"
SMFIR_INSHEADER = b"i"
SMFIR_SETSYMLIST = b"l"
SMFIR_CHGHEADER = b"m"
SMFIR_PROGRESS = b"p"
SMFIR_QUARANTINE = b"q"
SMFIR_REJECT = b"r"
SMFIR_SKIP = b"s"
SMFIR_TEMPFAIL = b"t"
SMFIR_REPLYCODE = b"y"

# Actions the MTA allows (SMFIF_*).
SMFIF_ADDHDRS = 0x001
SMFIF_CHGBODY = 0x002
SMFIF_ADDRCPT = 0x004
SMFIF_DELRCPT = 0x008
SMFIF_CHGHDRS = 0x010
SMFIF_QUARANTINE = 0x020
SMFIF_CHGFROM = 0x040
SMFIF_ADDRCPT_PAR = 0x080
SMFIF_SETSYMLIST = 0x100
SMFI_CURR_ACTS = 0x1FF

# Protocol flags (SMFIP_*).
SMFIP_NOCONNECT = 0x00000001
SMFIP_NOHELO = 0x00000002
SMFIP_NOMAIL = 0x00000004
SMFIP_NORCPT = 0x00000008
SMFIP_NOBODY = 0x00000010
SMFIP_NOHDRS = 0x00000020
SMFIP_NOEOH = 0x00000040
SMFIP_NR_HDR = 0x00000080
SMFIP_NOUNKNOWN = 0x00000100
SMFIP_NODATA = 0x00000200
SMFIP_SKIP = 0x00000400
SMFIP_RCPT_REJ = 0x00000800
SMFIP_NR_CONN = 0x00001000
SMFIP_NR_HELO = 0x00002000
SMFIP_NR_MAIL = 0x00004000
SMFIP_NR_RCPT = 0x00008000
SMFIP_NR_DATA = 0x00010000
SMFIP_NR_UNKN = 0x00020000
SMFIP_NR_EOH = 0x00040000
SMFIP_NR_BODY = 0x00080000
SMFIP_HDR_LEADSPC = 0x00100000
SMFI_CURR_PROT = 0x001FFFFF

# Macro stages for SMFIR_SETSYMLIST (SMFIM_*), and the command each maps to.
SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT = 0, 1, 2, 3
SMFIM_DATA, SMFIM_EOM, SMFIM_EOH = 4, 5, 6
STAGE_OF_CMD = {
    SMFIC_CONNECT: SMFIM_CONNECT, SMFIC_HELO: SMFIM_HELO,
    SMFIC_MAIL: SMFIM_ENVFROM, SMFIC_RCPT: SMFIM_ENVRCPT,
    SMFIC_DATA: SMFIM_DATA, SMFIC_BODYEOB: SMFIM_EOM, SMFIC_EOH: SMFIM_EOH,
}

# Replies that end a stage; everything else at end of message is an action.
FINAL_REPLIES = (SMFIR_ACCEPT, SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_REJECT,
                 SMFIR_TEMPFAIL, SMFIR_REPLYCODE, SMFIR_SKIP,
                 SMFIR_SHUTDOWN, SMFIR_CONN_FAIL)

MAX_REPLY_LEN = 16 * 1024 * 1024


class MilterError(Exception):
    """Protocol violation, timeout or closed connection."""


class Result:
    """What the milter answered for one message (or one stage)."""

    def __init__(self):
        self.mods = []       # modification requests, in order, as tuples
        self.reply = None    # final reply tuple: ("c",), ("y", "550 ...")
        self.stage = None    # command letter the reply came for
        self.skipped = False  # milter answered SKIP to a body chunk

    def of(self, code):
        """The modification tuples whose command letter is code."""
        return [m for m in self.mods if m[0] == code]

    def __repr__(self):
        return "Result(stage=%r, reply=%r, mods=%r)" % (
            self.stage, self.reply, self.mods)


def norm_macro(name):
    """Macro name without braces: "{daemon_name}" -> "daemon_name"."""
    if len(name) > 2 and name.startswith("{") and name.endswith("}"):
        return name[1:-1]
    return name


def to_bytes(s):
    if isinstance(s, bytes):
        return s
    return s.encode("utf-8", "surrogateescape")


def to_text(b):
    return b.decode("utf-8", "surrogateescape")


def split_nul(data, what):
    """Split NUL-terminated strings; the data must end with a NUL."""
    if not data.endswith(b"\0"):
        raise MilterError("%s: strings not NUL-terminated: %r"
                          % (what, data[:80]))
    return [to_text(p) for p in data[:-1].split(b"\0")]


def parse_mod(cmd, data):
    """Decode one modification request into a tuple (letter, fields...)."""
    c = cmd.decode("latin-1")
    if cmd in (SMFIR_ADDRCPT, SMFIR_DELRCPT, SMFIR_QUARANTINE):
        parts = split_nul(data, c)
        if len(parts) != 1:
            raise MilterError("%s: expected one string, got %r" % (c, parts))
        return (c, parts[0])
    if cmd in (SMFIR_ADDRCPT_PAR, SMFIR_CHGFROM):
        parts = split_nul(data, c)
        if len(parts) == 1:
            return (c, parts[0], None)
        if len(parts) != 2:
            raise MilterError("%s: expected address and args, got %r"
                              % (c, parts))
        return (c, parts[0], parts[1])
    if cmd == SMFIR_ADDHEADER:
        parts = split_nul(data, c)
        if len(parts) != 2:
            raise MilterError("h: expected name and value, got %r" % parts)
        return (c, parts[0], parts[1])
    if cmd in (SMFIR_INSHEADER, SMFIR_CHGHEADER):
        if len(data) < 4:
            raise MilterError("%s: short packet" % c)
        (idx,) = struct.unpack(">I", data[:4])
        parts = split_nul(data[4:], c)
        if len(parts) != 2:
            raise MilterError("%s: expected name and value, got %r"
                              % (c, parts))
        return (c, idx, parts[0], parts[1])
    if cmd == SMFIR_REPLBODY:
        return (c, data)
    raise MilterError("unexpected reply %r (%d bytes)" % (cmd, len(data)))


def parse_reply(cmd, data):
    """Decode a final reply into a tuple: ("c",), ("y", "550 5.7.1 x")."""
    c = cmd.decode("latin-1")
    if cmd == SMFIR_REPLYCODE:
        return (c, to_text(data.rstrip(b"\0")))
    return (c,)


class MilterClient:
    """The MTA side of one milter connection."""

    def __init__(self, address, timeout=10.0):
        self.address = address
        self.timeout = timeout
        self.sock = self._open(address)
        self.version = None
        self.actions = 0
        self.protocol = 0         # what the milter asked for
        self.offered_protocol = 0
        self.symlists = {}        # SMFIM_* -> [macro names]
        self.macros = {}          # macros known so far, name without braces
        self.in_message = False

    # ------------------------------------------------------------ transport

    def _open(self, address):
        if address.startswith("unix:") or address.startswith("local:"):
            path = address.split(":", 1)[1]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = path
        elif address.startswith("inet:") or address.startswith("inet6:"):
            kind, rest = address.split(":", 1)
            port, _, host = rest.partition("@")
            host = host or ("::1" if kind == "inet6" else "127.0.0.1")
            fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            target = (host, int(port))
        elif address.startswith("/"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = address
        else:
            raise MilterError("unsupported socket address %r" % address)
        s.settimeout(self.timeout)
        try:
            s.connect(target)
        except OSError as e:
            s.close()
            raise MilterError("connect %s: %s" % (address, e)) from e
        return s

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, cmd, data=b""):
        pkt = struct.pack(">I", len(data) + 1) + cmd + data
        try:
            self.sock.sendall(pkt)
        except OSError as e:
            raise MilterError("send %r: %s" % (cmd, e)) from e

    def _recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except socket.timeout as e:
                raise MilterError("timeout after %.0f s waiting for the milter"
                                  % self.timeout) from e
            except OSError as e:
                raise MilterError("recv: %s" % e) from e
            if not chunk:
                raise MilterError("milter closed the connection")
            out += chunk
        return bytes(out)

    def recv(self):
        """One packet: (command byte, data)."""
        (n,) = struct.unpack(">I", self._recv_exact(4))
        if n < 1 or n > MAX_REPLY_LEN:
            raise MilterError("bad packet length %d" % n)
        body = self._recv_exact(n)
        return body[:1], body[1:]

    # ------------------------------------------------------------ protocol

    def negotiate(self, version=SMFI_PROT_VERSION, actions=SMFI_CURR_ACTS,
                  protocol=SMFI_CURR_PROT):
        """SMFIC_OPTNEG; records what the milter asks for."""
        self.offered_protocol = protocol
        self.send(SMFIC_OPTNEG, struct.pack(">III", version, actions,
                                            protocol))
        cmd, data = self.recv()
        if cmd != SMFIC_OPTNEG or len(data) < 12:
            raise MilterError("bad OPTNEG reply %r %r" % (cmd, data[:40]))
        self.version, self.actions, self.protocol = \
            struct.unpack(">III", data[:12])
        if self.protocol & ~protocol:
            raise MilterError("milter asked for protocol bits not offered: "
                              "0x%x" % (self.protocol & ~protocol))
        if self.actions & ~actions:
            raise MilterError("milter asked for actions not offered: 0x%x"
                              % (self.actions & ~actions))
        self._parse_symlists(data[12:])
        return self.version, self.actions, self.protocol

    def _parse_symlists(self, rest):
        while rest:
            if len(rest) < 5:
                raise MilterError("truncated macro list in OPTNEG")
            (stage,) = struct.unpack(">I", rest[:4])
            end = rest.find(b"\0", 4)
            if end < 0:
                raise MilterError("macro list not NUL-terminated")
            names = to_text(rest[4:end]).split()
            self.symlists[stage] = [norm_macro(n) for n in names]
            rest = rest[end + 1:]

    def wants(self, flag):
        return bool(self.protocol & flag)

    def define(self, macros):
        """Make macros known to the MTA side (sent at later stages)."""
        for k, v in (macros or {}).items():
            self.macros[norm_macro(k)] = v

    def send_macros(self, cmd, stage_macros):
        """SMFIC_MACRO for the stage of cmd.

        Without a symbol list from the milter, the stage's own macros are
        sent; with one, every requested macro known so far is sent (what
        Postfix does after smfi_setsymlist)."""
        self.define(stage_macros)
        stage = STAGE_OF_CMD.get(cmd)
        if stage in self.symlists:
            names = [n for n in self.symlists[stage] if n in self.macros]
        else:
            names = [norm_macro(k) for k in (stage_macros or {})]
        if not names:
            return
        data = cmd
        for n in names:
            wire = n if len(n) == 1 else "{%s}" % n
            data += to_bytes(wire) + b"\0" + to_bytes(self.macros[n]) + b"\0"
        self.send(SMFIC_MACRO, data)

    def read_reply(self, cmd, res=None):
        """Read packets until a final reply; actions are collected."""
        res = res or Result()
        res.stage = cmd.decode("latin-1")
        while True:
            rc, data = self.recv()
            if rc == SMFIR_PROGRESS:
                continue
            if rc in FINAL_REPLIES:
                if rc == SMFIR_SKIP and cmd != SMFIC_BODY:
                    raise MilterError("SKIP in reply to %r" % cmd)
                res.reply = parse_reply(rc, data)
                return res
            if cmd != SMFIC_BODYEOB:
                raise MilterError("modification %r before end of message "
                                  "(stage %r)" % (rc, cmd))
            res.mods.append(parse_mod(rc, data))

    def command(self, cmd, data, no_flag=0, nr_flag=0, macros=None):
        """Send one stage (unless the milter switched it off) and read the
        reply (unless it asked for none).  None when nothing was sent."""
        if no_flag and self.wants(no_flag):
            self.define(macros)
            return None
        self.send_macros(cmd, macros)
        self.send(cmd, data)
        if nr_flag and self.wants(nr_flag):
            res = Result()
            res.stage = cmd.decode("latin-1")
            res.reply = ("c",)
            return res
        return self.read_reply(cmd)

    def connect(self, hostname, family, port, address, macros=None):
        data = to_bytes(hostname) + b"\0" + to_bytes(family)
        if family in ("4", "6", "L"):
            data += struct.pack(">H", port if family != "L" else 0)
            data += to_bytes(address) + b"\0"
        return self.command(SMFIC_CONNECT, data, SMFIP_NOCONNECT,
                            SMFIP_NR_CONN, macros)

    def helo(self, name, macros=None):
        return self.command(SMFIC_HELO, to_bytes(name) + b"\0",
                            SMFIP_NOHELO, SMFIP_NR_HELO, macros)

    @staticmethod
    def _args(first, args):
        return b"".join(to_bytes(a) + b"\0" for a in [first] + list(args))

    def mail(self, sender, args=(), macros=None):
        self.in_message = True
        return self.command(SMFIC_MAIL, self._args(sender, args),
                            SMFIP_NOMAIL, SMFIP_NR_MAIL, macros)

    def rcpt(self, rcpt, args=(), macros=None):
        return self.command(SMFIC_RCPT, self._args(rcpt, args),
                            SMFIP_NORCPT, SMFIP_NR_RCPT, macros)

    def data(self, macros=None):
        return self.command(SMFIC_DATA, b"", SMFIP_NODATA, SMFIP_NR_DATA,
                            macros)

    def header(self, name, value):
        """value as it follows "Name:" without the first blank; the blank
        is sent when the milter asked for SMFIP_HDR_LEADSPC."""
        v = to_bytes(value)
        if self.wants(SMFIP_HDR_LEADSPC):
            v = b" " + v
        return self.command(SMFIC_HEADER, to_bytes(name) + b"\0" + v + b"\0",
                            SMFIP_NOHDRS, SMFIP_NR_HDR)

    def eoh(self, macros=None):
        return self.command(SMFIC_EOH, b"", SMFIP_NOEOH, SMFIP_NR_EOH, macros)

    def body(self, data):
        """Body in chunks; stops early on SKIP.  Returns the first reply
        that was not continue, or None."""
        data = to_bytes(data)
        if self.wants(SMFIP_NOBODY):
            return None
        for off in range(0, len(data), MILTER_CHUNK_SIZE):
            res = self.command(SMFIC_BODY, data[off:off + MILTER_CHUNK_SIZE],
                               0, SMFIP_NR_BODY)
            if res.reply[0] == "s":
                res.skipped = True
                return res
            if res.reply[0] != "c":
                return res
        return None

    def eom(self, macros=None):
        self.in_message = False
        self.send_macros(SMFIC_BODYEOB, macros)
        self.send(SMFIC_BODYEOB)
        return self.read_reply(SMFIC_BODYEOB)

    def abort(self):
        """SMFIC_ABORT: no reply is expected."""
        self.in_message = False
        self.send(SMFIC_ABORT)

    def quit(self):
        self.send(SMFIC_QUIT)
        self.close()

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _stopped(res):
        """A stage reply that ends the message (anything but continue)."""
        return res is not None and res.reply[0] != "c" and not res.skipped

    def message(self, sender, rcpts, headers, body=b"", mail_args=(),
                mail_macros=None, data_macros=None, eom_macros=None):
        """One whole transaction.  rcpts: addresses or (address, [args]).
        headers: (name, value) pairs.  Returns the Result of end of
        message, or of the stage that ended the message early."""
        res = self.mail(sender, mail_args, mail_macros)
        if self._stopped(res):
            return res
        taken = 0
        for r in rcpts:
            addr, args = (r, ()) if isinstance(r, str) else r
            res = self.rcpt(addr, args, {"rcpt_addr": addr.strip("<>")})
            if self._stopped(res) and res.reply[0] in ("a", "d"):
                return res
            # reject/tempfail of one recipient: the MTA goes on without it
            taken += not self._stopped(res)
        if rcpts and not taken:
            return res
        for step in (lambda: self.data(data_macros),
                     *[(lambda h=h: self.header(*h)) for h in headers],
                     lambda: self.eoh(), lambda: self.body(body)):
            res = step()
            if self._stopped(res):
                return res
        return self.eom(eom_macros)
