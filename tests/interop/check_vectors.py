#!/usr/bin/env python3
"""Checks the test vectors of tests/vectors/values.json with the functions
of the Python merchant (merchant.py), a second implementation of
PROTOCOL.md: the keys crockford, check, order_id, a_hash, proof and code
(all required), and crockford_read, money, item and timestamp where the
file has them.

    python3 tests/interop/check_vectors.py [VALUES_JSON]

Prints one line per entry (`ok` or `MISMATCH`) and a summary; exits 1 on any
mismatch, 2 when the file is missing or lacks one of the six keys checked.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merchant as m  # noqa: E402

DEFAULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "values.json")


def block_fields(block):
    """The fields of the one block in `block` (text), as read by merchant.py."""
    blocks = m.read_blocks(block, False, verify=False)
    if len(blocks) != 1:
        raise ValueError(f"{len(blocks)} blocks in the entry's text")
    return blocks[0]


def crockford(e):
    return m.crockford(bytes.fromhex(e["hex"])), m.canonical_symbols(e["base32"])


def check(e):
    b = block_fields(e["block"])
    got = (m.canonical_text(b.name, b.fields), m.check_of(b.name, b.fields))
    return got, (e["canonical"], m.printed(m.canonical_symbols(e["check"])))


def order_id(e):
    return m.order_id(e["orderer"], e["nonce"]), m.canonical_symbols(e["order_id"])


def a_hash(e):
    return m.a_hash(e["password"]).hex(), e["sha256"].lower()


def proof(e):
    return m.proof(e["password"], e["order_id"]), m.canonical_symbols(e["proof"])


def code(e):
    got = m.confirmation_code(bytes.fromhex(e["secret"]), bytes.fromhex(e["nonce"]), e["order_id"],
                              int(e["amount_minor"]), e["currency"], e["payee"], e["password"])
    return got, m.canonical_symbols(e["code"])


def refused_or(e, read):
    """An entry with "error" must be refused (ValueError); others read."""
    if "error" in e:
        try:
            got = read(e["text"])
        except ValueError:
            return "refused", "refused"
        return got, f"refused ({e['error']})"
    return read(e["text"]), None


def crockford_read(e):
    got, refused = refused_or(e, m.canonical_symbols)
    return got, refused or e["canonical"]


def money(e):
    def read(text):
        minor, currency = m.parse_money(text)
        return minor, currency, m.format_money(minor, currency)
    got, refused = refused_or(e, read)
    return got, refused or (e["minor"], e["currency"], e["printed"])


def item(e):
    def read(text):
        quantity, description, price = m.parse_item(text)
        return quantity, description, price, m.format_item(quantity, description, price)
    got, refused = refused_or(e, read)
    if refused:
        return got, refused
    price = e["unit_price"] and m.parse_money(e["unit_price"])
    return got, (e["quantity"], e["description"], price, e["printed"])


def timestamp(e):
    def read(text):
        when = m.parse_time(text)
        return int(when.timestamp()), m.format_time(when)
    got, refused = refused_or(e, read)
    return got, refused or (e["unix"], e["printed"])


CHECKS = {"crockford": crockford, "check": check, "order_id": order_id, "a_hash": a_hash,
          "proof": proof, "code": code}
# Checked too when the file has them.
MORE = {"crockford_read": crockford_read, "money": money, "item": item, "timestamp": timestamp}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read the vectors {path}: {e}", file=sys.stderr)
        return 2
    missing = [key for key in CHECKS if not values.get(key)]
    if missing:
        print(f"{path} has no entries for {', '.join(missing)}", file=sys.stderr)
        return 2
    passed = failed = 0
    checks = dict(CHECKS, **{k: fn for k, fn in MORE.items() if values.get(k)})
    skipped = 0
    for key, fn in checks.items():
        for n, entry in enumerate(values[key]):
            try:
                got, want = fn(entry)
            except KeyError as e:
                if key in MORE:  # a key whose entries' fields are not fixed
                    skipped += 1
                    print(f"skipped  {key}[{n}]: no field {e}")
                    continue
                got, want = f"error: {e!r}", "a value"
            except (ValueError, m.Invalid) as e:
                got, want = f"error: {e!r}", "a value"
            if got == want:
                passed += 1
                print(f"ok       {key}[{n}]")
            else:
                failed += 1
                print(f"MISMATCH {key}[{n}]: merchant.py gives {got!r}, the vector says {want!r}")
    print(f"{passed} vectors agree, {failed} differ, {skipped} skipped ({path})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
