"""The `application/vnd.amazon.eventstream` binary framing (AWS streaming responses).

A message is: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes),
the headers, the payload, and a CRC32 of everything before it. Each header is a 1-byte
name length, the name, a 1-byte value type and the value. Bedrock's ConverseStream sends
one message per event, named by its `:event-type` header, with a JSON payload.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

HeaderValue = bool | int | bytes | str | uuid.UUID

_PRELUDE = struct.Struct(">II")
_PRELUDE_LENGTH = 12
_MIN_MESSAGE_LENGTH = 16
MAX_MESSAGE_LENGTH = 16 * 1024 * 1024
"""The largest message accepted (the AWS limit for a single event-stream message)."""
MAX_HEADERS_LENGTH = 128 * 1024
"""The largest headers section accepted (the AWS limit)."""

_STRING = 7


class EventStreamError(Exception):
    """The bytes are not a valid event stream (bad length, checksum or header)."""


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One decoded event-stream message."""

    headers: dict[str, HeaderValue]
    payload: bytes

    def header(self, name: str) -> str | None:
        """A string header's value, or None when absent or not a string."""
        value = self.headers.get(name)
        return value if isinstance(value, str) else None


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One message with string-valued headers, checksums included."""
    encoded = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack(">B", len(raw_name)) + raw_name
        encoded += struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    total = _PRELUDE_LENGTH + len(encoded) + len(payload) + 4
    prelude = _PRELUDE.pack(total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(encoded) + payload
    return body + struct.pack(">I", zlib.crc32(body))


class EventStreamDecoder:
    """Feed bytes as they arrive; get back every message they complete."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received of a message not yet complete."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[EventMessage]:
        """Add bytes; return the messages completed by them (raises EventStreamError)."""
        self._buffer += data
        messages: list[EventMessage] = []
        while len(self._buffer) >= _PRELUDE_LENGTH:
            total, headers_length = _PRELUDE.unpack_from(self._buffer)
            (prelude_crc,) = struct.unpack_from(">I", self._buffer, 8)
            if zlib.crc32(self._buffer[:8]) != prelude_crc:
                raise EventStreamError("prelude checksum mismatch")
            if not _MIN_MESSAGE_LENGTH <= total <= MAX_MESSAGE_LENGTH:
                raise EventStreamError(f"message length {total} out of range")
            if headers_length > MAX_HEADERS_LENGTH or headers_length > total - 16:
                raise EventStreamError(f"headers length {headers_length} out of range")
            if len(self._buffer) < total:
                break
            message = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", message, total - 4)
            if zlib.crc32(message[: total - 4]) != message_crc:
                raise EventStreamError("message checksum mismatch")
            end = _PRELUDE_LENGTH + headers_length
            messages.append(
                EventMessage(
                    headers=_decode_headers(message[_PRELUDE_LENGTH:end]),
                    payload=message[end : total - 4],
                )
            )
        return messages


def _decode_headers(data: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    try:
        while pos < len(data):
            name_length = data[pos]
            name = data[pos + 1 : pos + 1 + name_length].decode()
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _FIXED:
                fmt = _FIXED[kind]
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += struct.calcsize(fmt)
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, pos)
                raw = data[pos + 2 : pos + 2 + length]
                if len(raw) != length:
                    raise EventStreamError("header value runs past the headers")
                value = raw.decode() if kind == _STRING else raw
                pos += 2 + length
            elif kind == 9:
                raw = data[pos : pos + 16]
                if len(raw) != 16:
                    raise EventStreamError("header value runs past the headers")
                value = uuid.UUID(bytes=raw)
                pos += 16
            else:
                raise EventStreamError(f"unknown header value type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed headers: {exc}") from None
    return headers


# byte, short, integer, long, timestamp (milliseconds since the epoch)
_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}
