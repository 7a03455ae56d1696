#!/usr/bin/env python3
"""What the Python merchant's reader (merchant.py, PROTOCOL.md 3.3) finds
in each mail: one JSON object a line,

    {"file": F, "blocks": [[NAME, POSITION], ...]}   or   {"file": F, "error": WHY}

POSITION is own, quoted, forwarded or attached; a block's Check is verified
as it is read.

    python3 tests/interop/read_mails.py MAIL.eml...
"""

import email
import email.policy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merchant as m  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        if len(raw) > m.MAX_MAIL:
            raise m.Invalid("the mail is larger than 4 MiB")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        return {"file": path, "blocks": [[b.name, b.position] for b in m.blocks_of(msg)]}
    except m.Invalid as e:
        return {"file": path, "error": str(e)}


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps(read(path), ensure_ascii=False))
