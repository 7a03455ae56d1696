#!/usr/bin/env python3
"""A MailPay merchant agent in Python 3 (standard library only).

A second implementation of the merchant's side of PROTOCOL.md, written from
PROTOCOL.md and README.md alone. It takes part in the interoperability kit
(tests/interop/README.md): configured by MAILPAY_INTEROP_* environment
variables, it polls its IMAP INBOX and

* bills an `order` (5.1) to its bank (5.4), or refuses it to the bank with
  `merchant-refused` (5.9) when an item is not in its catalogue, a price is
  not its price, the order expired or it asks for a board;
* prints `shipped ORDER` on stdout when the bank's `settled` (5.8) arrives,
  and `cancelled ORDER REASON` on a `rejected` from the bank;
* reports every other mail on stderr with the reason and answers nothing.

It stops cleanly on SIGTERM.
"""

import email
import email.policy
import hashlib
import hmac
import html.parser
import imaplib
import json
import os
import re
import secrets
import signal
import smtplib
import ssl
import sys
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

# ------------------------------------------------------------- values (2) ---

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
READ_AS = {"I": "1", "L": "1", "O": "0"}


def crockford(data: bytes) -> str:
    """Bytes as Crockford base32: 5 bits a symbol from the most significant
    bit, the last group padded with zero bits on the right."""
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(ALPHABET[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))


def canonical_symbols(text: str) -> str:
    """A typed value in canonical form (uppercase, no hyphens or white
    space, I/L read as 1 and O as 0); ValueError on a foreign symbol."""
    out = []
    for ch in text.upper():
        if ch == "-" or ch.isspace():
            continue
        ch = READ_AS.get(ch, ch)
        if ch not in ALPHABET:
            raise ValueError(f"{ch!r} is not a base32 symbol")
        out.append(ch)
    return "".join(out)


def printed(symbols: str) -> str:
    """The printed form: hyphens every four symbols."""
    return "-".join(symbols[i:i + 4] for i in range(0, len(symbols), 4))


def order_id(orderer: str, nonce: str) -> str:
    """The order id bound to its orderer (section 2), canonical form."""
    data = b"MailPay order id 1\n" + orderer.lower().encode("ascii") + b"\n"
    data += canonical_symbols(nonce).encode("ascii")
    return crockford(hashlib.sha256(data).digest()[:10])


def a_hash(password: str) -> bytes:
    """The hash kept of a used password A (section 2)."""
    return hashlib.sha256(b"MailPay-A-v1\x00" + canonical_symbols(password).encode("ascii")).digest()


def proof(password: str, order: str) -> str:
    """The confirmation's proof that its sender knows A (5.5), canonical."""
    key = canonical_symbols(password).encode("ascii")
    msg = b"MailPay-A-Proof-v1\x00" + canonical_symbols(order).encode("ascii")
    return crockford(hmac.new(key, msg, hashlib.sha256).digest()[:10])


def length_prefixed(parts) -> bytes:
    out = b""
    for p in parts:
        p = p if isinstance(p, bytes) else p.encode("utf-8")
        out += len(p).to_bytes(8, "big") + p
    return out


def confirmation_code(secret: bytes, nonce: bytes, order: str, amount_minor: int,
                      currency: str, payee: str, password: str) -> str:
    """The bank's confirmation code (5.5), canonical (8 symbols)."""
    msg = length_prefixed(["MailPay-Confirm-v1", canonical_symbols(order), str(amount_minor),
                           currency, payee.lower(), a_hash(password), nonce])
    return crockford(hmac.new(secret, msg, hashlib.sha256).digest()[:5])


# The currencies of PROTOCOL.md section 2, by their number of decimals.
DECIMALS_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
DECIMALS_3 = "BHD IQD JOD KWD LYD OMR TND"
DECIMALS_4 = "CLF UYW"
DECIMALS_2 = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF "
    "CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD "
    "HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA "
    "MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN "
    "QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP "
    "TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG")
DECIMALS = {c: n for n, codes in enumerate([DECIMALS_0, "", DECIMALS_2, DECIMALS_3, DECIMALS_4])
            for c in codes.split()}
MAX_MINOR = 999_999_999_999
MONEY = re.compile(r"^([0-9]+)(?:\.([0-9]+))?\s+([A-Za-z]{3})$")


def parse_money(text: str):
    """`12.50 USD` -> (1250, "USD"); ValueError when not valid money."""
    m = MONEY.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not money")
    whole, frac, currency = m.group(1), m.group(2) or "", m.group(3).upper()
    if currency not in DECIMALS:
        raise ValueError(f"unknown currency {currency}")
    places = DECIMALS[currency]
    if len(frac) > places:
        raise ValueError(f"{text!r} has more decimals than {currency}")
    minor = int(whole) * 10 ** places + int((frac + "0" * places)[:places] or "0")
    if not 0 < minor <= MAX_MINOR:
        raise ValueError(f"{text!r} is out of range")
    return minor, currency


def format_money(minor: int, currency: str) -> str:
    places = DECIMALS[currency]
    if places == 0:
        return f"{minor} {currency}"
    return f"{minor // 10 ** places}.{minor % 10 ** places:0{places}d} {currency}"


ITEM = re.compile(r"^([0-9]+) ?[xX\u00d7](?: (.*))?$")
PRICE = re.compile(r" @ (?=[0-9])")


def parse_item(text: str):
    """`2 x Green tea 100g @ 600 JPY` -> (2, "Green tea 100g", (600, "JPY") or None)."""
    text = collapse(text)
    quantity, rest = 1, text
    m = ITEM.match(text)
    if m:
        quantity, rest = int(m.group(1)), m.group(2) or ""
    elif re.match(r"^[0-9]+ ", text):
        raise ValueError(f"item {text!r}: a figure that is not a quantity")
    price = None
    at = PRICE.search(rest)
    if at:
        price = parse_money(rest[at.end():])
        rest = rest[:at.start()]
    if not 1 <= quantity <= 9999 or not 1 <= len(rest) <= 200:
        raise ValueError(f"item {text!r} is not valid")
    return quantity, rest, price


TIME = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                  r"([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (no fractions; a leap second read as :59)."""
    m = TIME.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an RFC 3339 time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    zone = m.group(7).upper().replace("Z", "+00:00")
    offset = (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
    return datetime(year, month, day, hour, minute, min(second, 59),
                    tzinfo=timezone(timedelta(minutes=offset)))


def format_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_item(quantity, description, price) -> str:
    return f"{quantity} x {description}" + (f" @ {format_money(*price)}" if price else "")


# ------------------------------------------------------------ blocks (3) ---

FIELDS = ["Version", "Order", "Orderer", "Merchant", "Bank", "Payer", "Payee", "Amount", "Item",
          "Total", "Method", "Board", "Order-Nonce", "Password-A", "Created", "Expires", "Billed",
          "Issued", "Code", "Answer", "Attempts-Left", "Proof", "Reason", "Detail", "Settled",
          "Reference", "Attachment", "Key", "Signature", "Check"]
FIELD_NAMES = {f.lower(): f for f in FIELDS}
# Unicode White_Space, for the canonical text (3.4).
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE_RUN = re.compile(f"[{WHITE_SPACE}]+")
QUOTE = re.compile(r"^[ \t]*((?:>[ \t]*)+)")
BEGIN = re.compile(r"^-----BEGIN MAILPAY ([A-Z][A-Z-]*)-----$")
END = re.compile(r"^-----END MAILPAY ([A-Z][A-Z-]*)-----$")
FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z-]*):(.*)$")
FORWARD_MARKERS = {"---------- Forwarded message ---------", "-------- Original Message --------",
                   "-------- Forwarded Message --------", "-----Original Message-----",
                   "Begin forwarded message:"}


def collapse(value: str) -> str:
    return SPACE_RUN.sub(" ", value).strip(" ")


def canonical_text(name: str, fields) -> str:
    """The canonical text of a block (3.4): fields is a list of (name, value)."""
    out = "mailpay " + name.lower() + "\n"
    for field, value in fields:
        if field not in ("Check", "Signature"):
            out += field.lower() + ":" + collapse(value) + "\n"
    return out


def check_of(name: str, fields) -> str:
    """The Check line's value (3.4), printed form."""
    digest = hashlib.sha256(canonical_text(name, fields).encode("utf-8")).digest()
    return printed(crockford(digest[:8])[:12])


class Block:
    def __init__(self, name, fields, lines, position):
        self.name, self.fields, self.lines, self.position = name, fields, lines, position

    def get(self, field):
        return next((v for f, v in self.fields if f == field), None)

    def all(self, field):
        return [v for f, v in self.fields if f == field]

    def canonical(self):
        return canonical_text(self.name, self.fields)


class Invalid(Exception):
    """A mail this merchant cannot use; the message says why."""


def strip_line(raw: str):
    """(depth, text, unquoted) of a line: quotation marks and outer white
    space removed; unquoted keeps the indentation (continuation lines)."""
    m = QUOTE.match(raw)
    depth = m.group(1).count(">") if m else 0
    unquoted = (raw[m.end():] if m else raw).rstrip()
    return depth, unquoted.strip(), unquoted


def read_blocks(text: str, attached: bool, verify: bool = True):
    """Every block in one text (3.3, steps 2 to 6); verify=False leaves the
    Check lines unchecked."""
    if len(text.encode("utf-8")) > 1024 * 1024:
        raise Invalid("a text part is longer than 1 MiB")
    lines = [strip_line(raw) for raw in re.split(r"\r\n|[\r\n]", text)]
    blocks, forwarded, i = [], False, 0
    while i < len(lines):
        depth, line, unquoted = lines[i]
        i += 1
        if depth == 0 and (line in FORWARD_MARKERS or re.fullmatch(r"_{32,}", line)):
            forwarded = True
        begin = BEGIN.match(line)
        if not begin:
            continue
        name, fields, raw_lines = begin.group(1), [], [unquoted]
        while True:
            if i >= len(lines):
                raise Invalid(f"the {name} block has no END line (truncated)")
            _, inner, unquoted = lines[i]
            i += 1
            raw_lines.append(unquoted)
            end = END.match(inner)
            if end:
                if end.group(1) != name:
                    raise Invalid(f"the {name} block ends with END {end.group(1)}")
                break
            if BEGIN.match(inner):
                raise Invalid(f"the {name} block has no END line (truncated)")
            if not inner:
                continue
            m = FIELD_LINE.match(inner)
            if m and m.group(1).lower() in FIELD_NAMES:
                fields.append([FIELD_NAMES[m.group(1).lower()], m.group(2)])
            elif fields:
                fields[-1][1] += " " + inner
            else:
                raise Invalid(f"the {name} block starts with a line that is not a field: {inner!r}")
        fields = [(f, collapse(v)) for f, v in fields]
        seen = [f for f, _ in fields if f != "Item"]
        if len(seen) != len(set(seen)):
            raise Invalid(f"the {name} block repeats a field")
        check = next((v for f, v in fields if f == "Check"), None)
        if verify and check is not None and canonical_symbols_or_none(check) != canonical_symbols(
                check_of(name, fields)):
            raise Invalid(f"the {name} block fails its Check ({check})")
        position = ("attached" if attached else "quoted" if depth > 0
                    else "forwarded" if forwarded else "own")
        blocks.append(Block(name, fields, raw_lines, position))
    return blocks


def unflow(text: str, delsp: bool) -> str:
    """A text/plain; format=flowed part with its soft breaks undone (RFC
    3676, as 3.3 step 1 reads it): a line ending in a space runs on into
    the next line of the same depth, which loses its quotation marks and
    one stuffed space; with delsp=yes the space of the break goes too."""
    out, open_depth = [], None
    for line in text.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        m = re.match(r"^>(?:[ \t]*>)*", line)
        depth = m.group(0).count(">") if m else 0
        rest = line[m.end():] if m else line
        content = rest[1:] if rest.startswith(" ") else rest
        soft = content.endswith(" ") and content != "-- "
        written = content if open_depth == depth else line
        if soft and delsp:
            written = written[:-1]
        if open_depth == depth:
            out[-1] += written
        else:
            out.append(written)
        open_depth = depth if soft else None
    return "\n".join(out)


def canonical_symbols_or_none(text):
    try:
        return canonical_symbols(text)
    except ValueError:
        return None


class HtmlText(html.parser.HTMLParser):
    """The text of an HTML part, lines of a <blockquote> quoted with `>`."""
    BREAKS = {"br", "p", "div", "tr", "li", "pre", "h1", "h2", "h3", "table", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.current, self.depth = [], "", 0

    def newline(self):
        self.lines.append("> " * self.depth + self.current)
        self.current = ""

    def handle_starttag(self, tag, attrs):
        if tag in self.BREAKS or tag == "hr":
            self.newline()
        if tag == "hr" and self.depth == 0:
            # Outlook's rule above the message it answers or forwards: read
            # as its plain-text marker, a line of 32 underscores.
            self.lines.append("_" * 32)
        if tag == "blockquote":
            self.depth += 1
            if self.depth > 64:
                raise Invalid("<blockquote> nesting deeper than 64 levels")

    def handle_endtag(self, tag):
        if tag in self.BREAKS:
            self.newline()
        if tag == "blockquote":
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data):
        parts = data.split("\n")
        for part in parts[:-1]:
            self.current += part
            self.newline()
        self.current += parts[-1]


MAX_MAIL = 4 * 1024 * 1024


def texts_of(msg):
    """(text, attached) for every text/plain part (HTML only where a message
    has no text/plain), within the limits of 3.3."""
    counts = {"parts": 0, "chars": 0}
    out = []

    def walk(part, depth, attached):
        counts["parts"] += 1
        if counts["parts"] > 256:
            raise Invalid("more than 256 MIME parts")
        if depth > 16:
            raise Invalid("multipart nesting deeper than 16 levels")
        if len(part.keys()) > 512:
            raise Invalid("more than 512 header fields in one part")
        ctype = part.get_content_type()
        if part.is_multipart():
            children = part.get_payload()
            if ctype == "message/rfc822":
                for child in children:
                    walk(child, depth + 1, True)
                return
            for child in children:
                walk(child, depth + 1, attached)
        elif ctype in ("text/plain", "text/html"):
            try:
                text = part.get_content()
            except (LookupError, ValueError) as e:
                raise Invalid(f"a text part cannot be decoded: {e}")
            if ctype == "text/plain" and str(part.get_param("format", "")).lower() == "flowed":
                text = unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
            if ctype == "text/html":
                parser = HtmlText()
                parser.feed(text)
                parser.newline()
                text = "\n".join(parser.lines)
            counts["chars"] += len(text.encode("utf-8"))
            if counts["chars"] > MAX_MAIL:
                raise Invalid("the mail's text is longer than 4 MiB")
            out.append((text, attached, ctype == "text/html"))

    walk(msg, 0, False)
    only_html = all(html for _, _, html in out)
    return [(text, attached) for text, attached, html in out if only_html or not html]


def blocks_of(msg):
    """Every block of a mail (3.3); Invalid when two blocks of one name differ."""
    blocks = []
    for text, attached in texts_of(msg):
        blocks.extend(read_blocks(text, attached))
    by_name = {}
    for block in blocks:
        other = by_name.setdefault(block.name, block)
        if other.canonical() != block.canonical():
            raise Invalid(f"two {block.name} blocks say different things")
    return blocks


# ------------------------------------------------------- the merchant (5) ---

def mailpay_header(msg, name):
    """MailPay-NAME or X-MailPay-NAME (section 4: the same header, in any
    case); every occurrence must agree. An Order that is no order id is
    ignored."""
    values = [str(v).strip() for v in msg.get_all("MailPay-" + name, []) + msg.get_all("X-MailPay-" + name, [])]
    if name == "Order":
        values = [v for v in values if len(canonical_symbols_or_none(v) or "") == 16]
        same = {canonical_symbols_or_none(v) for v in values}
    elif name == "Kind":
        same = {v.lower() for v in values}
    else:
        same = set(values)
    if len(same) > 1:
        raise Invalid(f"its MailPay-{name} headers disagree: {', '.join(values)}")
    return values[0] if values else None


def env(name, default=None):
    value = os.environ.get("MAILPAY_INTEROP_" + name, default)
    if value is None:
        sys.exit(f"merchant: MAILPAY_INTEROP_{name} is not set")
    return value


def report(text):
    print(f"merchant: {text}", file=sys.stderr, flush=True)


def address_of(header_value):
    return parseaddr(str(header_value or ""))[1].strip().lower()


def message_id_order(value):
    """The order id named by a Message-ID <KIND.ORDERID.NONCE@domain>, if any."""
    m = re.match(r"^<?[a-z-]+\.([0-9A-Z]{16})\.[0-9A-Z]+@", (value or "").strip())
    return m.group(1) if m else None


class Merchant:
    def __init__(self):
        self.address = env("ADDRESS").lower()
        self.domain = self.address.split("@", 1)[1]
        self.bank = env("BANK_ADDRESS").lower()
        with open(env("CATALOGUE"), encoding="utf-8") as f:
            self.catalogue = {a["description"]: parse_money(a["price"]) for a in json.load(f)}
        self.tls = ssl.create_default_context(cafile=env("CA_FILE"))
        state_dir = os.environ.get("MAILPAY_INTEROP_STATE_DIR")
        self.state_file = os.path.join(state_dir, "merchant-state.json") if state_dir else None
        self.state = {"uidvalidity": None, "last_uid": 0, "seen": [], "orders": {}}
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file, encoding="utf-8") as f:
                self.state = json.load(f)
        self.imap = None

    def save(self):
        if self.state_file:
            tmp = self.state_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.state, f)
            os.replace(tmp, self.state_file)

    # ---- mail in ----

    def connect_imap(self):
        host, port = env("IMAP_HOST"), int(env("IMAP_PORT"))
        if env("IMAP_SECURITY", "tls") == "tls":
            imap = imaplib.IMAP4_SSL(host, port, ssl_context=self.tls)
        else:
            imap = imaplib.IMAP4(host, port)
            imap.starttls(ssl_context=self.tls)
        imap.login(env("USER"), env("PASSWORD"))
        typ, data = imap.select("INBOX")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SELECT INBOX: {data}")
        uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
        if self.state["uidvalidity"] != uidvalidity:
            self.state.update(uidvalidity=uidvalidity, last_uid=0)
        self.imap = imap

    def poll(self):
        self.imap.noop()
        typ, data = self.imap.uid("SEARCH", None, f"UID {self.state['last_uid'] + 1}:*")
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > self.state["last_uid"])
        for uid in uids:
            typ, data = self.imap.uid("FETCH", str(uid), f"(RFC822.SIZE BODY.PEEK[]<0.{MAX_MAIL + 1}>)")
            raw = next((d[1] for d in data if isinstance(d, tuple)), b"")
            try:
                self.handle(raw)
            except Invalid as e:
                report(f"mail UID {uid} not used: {e}")
            except (OSError, smtplib.SMTPException):
                raise  # the mail server: this mail again once it is back
            except Exception as e:  # a failure on one mail never stops the agent
                report(f"mail UID {uid} not used: failure while handling it: {e!r}")
            self.state["last_uid"] = uid
            self.save()

    def handle(self, raw):
        """One mail: acted on, or Invalid with the reason it is not used."""
        if len(raw) > MAX_MAIL:
            raise Invalid("the mail is larger than 4 MiB")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = str(msg.get("Message-ID", "")).strip()
        key = message_id or hashlib.sha256(raw).hexdigest()
        if key in self.state["seen"]:
            raise Invalid(f"{message_id} was seen before")
        try:
            self.act(msg)
        except Invalid:
            self.state["seen"].append(key)
            raise
        self.state["seen"].append(key)

    def act(self, msg):
        if msg.get("List-Id") is not None:
            raise Invalid("it has a List-Id header (a mailing list)")
        for results in msg.get_all("Authentication-Results", []):
            if re.search(r"\b(dkim|spf|dmarc|arc)=(fail|softfail|permerror)\b", str(results), re.I):
                raise Invalid(f"its Authentication-Results show a failure: {results}")
        version = mailpay_header(msg, "Version")
        if version is not None and version != "1":
            raise Invalid(f"MailPay-Version {version} is not 1")
        own = {b.name: b for b in blocks_of(msg) if b.position == "own"}
        kind = (mailpay_header(msg, "Kind") or "").lower()
        # The kind is told by the blocks in the sender's own text (a bill
        # carries the ORDER block too); the header must agree.
        content = next((k for n, k in [("BILL", "bill"), ("ORDER", "order"), ("SETTLED", "settled"),
                                       ("REJECTED", "rejected")] if n in own), None)
        if content is None or content == "bill":
            raise Invalid(f"no block a merchant acts on in its own text (kind {kind or content or '-'})")
        if kind and kind != content:
            raise Invalid(f"MailPay-Kind {kind} differs from its content ({content})")
        block = own[content.upper()]
        if block.get("Version") != "1":
            raise Invalid(f"the {block.name} block's Version is {block.get('Version')}")
        order = canonical_symbols_or_none(block.get("Order") or "")
        if order is None or len(order) != 16:
            raise Invalid(f"the {block.name} block has no valid Order")
        header_order = mailpay_header(msg, "Order")
        if header_order is not None and canonical_symbols_or_none(header_order) != order:
            raise Invalid(f"MailPay-Order {header_order} names another order")
        for header in ("Message-ID", "In-Reply-To"):
            named = message_id_order(str(msg.get(header, "")))
            if named is not None and named != order:
                raise Invalid(f"its {header} names another order ({named})")
        getattr(self, "on_" + content)(msg, block, order, address_of(msg.get("From")))

    # ---- 5.1: the order ----

    def on_order(self, msg, block, order, sender):
        required = ["Orderer", "Merchant", "Bank", "Amount", "Method", "Order-Nonce", "Password-A",
                    "Created", "Expires"]
        missing = [f for f in required if block.get(f) is None]
        if missing:
            raise Invalid(f"order {printed(order)} lacks {', '.join(missing)}")
        orderer = block.get("Orderer").lower()
        if sender != orderer:
            raise Invalid(f"order {printed(order)} comes from {sender}, not its Orderer {orderer}")
        try:
            bound = order_id(orderer, block.get("Order-Nonce"))
        except ValueError as e:
            raise Invalid(f"order {printed(order)}: bad Order-Nonce: {e}")
        if bound != order:
            raise Invalid(f"order {printed(order)}: its Order-Nonce does not bind it to {orderer}")
        if block.get("Merchant").lower() != self.address:
            raise Invalid(f"order {printed(order)} is for {block.get('Merchant')}, not this shop")
        if block.get("Bank").lower() != self.bank:
            raise Invalid(f"order {printed(order)} names the bank {block.get('Bank')}, not ours")
        if order in self.state["orders"]:
            raise Invalid(f"order {printed(order)} was answered before")
        try:
            canonical_symbols(block.get("Password-A"))
            amount = parse_money(block.get("Amount"))
            created, expires = parse_time(block.get("Created")), parse_time(block.get("Expires"))
            items = [parse_item(i) for i in block.all("Item")]
        except ValueError as e:
            raise Invalid(f"order {printed(order)} is not valid: {e}")
        if expires <= created:
            raise Invalid(f"order {printed(order)} expires before it was made")
        why, lines = self.price(block.get("Method"), amount, expires, items)
        if why:
            self.refuse(msg, block, order, orderer, why)
        else:
            self.bill(msg, block, order, orderer, amount, lines)

    def price(self, method, amount, expires, items):
        """(reason to refuse, None) or (None, priced lines) for an order."""
        if expires <= datetime.now(timezone.utc):
            return "the order has expired", None
        if method not in ("confirm", "cheque"):
            return f"this shop keeps no board, so takes no method {method} order", None
        if not items:
            return "the order lists no items", None
        lines = []
        for quantity, description, price in items:
            ours = self.catalogue.get(description)
            if ours is None:
                return f"\"{description}\" is not in the catalogue", None
            if price is not None and price != ours:
                return f"\"{description}\" costs {format_money(*ours)}, not {format_money(*price)}", None
            lines.append((quantity, description, ours))
        if any(p[1] != amount[1] for _, _, p in lines):
            return f"the catalogue prices are not in {amount[1]}", None
        total = sum(q * p[0] for q, _, p in lines)
        if total != amount[0]:
            return f"the items cost {format_money(total, amount[1])}, not {format_money(*amount)}", None
        return None, lines

    def bill(self, msg, order_block, order, orderer, amount, lines):
        fields = [("Version", "1"), ("Order", printed(order)), ("Merchant", self.address),
                  ("Orderer", orderer)]
        fields += [("Item", format_item(q, d, p)) for q, d, p in lines]
        fields += [("Total", format_money(*amount)), ("Billed", format_time(datetime.now(timezone.utc)))]
        text = (f"Bill for order {printed(order)}: {format_money(*amount)} to {self.address}.\n\n"
                + block_text("BILL", fields) + "\n" + "\n".join(order_block.lines) + "\n")
        self.send(msg, "bill", order, self.bank, f"Bill {printed(order)}: {format_money(*amount)}", text)
        self.state["orders"][order] = {"state": "billed", "orderer": orderer, "total": list(amount)}
        report(f"order {printed(order)} billed to {self.bank}: {format_money(*amount)}")

    def refuse(self, msg, order_block, order, orderer, why):
        fields = [("Version", "1"), ("Order", printed(order)), ("Reason", "merchant-refused"),
                  ("Detail", why)]
        text = (f"This shop will not fill order {printed(order)}: {why}.\n\n"
                + block_text("REJECTED", fields))
        self.send(msg, "rejected", order, self.bank, f"Order {printed(order)} refused", text)
        self.state["orders"][order] = {"state": "refused", "orderer": orderer, "total": None}
        report(f"order {printed(order)} refused to {self.bank}: {why}")

    # ---- 5.8, 5.9: the bank's notices ----

    def bank_notice(self, block, order, sender):
        if sender != self.bank:
            raise Invalid(f"a {block.name} for {printed(order)} from {sender}, not our bank")
        known = self.state["orders"].get(order)
        if known is None:
            raise Invalid(f"a {block.name} for {printed(order)}, an order this shop never answered")
        return known

    def on_settled(self, msg, block, order, sender):
        known = self.bank_notice(block, order, sender)
        missing = [f for f in ("Payer", "Payee", "Amount", "Settled", "Reference") if not block.get(f)]
        if missing:
            raise Invalid(f"settled {printed(order)} lacks {', '.join(missing)}")
        if known["state"] != "billed":
            raise Invalid(f"settled {printed(order)}, an order that is {known['state']}")
        try:
            amount = list(parse_money(block.get("Amount")))
            parse_time(block.get("Settled"))
        except ValueError as e:
            raise Invalid(f"settled {printed(order)} is not valid: {e}")
        if block.get("Payee").lower() != self.address or block.get("Payer").lower() != known["orderer"]:
            raise Invalid(f"settled {printed(order)} names other parties")
        if amount != known["total"]:
            raise Invalid(f"settled {printed(order)} moved {block.get('Amount')}, not the billed total")
        known["state"] = "shipped"
        print(f"shipped {printed(order)}", flush=True)

    def on_rejected(self, msg, block, order, sender):
        known = self.bank_notice(block, order, sender)
        reason = block.get("Reason")
        if not reason:
            raise Invalid(f"rejected {printed(order)} has no Reason")
        if known["state"] in ("shipped", "cancelled"):
            raise Invalid(f"rejected {printed(order)} ({reason}), an order that is {known['state']}")
        if reason in ("duplicate", "already-answered"):
            report(f"the bank refused one mail of {printed(order)} ({reason}); the order stays")
            return
        known["state"] = "cancelled"
        print(f"cancelled {printed(order)} {reason}", flush=True)

    # ---- mail out (section 4) ----

    def send(self, cause, kind, order, to, subject, text):
        out = EmailMessage()
        out["From"] = self.address
        out["To"] = to
        out["Subject"] = subject
        out["Date"] = format_datetime(datetime.now(timezone.utc))
        nonce = crockford(secrets.token_bytes(5))
        out["Message-ID"] = f"<{kind}.{order}.{nonce}@{self.domain}>"
        parent = str(cause.get("Message-ID", "")).strip()
        if parent:
            references = str(cause.get("References", "")).split()
            out["In-Reply-To"] = parent
            out["References"] = " ".join(references + [parent])
        out["MailPay-Version"] = "1"
        out["MailPay-Kind"] = kind
        out["MailPay-Order"] = order
        out["Auto-Submitted"] = "auto-generated"
        out.set_content(text, charset="utf-8", cte="quoted-printable")
        host, port = env("SMTP_HOST"), int(env("SMTP_PORT"))
        if env("SMTP_SECURITY", "starttls") == "tls":
            smtp = smtplib.SMTP_SSL(host, port, context=self.tls, timeout=30)
        else:
            smtp = smtplib.SMTP(host, port, timeout=30)
            smtp.starttls(context=self.tls)
        with smtp:
            smtp.login(env("USER"), env("PASSWORD"))
            smtp.send_message(out)

    def run(self):
        backoff = 1
        while True:
            try:
                if self.imap is None:
                    self.connect_imap()
                    backoff = 1
                self.poll()
                time.sleep(0.2)
            except (OSError, imaplib.IMAP4.error, smtplib.SMTPException) as e:
                report(f"mail server: {e!r}; trying again in {backoff} s")
                self.imap = None
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)


def block_text(name, fields):
    """A block as a writer writes it: fields wrapped at 76 characters, Check last."""
    lines = [f"-----BEGIN MAILPAY {name}-----"]
    for field, value in fields + [("Check", check_of(name, fields))]:
        line = f"{field}: {value}"
        while len(line) > 76 and " " in line[1:76]:
            cut = line.rindex(" ", 1, 76)
            lines.append(line[:cut])
            line = "  " + line[cut + 1:]
        lines.append(line)
    return "\n".join(lines + [f"-----END MAILPAY {name}-----"]) + "\n"


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    merchant = Merchant()
    report(f"{merchant.address} watching its INBOX, paid through {merchant.bank}")
    try:
        merchant.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
