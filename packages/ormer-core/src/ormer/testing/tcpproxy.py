"""A TCP proxy a test controls, for network faults without touching the server.

``proxy = await TcpProxy.start(host, port)`` listens on ``127.0.0.1:<proxy.port>``
and forwards every connection to ``host:port``. Then:

* ``proxy.freeze()``: new connections are accepted and not answered, and bytes on
  existing ones stop flowing (held, not dropped): a stalled server or a network cut.
  ``proxy.thaw()`` lets them flow again (and forwards the connections accepted meanwhile).
* ``proxy.refuse()``: new connections are closed at once (a server refusing
  clients, e.g. max_connections reached); existing ones keep working.
  ``proxy.forward()`` goes back to normal.
* ``proxy.sever()``: every open connection is cut (both sides), as when the server
  kills its sessions; new connections are forwarded again.
* ``await proxy.close()``: stops listening and cuts everything.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

__all__ = ["TcpProxy", "url_through"]


class TcpProxy:
    """A controllable TCP forwarder on 127.0.0.1 (see the module docstring)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.upstream_port = port
        self.port = 0
        self.mode = "forward"
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, host: str, port: int) -> TcpProxy:
        """A proxy to ``host:port``, listening on a free loopback port."""
        proxy = cls(host, port)
        proxy._server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    def freeze(self) -> None:
        """Accept new connections without answering; hold bytes on existing ones."""
        self.mode = "freeze"
        self._flowing.clear()

    def thaw(self) -> None:
        """Undo :meth:`freeze`."""
        self.mode = "forward"
        self._flowing.set()

    def refuse(self) -> None:
        """Close new connections at once; existing ones keep working."""
        self.mode = "refuse"

    def forward(self) -> None:
        """Forward new connections again (after :meth:`refuse`)."""
        self.mode = "forward"
        self._flowing.set()

    def sever(self) -> None:
        """Cut every open connection, both sides."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        """Stop listening and cut everything."""
        if self._server is not None:
            self._server.close()
        self._flowing.set()
        self.sever()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def __aenter__(self) -> TcpProxy:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "refuse":
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self.mode == "freeze":
            # accepted, not answered until thawed
            await self._flowing.wait()
            if writer not in self._writers:
                return  # severed meanwhile
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pump(src, dst, writer, up_writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        a: asyncio.StreamWriter,
        b: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await src.read(65536):
                await self._flowing.wait()
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (a, b):
                w.transport.abort()
                self._writers.discard(w)


def url_through(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@127.0.0.1:{proxy.port}" if auth else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))
