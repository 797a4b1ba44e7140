"""What every HTTP emulator here shares: a request handler that hands each request to the
emulator's ``_dispatch``, and a loopback server the emulator starts, stops or runs as a context."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self


class DispatchingHandler(BaseHTTPRequestHandler):
    """Subclasses name the methods they answer: ``do_POST = do_PUT = DispatchingHandler.do_GET``."""

    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    timeout = 30
    emulator: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.emulator._dispatch(self)


class LoopbackServer:
    """start() serves ``handler`` on 127.0.0.1 (a free port) in a daemon thread and returns the URL."""

    handler: ClassVar[type[DispatchingHandler]]
    thread_name: ClassVar[str]
    url: str
    _server: ThreadingHTTPServer | None

    def start(self) -> str:
        handler = type(f"{type(self).__name__}Handler", (self.handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
