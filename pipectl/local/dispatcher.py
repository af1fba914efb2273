"""The emulator's WSGI application: moto's DomainDispatcherApplication, remembering which service
answers which host.

For every request moto's dispatcher works out the service from the host name (the endpoint's, or
one it infers from the request's signature, e.g. `dynamodb.us-east-1.amazonaws.com`) in
`get_backend_for_host`: it lists moto's package directory (os.listdir and an isdir for each of
its ~170 entries) and then tries its URL patterns one by one, all under one lock that every
request takes. That is 1.4 ms (DynamoDB) to 2.8 ms (CloudWatch Logs) of CPU per request, with
requests waiting in line for it: a third of what a PutItem costs the emulator, the call a
backfill makes once per object. The answer depends only on the host name and on moto's
installed files and patterns, which do not change while the emulator runs, so it is looked up
once per host and remembered. Everything after it -- which Flask app, the request's handling --
is moto's as before.
"""

from __future__ import annotations

from typing import Any

from moto.server import DomainDispatcherApplication

MAX_HOSTS = 4096  # services x regions in use; a bound, in case a client sends odd Host headers


class Dispatcher(DomainDispatcherApplication):
    """DomainDispatcherApplication whose host -> service lookup is done once per host."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_for_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # Called by get_application with the dispatcher's lock held: no lock of its own needed.
        try:
            return self._backend_for_host[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
            if len(self._backend_for_host) < MAX_HOSTS:
                self._backend_for_host[host] = backend
            return backend
