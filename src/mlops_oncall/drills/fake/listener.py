"""One listening port that can stop listening and start again on the same port number.

Stopping closes the listening socket and resets open connections, as when a process dies,
so clients see ECONNREFUSED rather than a server that merely answers errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from mlops_oncall.drills.fake.httpd import App, serve_connection


class Listener:
    def __init__(self, host: str, port: int, app: App):
        self.host = host
        self.port = port  # 0 until the first open() lets the OS choose; then kept for reopening
        self._app = app
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # create_server sets SO_REUSEADDR, so reopening works despite TIME_WAIT connections.
        sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        try:
            self._server = await asyncio.start_server(self._serve, sock=sock)
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()  # closes the listening socket now: new connections are refused
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await serve_connection(reader, writer, self._app)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client or close() hung up; nothing left to answer
        finally:
            self._connections.pop(task, None)
            with contextlib.suppress(Exception):
                writer.close()
