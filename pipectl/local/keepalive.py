"""The emulator's HTTP request handler: werkzeug's, with HTTP/1.1 keep-alive.

werkzeug's handler (3.x) answers every request with `Connection: close` and, after the response,
reads whatever the client sends within 10 ms to throw it away -- which, on a kept-alive
connection, would be the next request. So every boto3 call (pipectl's own, and the functions'
PutItem) cost a new TCP connection and a new server thread. Here a response is built whole (moto's
are in memory anyway), sent with a Content-Length, and only the unread rest of the request's own
body is read afterwards, so the connection can carry the next request. Errors close it.

TCP_NODELAY: on a reused connection, Nagle's algorithm and the client's delayed ACK held some
responses back ~40 ms (S3 PutObject went from 5 ms to 45 ms in benchmarks/emulator_latency.py);
a new connection had hidden that. Measured with `python benchmarks/bench_backfill.py
--no-dispatch --runs 1`: the server's CPU per object 6.0-6.4 ms before, 5.4-5.5 ms after.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

# Responses that never have a body (RFC 9110 6.4.1): no Content-Length of ours, nothing written.
BODYLESS_STATUSES = {204, 304}


def content_length(environ: dict[str, Any]) -> int | None:
    """The request's Content-Length, 0 when it has none; None when it is not a whole number."""
    text = environ.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isascii() and text.isdigit() else None


class KeepAliveRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, keeping the connection open between requests."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()  # see the module's docstring
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        if not environ.get("wsgi.input_terminated"):  # chunked input is already bounded
            length = content_length(environ)
            # where a body of unknown length ends is unknown: so is where the next request starts
            if length is None:
                self.send_error(400, "Bad Request: malformed Content-Length")
                return
            environ["wsgi.input"] = LimitedStream(self.rfile, length)
        try:
            status, headers, body = self._respond(self.server.app, environ)
        except Exception as exc:  # the app failed: as werkzeug, a 500, logged; then close
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request: {exc!r}")
            self.close_connection = True
            status, headers, body = self._respond(InternalServerError(), environ)
        self._send(status, headers, body)
        self._drain(environ["wsgi.input"])

    def _respond(self, app: Any, environ: dict[str, Any]) -> tuple[str, list[Any], bytes]:
        """Run the WSGI app; its status, headers and whole body."""
        started: list[Any] = []

        def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: chunks.append(data)  # the legacy write() callable

        chunks: list[bytes] = []
        result: Iterable[bytes] = app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started[0], started[1], b"".join(chunks)

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code_str, _, message = status.partition(" ")
        code = int(code_str)
        bodyless = code in BODYLESS_STATUSES or code < 200 or self.command == "HEAD"
        self.send_response(code, message)
        for key, value in headers:
            if key.lower() == "content-length" and not bodyless:
                continue  # ours, from what is really sent
            self.send_header(key, value)
        if not bodyless:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodyless:
            self.wfile.write(body)
        self.wfile.flush()

    def _drain(self, request_body: Any) -> None:
        """Read what the app left of the request's body, so the next request starts clean."""
        try:
            while request_body.read(65536):
                pass
        except (OSError, ClientDisconnected):  # bad chunking, or a client gone: position unknown
            self.close_connection = True
