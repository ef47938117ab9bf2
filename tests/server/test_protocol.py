"""`CorkedTransport`: writes of one event-loop step leave together, and none is lost."""

from __future__ import annotations

import asyncio
import socket

import pytest

from govern.server.protocol import CorkedTransport


async def _pair() -> tuple[CorkedTransport, socket.socket]:
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
    theirs.setblocking(False)
    return CorkedTransport(transport, loop), theirs  # type: ignore[arg-type]


def _received(peer: socket.socket) -> bytes:
    try:
        return peer.recv(65536)
    except BlockingIOError:
        return b""


async def test_a_head_waits_for_its_body_and_both_leave_in_one_send() -> None:
    corked, peer = await _pair()
    corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert _received(peer) == b""  # held
    corked.write(b"{}")  # sent at once, with the head
    assert _received(peer) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    corked.close()
    peer.close()


async def test_a_lone_write_leaves_at_the_end_of_the_step() -> None:
    corked, peer = await _pair()
    corked.write(b"data: 1\n\n")
    assert _received(peer) == b""  # nothing sent while the step runs
    received = await asyncio.get_running_loop().sock_recv(peer, 65536)  # the step ends
    assert received == b"data: 1\n\n"
    corked.close()
    peer.close()


async def test_close_sends_what_is_queued_first() -> None:
    corked, peer = await _pair()
    corked.write(b"last words")
    corked.close()
    loop = asyncio.get_running_loop()
    assert await loop.sock_recv(peer, 100) == b"last words"
    assert await loop.sock_recv(peer, 100) == b""  # then the end of the stream
    peer.close()


async def test_other_calls_reach_the_transport() -> None:
    corked, peer = await _pair()
    assert corked.get_extra_info("socket") is not None
    assert not corked.is_closing()
    corked.close()
    assert corked.is_closing()
    peer.close()


async def test_a_write_after_the_client_left_raises_instead_of_vanishing() -> None:
    corked, peer = await _pair()
    corked.close()
    with pytest.raises(ConnectionResetError):
        corked.write(b"data: 2\n\n")  # a stream learns it must stop
    peer.close()
