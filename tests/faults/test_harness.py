"""The fault harness itself: a fault the tests inject must really happen (or every
"bounded" assertion would pass against a server that never stalled)."""

from __future__ import annotations

import asyncio

import pytest

from ormer import Database
from ormer.testing.tcpproxy import TcpProxy

from .conftest import Backend, bounded

pytestmark = pytest.mark.faults


@bounded(30)
async def test_pause_stalls_existing_sessions_and_resume_frees_them(backend: Backend) -> None:
    """SIGSTOP reaches the server's every process (PostgreSQL backends live in sessions
    of their own): a statement on an already open connection gets no answer."""
    async with await Database.connect(backend.url(), connect_timeout=5) as db:
        await db.exec_rows("SELECT 1")
        backend.server.pause()
        try:
            pending = asyncio.create_task(db.exec_rows("SELECT 2"))
            done, _ = await asyncio.wait({pending}, timeout=0.5)
            assert not done, "the paused server answered"
        finally:
            backend.server.resume()
        assert (await asyncio.wait_for(pending, 5))[0][0] == 2


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


@bounded(30)
async def test_proxy_forwards_holds_and_cuts() -> None:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with await TcpProxy.start("127.0.0.1", port) as proxy:
            r, w = await asyncio.open_connection("127.0.0.1", proxy.port)
            w.write(b"ping")
            assert await asyncio.wait_for(r.read(4), 2) == b"ping"

            proxy.freeze()
            w.write(b"held")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(r.read(4), 0.3)
            r2, w2 = await asyncio.open_connection("127.0.0.1", proxy.port)  # accepted...
            w2.write(b"hello")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(r2.read(5), 0.3)  # ...never answered

            proxy.thaw()  # the partition heals: what was held flows on, in order
            assert await asyncio.wait_for(r.readexactly(4), 2) == b"held"
            assert await asyncio.wait_for(r2.readexactly(5), 2) == b"hello"
            w.write(b"back")
            assert await asyncio.wait_for(r.readexactly(4), 2) == b"back"
            proxy.sever()
            try:
                tail = await asyncio.wait_for(r.read(4), 2)
            except ConnectionResetError:
                tail = b""
            assert tail == b"", "the connection survived sever()"
            for writer in (w, w2):
                writer.close()
    finally:
        server.close()
        await server.wait_closed()
