"""Plain USTAR tar members, built and read without `tarfile`'s per-member Python work.

A shard holds three members per sample; `tarfile` spends ~0.1 ms building (or parsing) each
header in Python, a tenth of a worker's CPU per image. Shards are written here as `tarfile`
writes them with `format=USTAR_FORMAT` (byte for byte; a test compares): regular files, mode
0644, owner 0, mtime 0, no user or group name.

- `member(name, data) -> bytes`: header, data and padding of one regular file.
- `trailer(offset) -> bytes`: the end of an archive whose members took `offset` bytes (two
  zero blocks, then zeros up to a whole 10240-byte record, as `tarfile` closes one).
- `scan(f, want)`: the regular files of a tar stream, with the data of those `want` names;
  `NotPlain` for anything this reader does not handle (PAX or GNU headers, links, a bad
  checksum, a cut archive): callers then read the file with `tarfile`.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 10240
_ZERO_BLOCK = bytes(BLOCK)
# the fixed fields after name (100 bytes) and size (12): mode, owner, mtime, and after the
# checksum: type '0', empty link name, magic, empty user/group names, no device numbers (NULs
# for a regular file, as tarfile writes them), no prefix, padding to 512
_MODE_OWNER = b"0000644\x00" + b"0000000\x00" * 2
_MTIME = b"00000000000\x00"
_TAIL = b"0" + bytes(100) + tarfile.POSIX_MAGIC + bytes(64 + 16 + 155 + 12)
_FIXED_SUM = sum(_MODE_OWNER) + sum(_MTIME) + sum(b" " * 8) + sum(_TAIL)


class NotPlain(ValueError):
    """The tar has something other than plain USTAR regular files (read it with tarfile)."""


def header(name: str, size: int) -> bytes:
    raw = name.encode("utf-8")
    if len(raw) > 100 or size >= 8**11:  # the rare long name or huge file: tarfile's way
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, 0
        return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    name_field = raw + bytes(100 - len(raw))
    size_field = b"%011o\x00" % size
    chksum = _FIXED_SUM + sum(raw) + sum(size_field)
    return b"".join((name_field, _MODE_OWNER, size_field, _MTIME, b"%06o\x00 " % chksum, _TAIL))


def member(name: str, data: bytes) -> bytes:
    pad = -len(data) % BLOCK
    return b"".join((header(name, len(data)), data, bytes(pad)))


def trailer(offset: int) -> bytes:
    end = offset + 2 * BLOCK
    return bytes(2 * BLOCK + (-end % RECORD))


def _field(block: bytes, start: int, width: int) -> bytes:
    return block[start : start + width].split(b"\x00", 1)[0]


def parse_header(block: bytes, pos: int) -> tuple[str, int] | None:
    """(name, size) of the regular-file header `block` (at offset `pos`, for messages); None
    for the zero block that ends an archive; `NotPlain` for any other header."""
    if len(block) < BLOCK:
        raise NotPlain(f"archive cut at {pos}")
    if block == _ZERO_BLOCK:
        return None
    if block[156:157] not in (b"0", b"\x00") or block[257:263] != b"ustar\x00":
        raise NotPlain(f"member at {pos}: type {block[156:157]!r}")
    try:
        size = int(_field(block, 124, 12).strip() or b"0", 8)
        chksum = int(_field(block, 148, 8).strip(), 8)
    except ValueError as e:
        raise NotPlain(f"member at {pos}: {e}") from e
    if chksum != sum(block[:148]) + 256 + sum(block[156:]):
        raise NotPlain(f"member at {pos}: bad checksum")
    name = _field(block, 0, 100).decode("utf-8", "surrogateescape")
    prefix = _field(block, 345, 155)
    if prefix:
        name = f"{prefix.decode('utf-8', 'surrogateescape')}/{name}"
    return name, size


def scan(f, want) -> Iterator[tuple[str, bytes, int, bytes | None]]:
    """(name, header block, size, data with its padding or None) of each regular file of the
    tar stream `f` (seekable), in order, streamed: data is read only where `want(name)`, the
    rest is skipped. `NotPlain` as soon as something else shows (see the module doc)."""
    pos = 0
    while True:
        block = f.read(BLOCK)
        parsed = parse_header(block, pos)
        if parsed is None:
            return
        name, size = parsed
        padded = size + (-size % BLOCK)
        if want(name):
            data = f.read(padded)
            if len(data) < padded:
                raise NotPlain(f"member {name} cut")
            yield name, block, size, data
        else:
            f.seek(padded, 1)
            yield name, block, size, None
        pos += BLOCK + padded
