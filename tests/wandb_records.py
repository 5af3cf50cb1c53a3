"""Read the records of an offline W&B run (``run-<id>.wandb``) back, for tests.

The file is a LevelDB-style log (W&B's ``datastore`` format): a 7-byte header
(``:W&B``, magic 0xBEE1, version 0), then 32 KiB blocks of chunks, each with a 7-byte
header (CRC-32 of type byte + data, little-endian length, type FULL/FIRST/MIDDLE/LAST).
A record's bytes are a ``wandb.proto.wandb_internal_pb2.Record``. wandb 0.31 writes these
files from its Go core and no longer ships a Python reader, so this is a small one.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_records(path: Path) -> Iterator[wandb_internal_pb2.Record]:
    data = path.read_bytes()
    ident, magic, version = HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), (ident, magic, version)
    pos, pending = HEADER.size, b""
    while pos + CHUNK.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK.size:  # block trailer: zero padding
            pos += BLOCK - pos % BLOCK
            continue
        crc, length, kind = CHUNK.unpack_from(data, pos)
        if kind == 0 or pos + CHUNK.size + length > len(data):  # end, or a chunk still being written
            break
        chunk = data[pos + CHUNK.size : pos + CHUNK.size + length]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == crc, f"bad checksum at byte {pos}"
        pos += CHUNK.size + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def run_file(run_dir: Path) -> Path:
    """The one ``.wandb`` file under ``run_dir``."""
    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    return path


def finished_records(run_dir: Path, timeout: float = 60.0) -> list[wandb_internal_pb2.Record]:
    """All records of the run under ``run_dir`` once its ``exit`` record is written.

    ``wandb.finish()`` can return while W&B's core process is still writing the end of
    the file, so wait for it (a synchronisation point, not a timing assertion).
    """
    deadline = time.monotonic() + timeout
    while True:
        records = list(read_records(run_file(run_dir)))
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.1)
