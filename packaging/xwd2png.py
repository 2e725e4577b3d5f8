"""Convert an X11 screen dump (``xwd -root``) to PNG with the standard library only.

    xwd -root -silent | python3 packaging/xwd2png.py - shot.png

packaging/check_build.sh uses it for its Xvfb screenshot (no ImageMagick needed).  Handles the
24- and 32-bit TrueColor dumps of Xvfb and Xorg (masks ff0000/00ff00/0000ff).
"""

import struct
import sys
import zlib


def xwd_to_rgb(data: bytes) -> tuple[int, int, bytes]:
    fields = struct.unpack(">25I", data[:100])
    header_size, version, fmt, depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    masks, ncolors = fields[14:17], fields[19]
    if version != 7 or fmt != 2 or bits_per_pixel not in (24, 32) or masks != (0xFF0000, 0xFF00, 0xFF):
        raise ValueError(f"unsupported XWD dump (version {version}, format {fmt}, depth {depth}, "
                         f"{bits_per_pixel} bits per pixel, masks {[hex(m) for m in masks]})")
    offset = header_size + 12 * ncolors
    # a pixel is 0x(00)RRGGBB: bytes B G R (x) least significant first, or (x) R G B
    n = bits_per_pixel // 8
    r, g, b = (2, 1, 0) if byte_order == 0 else (n - 3, n - 2, n - 1)
    rows = []
    for y in range(height):
        row = data[offset + y * bytes_per_line: offset + y * bytes_per_line + n * width]
        if len(row) < n * width:
            raise ValueError(f"XWD dump truncated at row {y} of {height}")
        rgb = bytearray(3 * width)
        rgb[0::3], rgb[1::3], rgb[2::3] = row[r::n], row[g::n], row[b::n]
        rows.append(b"\x00" + bytes(rgb))
    return width, height, b"".join(rows)


def png_bytes(width: int, height: int, raw_rows: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw_rows, 6)) + chunk(b"IEND", b""))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: xwd2png.py DUMP.xwd|- OUT.png", file=sys.stderr)
        return 2
    data = sys.stdin.buffer.read() if argv[0] == "-" else open(argv[0], "rb").read()
    try:
        w, h, rows = xwd_to_rgb(data)
    except (ValueError, struct.error) as exc:
        print(f"xwd2png: {argv[0]}: {exc}", file=sys.stderr)
        return 1
    with open(argv[1], "wb") as f:
        f.write(png_bytes(w, h, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
