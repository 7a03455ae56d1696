#!/usr/bin/python3
"""A RECORDING native-messaging host, for testing the MailPay add-on alone.

Test-only: it stands where the MailPay wallet's `mailpay-thunderbird` host
stands (native messaging name org.mailpay.wallet) so that the add-on can be
tested in a real Thunderbird before, and independently of, the real host.
Packaging never installs it.

It speaks the bridge's framing (a u32 little-endian length, then UTF-8 JSON)
on stdin/stdout and keeps everything in MAILPAY_RECORDING_DIR (for the
MailPay add-on; for any other add-on that connects to it, in the
subdirectory named after that add-on's id):

  frames.jsonl   one line per event, appended as it happens:
                 {"at": UNIX-SECONDS, "pid": PID, "event": "start", "argv": [...]}
                 {"at": ..., "pid": ..., "event": "in", "frame": {...}}   (from the add-on)
                 {"at": ..., "pid": ..., "event": "out", "frame": {...}}  (to the add-on)
                 {"at": ..., "pid": ..., "event": "bad", "error": "..."}  (not a frame)
                 {"at": ..., "pid": ..., "event": "end", "reason": "..."}
  to-addon/      a test drops NAME.json files here (one frame each, or a list
                 of frames); they are sent in name order and renamed NAME.json.sent.
                 Write them as NAME.json.tmp and rename: only *.json is read.
  exit           when this file appears, holding this host's pid (or nothing),
                 the host exits (as a wallet that quits).

It answers by itself: `hello` with `welcome` (standby when the file
`standby` exists in the directory), and `mail` with `taken` (outcome
"recorded", no review) unless the file `no-auto-taken` exists.
"""

import json
import os
import struct
import sys
import threading
import time

WALLET = "wallet@mailpay.org"
DIR = os.environ.get("MAILPAY_RECORDING_DIR")
LOCK = threading.Lock()
OUT = sys.stdout.buffer
PID = os.getpid()


def record(event, **fields):
    line = json.dumps({"at": time.time(), "pid": PID, "event": event, **fields}, ensure_ascii=False)
    with LOCK:
        with open(os.path.join(DIR, "frames.jsonl"), "a", encoding="utf-8") as log:
            log.write(line + "\n")


def send(frame):
    data = json.dumps(frame, ensure_ascii=False).encode("utf-8")
    with LOCK:
        OUT.write(struct.pack("<I", len(data)) + data)
        OUT.flush()
    record("out", frame=frame)


def read_exactly(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def flag(name):
    return os.path.exists(os.path.join(DIR, name))


def answer(frame):
    kind = frame.get("type")
    if kind == "hello":
        identities = frame.get("identities") or []
        account = identities[0].get("email") if identities else None
        send({"type": "welcome", "version": "recording-host", "account": account,
              "standby": flag("standby"), "text": "recording host"})
    elif kind == "mail" and not flag("no-auto-taken"):
        send({"type": "taken", "id": frame.get("id"), "outcome": "recorded", "order": None,
              "review": False, "text": ""})


def drop_box():
    box = os.path.join(DIR, "to-addon")
    os.makedirs(box, exist_ok=True)
    while True:
        if flag("exit"):
            with open(os.path.join(DIR, "exit"), encoding="utf-8") as f:
                wanted = f.read().strip()
            if wanted in ("", str(PID)):
                record("end", reason="exit file")
                os._exit(0)
        for name in sorted(os.listdir(box)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(box, name)
            try:
                with open(path, encoding="utf-8") as f:
                    loaded = json.load(f)
            except (OSError, ValueError) as e:
                record("bad", error=f"{name}: {e}")
                os.rename(path, path + ".bad")
                continue
            for frame in loaded if isinstance(loaded, list) else [loaded]:
                send(frame)
            os.rename(path, path + ".sent")
        time.sleep(0.05)


def main():
    global DIR
    if not DIR:
        sys.stderr.write("recording-host: MAILPAY_RECORDING_DIR is not set\n")
        return 1
    addon = sys.argv[2] if len(sys.argv) > 2 else WALLET
    if addon != WALLET:
        DIR = os.path.join(DIR, addon)
    os.makedirs(DIR, exist_ok=True)
    record("start", argv=sys.argv)
    threading.Thread(target=drop_box, daemon=True).start()
    stdin = sys.stdin.buffer
    while True:
        header = read_exactly(stdin, 4)
        if header is None:
            record("end", reason="stdin closed")
            return 0
        (length,) = struct.unpack("<I", header)
        data = read_exactly(stdin, length)
        if data is None:
            record("end", reason="stdin closed inside a frame")
            return 0
        try:
            frame = json.loads(data.decode("utf-8"))
        except ValueError as e:
            record("bad", error=str(e))
            continue
        record("in", frame=frame)
        answer(frame)


if __name__ == "__main__":
    sys.exit(main())
