"""Warm execution environments, per function: reuse, a concurrency cap, idle shutdown.

An invocation leases an environment: the most recently used idle one made for the same key (the
function's code and configuration), or a slot to start a new one. At most `cap` leases per
function are out at once; past that an invocation waits for one to come back, or is throttled.
Environments made for another key are shut down when next seen, idle ones after `idle_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol


class Reusable(Protocol):
    """What the pool needs of an environment (environments.Environment)."""

    key: Hashable
    last_used: float

    def kill(self) -> None: ...


class Throttled(Exception):
    """Every environment the function may have is busy, and the caller would not wait."""


class PoolClosed(Exception):
    """The emulator is stopping."""


@dataclass
class Lease:
    """One invocation's hold on an environment: `env` is None until a new one is attached."""

    function: Hashable
    env: Reusable | None
    cold: bool


@dataclass
class _FunctionPool:
    key: Hashable = None  # the function's current code and configuration
    idle: list[Reusable] = field(default_factory=list)  # most recently used last
    busy: set[int] = field(default_factory=set)  # ids of leases out
    running: dict[int, Reusable] = field(default_factory=dict)  # lease id -> its environment


class Pools:
    """Every function's environments; thread-safe."""

    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._cond = threading.Condition()
        self._pools: dict[Hashable, _FunctionPool] = {}
        self._closed = False
        self._stop = threading.Event()

    def acquire(self, function: Hashable, key: Hashable, cap: int, wait: bool = True) -> Lease:
        """A lease on a warm environment for `key`, or on a slot for a new one (cold)."""
        stale: list[Reusable] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise PoolClosed
                    pool = self._pools.setdefault(function, _FunctionPool())
                    if pool.key != key:
                        pool.key = key
                        stale += pool.idle
                        pool.idle = []
                    if pool.idle or len(pool.busy) < cap:
                        lease = Lease(function, pool.idle.pop() if pool.idle else None, False)
                        lease.cold = lease.env is None
                        pool.busy.add(id(lease))
                        if lease.env is not None:
                            pool.running[id(lease)] = lease.env
                        return lease
                    if not wait:
                        raise Throttled
                    self._cond.wait()
        finally:
            _kill(stale)

    def attach(self, lease: Lease, env: Reusable) -> None:
        """Record the new environment a cold lease started (so that close() finds it)."""
        with self._cond:
            lease.env = env
            self._pools[lease.function].running[id(lease)] = env
            closed = self._closed
        if closed:
            env.kill()

    def release(self, lease: Lease, reuse: bool) -> None:
        """Give the lease back: its environment stays warm if `reuse` and still current."""
        env = lease.env
        with self._cond:
            pool = self._pools[lease.function]
            pool.busy.discard(id(lease))
            pool.running.pop(id(lease), None)
            keep = reuse and env is not None and env.key == pool.key and not self._closed
            if keep and env is not None:
                env.last_used = self._clock()
                pool.idle.append(env)
            self._cond.notify_all()
        if env is not None and not keep:
            env.kill()

    def counts(self, function: Hashable) -> tuple[int, int]:
        """(busy, idle) environments of a function."""
        with self._cond:
            pool = self._pools.get(function, _FunctionPool())
            return len(pool.busy), len(pool.idle)

    def reap_idle(self) -> int:
        """Shut down environments idle for `idle_s` or more; how many."""
        expired: list[Reusable] = []
        with self._cond:
            cutoff = self._clock() - self.idle_s
            for pool in self._pools.values():
                expired += [env for env in pool.idle if env.last_used <= cutoff]
                pool.idle = [env for env in pool.idle if env.last_used > cutoff]
        _kill(expired)
        return len(expired)

    def start_reaper(self) -> None:
        """Reap idle environments in the background, checking every idle_s / 4 (at most 30 s)."""
        interval = min(max(self.idle_s / 4, 0.05), 30.0)

        def loop() -> None:
            while not self._stop.wait(interval):
                self.reap_idle()

        threading.Thread(target=loop, name="pipectl-reaper", daemon=True).start()

    def close(self) -> None:
        """Kill every environment, idle or running; refuse new leases."""
        self._stop.set()
        with self._cond:
            self._closed = True
            doomed = [env for pool in self._pools.values() for env in pool.idle]
            doomed += [env for pool in self._pools.values() for env in pool.running.values()]
            for pool in self._pools.values():
                pool.idle = []
            self._cond.notify_all()
        _kill(doomed)


def _kill(environments: list[Reusable]) -> None:
    for env in environments:
        env.kill()
