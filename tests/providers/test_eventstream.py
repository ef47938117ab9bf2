"""The event-stream codec: framing, checksums, and frames split across reads."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest

from govern.providers.eventstream import EventStreamDecoder, EventStreamError, encode_message

HEADERS = {":event-type": "contentBlockDelta", ":message-type": "event"}


def test_frames_split_into_single_bytes_decode() -> None:
    data = encode_message(HEADERS, b'{"a":1}') + encode_message(HEADERS, b'{"b":2}')
    decoder = EventStreamDecoder()
    messages = [m for i in range(len(data)) for m in decoder.feed(data[i : i + 1])]
    assert [m.payload for m in messages] == [b'{"a":1}', b'{"b":2}']
    assert messages[0].header(":event-type") == "contentBlockDelta"
    assert decoder.pending == 0


def test_partial_frame_stays_pending() -> None:
    data = encode_message(HEADERS, b"{}")
    decoder = EventStreamDecoder()
    assert decoder.feed(data[:-3]) == []
    assert decoder.pending == len(data) - 3


def test_corrupt_prelude_is_rejected() -> None:
    data = bytearray(encode_message(HEADERS, b"{}"))
    data[9] ^= 0x01
    with pytest.raises(EventStreamError, match="prelude checksum"):
        EventStreamDecoder().feed(bytes(data))


def test_corrupt_payload_is_rejected() -> None:
    data = bytearray(encode_message(HEADERS, b'{"text":"hello"}'))
    data[-6] ^= 0x20
    with pytest.raises(EventStreamError, match="message checksum"):
        EventStreamDecoder().feed(bytes(data))


def test_typed_header_values_decode() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = (
        b"\x04flag"
        + b"\x00"
        + b"\x05count"
        + b"\x04"
        + struct.pack(">i", -7)
        + b"\x02id"
        + b"\x09"
        + ident.bytes
    )
    total = 12 + len(headers) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers
    frame = body + struct.pack(">I", zlib.crc32(body))
    (message,) = EventStreamDecoder().feed(frame)
    assert message.headers == {"flag": True, "count": -7, "id": ident}
    assert message.payload == b""
