import threading

from pipectl.errors import AwsError
from pipectl.plan import Action, Change, Step, run_graph


def ok(name, log, barrier=None):
    def run():
        if barrier:
            barrier.wait(timeout=60)
        log.append(name)
        return Change(name, name, Action.CREATE)

    return run


def test_independent_steps_run_concurrently_and_dependents_after():
    log = []
    barrier = threading.Barrier(4)  # breaks (times out) unless all four run at once
    steps = {n: Step(n, ok(n, log, barrier)) for n in ("bucket", "table", "role", "log_group")}
    steps["function"] = Step("function", ok("function", log), ("role", "log_group"))
    steps["trigger"] = Step("trigger", ok("trigger", log), ("function", "bucket"))
    result = run_graph(steps)
    assert result.ok
    order = {name: index for index, name in enumerate(log)}
    assert order["function"] > max(order["role"], order["log_group"])
    assert log[-1] == "trigger" and order["trigger"] > order["bucket"]
    assert all(c.duration_s is not None for c in result.changes.values())


def test_failure_skips_dependents_only():
    def boom():
        raise AwsError("role failed")

    log = []
    steps = {
        "role": Step("role", boom, placeholder=Change("role", "r", Action.CREATE)),
        "table": Step("table", ok("table", log)),
        "function": Step("function", ok("function", log), ("role",)),
        "trigger": Step("trigger", ok("trigger", log), ("function",)),
    }
    events = []
    result = run_graph(steps, progress=lambda n, e, c: events.append((n, e)))
    assert not result.ok and list(result.errors) == ["role"]
    assert result.changes["role"].action is Action.FAILED
    assert result.changes["function"].action is Action.SKIPPED
    assert result.changes["trigger"].action is Action.SKIPPED
    assert (
        "role failed" in result.changes["function"].detail
        or "role" in result.changes["function"].detail
    )
    assert log == ["table"]
    assert ("table", "start") in events and ("table", "done") in events
