"""One backfill run as a streaming pipeline: list (pages, several prefixes side by side) →
chunks of --batch-size objects → per chunk, in a pool of --concurrency workers: which have an
item already (unless --all), then their records as one or more events, each invoked
asynchronously. At most two chunks per worker wait in line, so memory stays bounded whatever the
bucket holds, and listing, checking and invoking overlap.

A run stops early on Ctrl-C or on an error no retry can fix (credentials, a missing function):
work in flight finishes or stops between attempts, the counts say what was sent, and because
the default sends only objects without an item, running it again continues where it stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from pipectl.aws import translate
from pipectl.backfill import dispatch, existing, listing, records
from pipectl.backfill.faults import stops_the_run
from pipectl.backfill.records import Destination, ListedObject
from pipectl.context import Timing
from pipectl.errors import PipectlError

DEFAULT_BATCH_SIZE = 100
MAX_BATCH_SIZE = 1000  # records per invocation
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 20  # the connection pool of each client (aws.py: max_pool_connections)
INVOKE_DEADLINE_S = 300.0  # how long one event may be throttled before it counts as failed
CHECK_DEADLINE_S = 120.0  # how long DynamoDB may throttle one BatchGetItem


@dataclass(frozen=True)
class Options:
    """What to send and how; validated by the command before any AWS call."""

    selection: listing.Selection = field(default_factory=listing.Selection)
    everything: bool = False  # --all: also objects that have an item
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    dry_run: bool = False
    list_parallel: int = listing.LIST_PARALLEL


@dataclass(frozen=True)
class Target:
    """The pipeline's pieces a backfill touches, as found by the preflight."""

    source: listing.Source
    destination: Destination
    table: existing.Table
    function: str


@dataclass
class Tally:
    """Counts so far (updated by the workers, read by the progress display)."""

    objects: int = 0  # matching objects listed
    skipped: int = 0  # had an item already
    dispatched: int = 0  # records Lambda accepted (202)
    invocations: int = 0
    failed_keys: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # --dry-run
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def failed(self) -> int:
        return len(self.failed_keys)

    def rate(self) -> float:
        """Objects handled (dispatched or skipped) per second so far."""
        elapsed = time.monotonic() - self.started
        return (self.dispatched + self.skipped) / elapsed if elapsed > 0 else 0.0


@dataclass
class Result:
    run_id: str
    tally: Tally
    dry_run: bool
    interrupted: bool = False
    stopped_by: PipectlError | None = None
    cancelled: bool = False  # the user declined the prompt: nothing was listed or sent

    @property
    def ok(self) -> bool:
        return not (self.interrupted or self.stopped_by or self.tally.failed or self.cancelled)

    def as_json(self) -> dict[str, Any]:
        t = self.tally
        document: dict[str, Any] = {
            "ok": self.ok,
            "objects": t.objects,
            "dispatched": t.dispatched,
            "skipped": t.skipped,
            "invocations": t.invocations,
            "failed": t.failed,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "failed_keys": list(t.failed_keys),
        }
        if self.dry_run:
            document["would_dispatch"] = len(t.would_send)
            document["keys"] = list(t.would_send)
        if self.interrupted:
            document["interrupted"] = True
        if self.cancelled:
            document["cancelled"] = True
        if self.stopped_by is not None:
            document["error"] = self.stopped_by.message
            document["hint"] = self.stopped_by.hint
        return document


def chunks(pages: Iterable[list[ListedObject]], size: int, tally: Tally) -> Iterator[list[Any]]:
    """Matching objects, `size` at a time, counted as they are listed."""
    chunk: list[ListedObject] = []
    for page in pages:
        with tally.lock:
            tally.objects += len(page)
        for obj in page:
            chunk.append(obj)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


class Backfill:
    """One run: `run()` once. `aws` gives the clients (pipectl.aws.Aws)."""

    def __init__(
        self,
        aws: Any,
        target: Target,
        options: Options,
        timing: Timing,
        run_id: str,
        on_progress: Callable[[Tally], None] | None = None,
    ) -> None:
        self.aws = aws
        self.target = target
        self.options = options
        self.timing = timing
        self.run_id = run_id
        self.on_progress = on_progress or (lambda tally: None)
        self.tally = Tally()
        self.stop = threading.Event()
        self.sleep = interruptible(timing.sleep, self.stop)

    def run(self) -> Result:
        result = Result(self.run_id, self.tally, self.options.dry_run)
        pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="backfill")
        pending: set[Future[None]] = set()
        try:
            pages = listing.selected(
                self.aws.client("s3"),
                self.target.source,
                self.options.selection,
                self.options.list_parallel,
            )
            for chunk in chunks(pages, self.options.batch_size, self.tally):
                if len(pending) >= 2 * self.options.concurrency:
                    pending = self.settle(pending, FIRST_COMPLETED)
                pending.add(pool.submit(self.send, chunk))
                self.on_progress(self.tally)
            self.settle(pending, ALL_COMPLETED)
        except KeyboardInterrupt:
            result.interrupted = True
        except PipectlError as error:
            result.stopped_by = error
        except Exception as exc:
            if not stops_the_run(exc) and not is_aws_error(exc):
                raise
            result.stopped_by = translate(exc)
        finally:
            self.stop.set()
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            self.on_progress(self.tally)
        return result

    def settle(self, pending: set[Future[None]], until: str) -> set[Future[None]]:
        """Wait for the first (or every) chunk in flight; a chunk's error stops the run."""
        done, still = wait(pending, return_when=until)
        for future in done:
            future.result()
        self.on_progress(self.tally)
        return still

    def send(self, chunk: list[ListedObject]) -> None:
        """One chunk; an error that stops the run stops the other workers at once too."""
        if self.stop.is_set():
            return
        try:
            self.send_chunk(chunk)
        except BaseException:
            self.stop.set()
            raise

    def send_chunk(self, chunk: list[ListedObject]) -> None:
        """Leave out what has an item, then invoke with the rest."""
        missing = chunk if self.options.everything else self.without_items(chunk)
        with self.tally.lock:
            self.tally.skipped += len(chunk) - len(missing)
        for event in records.events(missing, self.target.destination, self.run_id):
            if self.options.dry_run:
                with self.tally.lock:
                    self.tally.would_send.extend(event.keys)
                continue
            self.invoke(event)

    def without_items(self, chunk: list[ListedObject]) -> list[ListedObject]:
        found = existing.existing_keys(
            self.aws.client("dynamodb"),
            self.target.table,
            [obj.key for obj in chunk],
            self.sleep,
            self.timing.clock,
            CHECK_DEADLINE_S,
        )
        return [obj for obj in chunk if obj.key not in found]

    def invoke(self, event: records.Event) -> None:
        try:
            dispatch.invoke_event(
                self.aws.client("lambda"),
                self.target.function,
                event.payload,
                self.sleep,
                self.timing.clock,
                INVOKE_DEADLINE_S,
                self.stop,
            )
        except dispatch.Stopped:
            return  # not sent: a re-run sends it
        except Exception as exc:
            if stops_the_run(exc) or not is_aws_error(exc):
                raise
            with self.tally.lock:  # refused after every retry: counted and listed, not dropped
                self.tally.failed_keys.extend(event.keys)
            return
        with self.tally.lock:
            self.tally.dispatched += len(event.keys)
            self.tally.invocations += 1


def is_aws_error(exc: BaseException) -> bool:
    from pipectl.aws import is_botocore_error

    return is_botocore_error(exc)


def interruptible(sleep: Callable[[float], None], stop: threading.Event) -> Callable[[float], Any]:
    """The run's sleep, cut short when the run stops (a plain time.sleep would hold Ctrl-C for
    up to a backoff step). A test's fake sleep is used as it is."""
    if sleep is time.sleep:
        return stop.wait
    return sleep
