#!/usr/bin/env python3
"""Converts an X window dump (xwd -root, 24/32-bit TrueColor) to PNG with
the standard library only: screenshots on machines without ImageMagick.
Pixels of 32 bits (Xvfb's usual) or packed 24 bits are read.

    python3 xwd2png.py SHOT.xwd SHOT.png [--trim]

--trim cuts off the black of an empty screen right of and below the
windows (a program that did not fill the screen)."""
import struct
import sys
import zlib


def convert(src, dst, trim=False):
    data = open(src, "rb").read()
    fields = struct.unpack(">25I", data[:100])
    header_size, _, _, depth, width, height = fields[0:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    red_mask, green_mask, blue_mask = fields[14], fields[15], fields[16]
    ncolors = fields[19]
    if bits_per_pixel not in (24, 32) or depth not in (24, 32):
        sys.exit(f"{src}: only 24/32-bit TrueColor dumps are supported (depth {depth}, {bits_per_pixel} bits per pixel)")
    pixels = data[header_size + ncolors * 12:]
    size = bits_per_pixel // 8
    little = byte_order == 0

    def values(line):
        for i in range(0, len(line), size):
            yield int.from_bytes(line[i : i + size], "little" if little else "big")

    def shift(mask):
        return (mask & -mask).bit_length() - 1

    rs, gs, bs = shift(red_mask), shift(green_mask), shift(blue_mask)
    rows = []
    for y in range(height):
        line = pixels[y * bytes_per_line : y * bytes_per_line + width * size]
        out = bytearray(b"\x00")
        for value in values(line):
            out += bytes(((value & red_mask) >> rs, (value & green_mask) >> gs, (value & blue_mask) >> bs))
        rows.append(bytes(out))

    if trim:
        black = bytes(3)

        def used(x, y):
            return rows[y][1 + 3 * x : 4 + 3 * x] != black

        while height > 1 and not any(used(x, height - 1) for x in range(width)):
            height -= 1
        while width > 1 and not any(used(width - 1, y) for y in range(height)):
            width -= 1
        rows = [b"\x00" + row[1 : 1 + 3 * width] for row in rows[:height]]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    open(dst, "wb").write(png)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2], trim="--trim" in sys.argv[3:])
