"""parallel_reads' `once_sent`: work that runs while the reads' requests are in flight."""

from __future__ import annotations

import threading
import time

from pipectl.aws import Aws, Target
from pipectl.resources.common import parallel_reads


class HeldAnswers:
    """Records each call as it starts and holds every answer until `release` (or 30 s)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[str] = []
        self.released = threading.Event()
        self.held_in_time: list[bool] = []

    def hook(self, client) -> None:
        client.meta.events.register("before-call.*.*", self.start)
        client.meta.events.register("after-call.*.*", self.end)

    def start(self, model, **_) -> None:
        self.started.append(model.name)

    def end(self, model, **_) -> None:
        self.held_in_time.append(self.released.wait(timeout=30))
        self.ended.append(model.name)


def test_once_sent_runs_while_every_reader_has_a_request_in_flight(mocked):
    """One reader sends from a nested parallel_reads (its request counts as the reader's),
    another sends nothing (it counts once done): `once_sent` runs after both, before any answer."""
    held = HeldAnswers()
    s3 = Aws(Target(region="us-east-1"), hooks=[held.hook]).client("s3")
    seen: list[tuple[list[str], list[str]]] = []

    def once_sent() -> None:
        seen.append((list(held.started), list(held.ended)))
        held.released.set()

    def slow_to_send() -> list:
        time.sleep(0.3)  # as when its client is still being made
        return s3.list_buckets()["Buckets"]

    readers = {
        "nested": lambda: parallel_reads({"buckets": slow_to_send}),
        "local": lambda: "no request",
    }
    result = parallel_reads(readers, once_sent=once_sent)

    assert seen == [(["ListBuckets"], [])]
    assert held.held_in_time == [True]
    assert result == {"nested": {"buckets": []}, "local": "no request"}


def test_once_sent_waits_for_the_first_request_of_a_reader_that_makes_two(mocked):
    """A reader whose second call needs the first's answer: `once_sent` runs once the first has
    left, not after the whole reader (the answer is held until it has run)."""
    held = HeldAnswers()
    s3 = Aws(Target(region="us-east-1"), hooks=[held.hook]).client("s3")
    order: list[str] = []

    def chained() -> int:
        s3.list_buckets()
        order.append("first answered")
        return len(s3.list_buckets()["Buckets"])

    def once_sent() -> None:
        order.append("once_sent")
        held.released.set()

    result = parallel_reads({"chained": chained}, once_sent=once_sent)

    assert result == {"chained": 0}
    assert order == ["once_sent", "first answered"]
    assert held.held_in_time == [True, True]
