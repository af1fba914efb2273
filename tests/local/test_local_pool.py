"""The warm-environment pool on its own, with stand-in environments and a hand-moved clock."""

from __future__ import annotations

import threading
from collections.abc import Hashable

import pytest

from pipectl.local.pool import Lease, PoolClosed, Pools, Throttled


class FakeEnv:
    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.last_used = 0.0
        self.killed = False

    def kill(self) -> None:
        self.killed = True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def start(pools: Pools, key: Hashable = "v1", cap: int = 2) -> tuple[Lease, FakeEnv]:
    """Lease an environment for "f", starting a new one if the lease is cold."""
    lease = pools.acquire("f", key, cap)
    if lease.cold:
        pools.attach(lease, FakeEnv(key))
    assert isinstance(lease.env, FakeEnv)
    return lease, lease.env


def test_a_released_environment_is_reused_most_recent_first() -> None:
    pools = Pools(idle_s=60)
    (first, env_1), (second, env_2) = start(pools), start(pools)
    assert first.cold and second.cold and env_1 is not env_2
    pools.release(first, reuse=True)
    pools.release(second, reuse=True)

    again, env = start(pools)

    assert not again.cold and env is env_2
    assert pools.counts("f") == (1, 1)


def test_an_environment_not_reused_is_killed() -> None:
    pools = Pools(idle_s=60)
    lease, env = start(pools)

    pools.release(lease, reuse=False)

    assert env.killed and pools.counts("f") == (0, 0)


def test_a_new_key_retires_idle_and_busy_environments_of_the_old_one() -> None:
    pools = Pools(idle_s=60)
    (idle, idle_env), (busy, busy_env) = start(pools), start(pools)
    pools.release(idle, reuse=True)

    fresh, fresh_env = start(pools, key="v2")

    assert fresh.cold and idle_env.killed and not busy_env.killed
    pools.release(busy, reuse=True)  # made for v1: not kept
    assert busy_env.killed and pools.counts("f") == (1, 0)
    pools.release(fresh, reuse=True)
    assert not fresh_env.killed and pools.counts("f") == (0, 1)


def test_the_cap_throttles_or_makes_callers_wait() -> None:
    pools = Pools(idle_s=60)
    (first, _), _ = start(pools, cap=2), start(pools, cap=2)

    with pytest.raises(Throttled):
        pools.acquire("f", "v1", cap=2, wait=False)
    got: list[Lease] = []
    waiter = threading.Thread(target=lambda: got.append(pools.acquire("f", "v1", cap=2)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not got  # waiting for a free environment
    pools.release(first, reuse=True)
    waiter.join(5)

    assert got and not got[0].cold and pools.counts("f") == (2, 0)


def test_other_functions_have_their_own_cap() -> None:
    pools = Pools(idle_s=60)
    start(pools, cap=1)

    other = pools.acquire("g", "v1", cap=1, wait=False)

    assert other.cold


def test_idle_environments_are_shut_down_after_idle_s() -> None:
    clock = Clock()
    pools = Pools(idle_s=30, clock=clock)
    (old, old_env), (recent, recent_env) = start(pools), start(pools)
    pools.release(old, reuse=True)
    clock.now += 20
    pools.release(recent, reuse=True)
    clock.now += 15

    assert pools.reap_idle() == 1

    assert old_env.killed and not recent_env.killed and pools.counts("f") == (0, 1)


def test_close_kills_everything_and_refuses_new_leases() -> None:
    pools = Pools(idle_s=60)
    (idle, idle_env), (_, busy_env) = start(pools), start(pools)
    pools.release(idle, reuse=True)

    pools.close()

    assert idle_env.killed and busy_env.killed
    with pytest.raises(PoolClosed):
        pools.acquire("f", "v1", cap=2)
