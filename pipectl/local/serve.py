"""The emulator process: `python -m pipectl.local.serve --port N [--host 127.0.0.1] [--home DIR]`.

Runs moto's server with pipectl's Docker-free Lambda executor installed, until SIGTERM or SIGINT,
then kills every execution environment it started. server.py starts it detached; it is not meant
to be run by hand, though it can be. Its settings come from the environment (settings.py).

This is moto's ThreadedMotoServer minus one trap: that class binds the port in its thread and
waits for an event set only after a successful bind, so a port taken meanwhile hangs it forever.
Binding here, in the main thread, makes that an immediate exit with the error in the log. The
application is moto's dispatcher with its per-request service lookup remembered (dispatcher.py)
and the parse of a DynamoDB condition remembered (moto_memo.py); connections are kept open between
requests (keepalive.py).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from moto.server import create_backend_app
from werkzeug.serving import make_server

from pipectl.errors import UsageError
from pipectl.local import executor, interpreters, keepalive, moto_memo, settings
from pipectl.local.dispatcher import Dispatcher

INTERPRETERS_FILE = "interpreters.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--home", type=Path, default=Path.cwd(), help="where to record state")
    parser.add_argument(
        "--log-requests", action="store_true", help="log every HTTP request (noisy)"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # werkzeug logs each request at INFO: the log file would grow with every poll of `logs -f`.
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.log_requests else logging.WARNING)
    log = logging.getLogger("pipectl.local")
    try:
        chosen = settings.from_environ()
    except UsageError as exc:
        log.error("%s (%s)", exc.message, exc.hint)
        return 2
    log.info("settings: %s", chosen)

    (args.home / INTERPRETERS_FILE).unlink(missing_ok=True)
    interpreters.record_choices_in(args.home / INTERPRETERS_FILE)
    executor.install(f"http://{args.host}:{args.port}", chosen)
    moto_memo.install()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server = make_server(
        args.host,
        args.port,
        Dispatcher(create_backend_app),
        threaded=True,
        request_handler=keepalive.KeepAliveRequestHandler,
    )
    threading.Thread(target=server.serve_forever, name="moto-server", daemon=True).start()
    log.info("emulator listening on %s:%s", args.host, args.port)
    stopping.wait()
    server.shutdown()
    server.server_close()
    executor.kill_running()
    log.info("emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
