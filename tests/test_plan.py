import threading

from pipectl.errors import AwsError
from pipectl.plan import Action, Change, Op, Step, change_for_drifts, run_graph


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


def test_a_dependent_starts_before_the_late_part_finishes():
    """`finish` waits for the dependent to have started: without the early unblock this would
    deadlock (and time out), since the dependent would wait for the whole step."""
    dependent_started = threading.Event()

    def late():
        assert dependent_started.wait(timeout=30), "dependent did not start before finish ended"
        return Change("role", "r", Action.CREATE, ops=())

    def dependent():
        dependent_started.set()
        return Change("function", "f", Action.CREATE)

    steps = {
        "role": Step("role", lambda: Change("role", "r", Action.CREATE), finish=late),
        "function": Step("function", dependent, ("role",)),
    }
    result = run_graph(steps)
    assert result.ok, result.errors
    assert result.changes["role"].action is Action.CREATE
    assert result.changes["function"].action is Action.CREATE


def test_a_failing_late_part_fails_the_step_and_skips_dependents_not_started():
    """The role's late part fails while the function (which waits only for the role's first
    part) runs; the trigger, which also waits for the slow bucket, has not started by then and
    is skipped; the run fails naming the role."""
    late_failed = threading.Event()
    log = []

    def late():
        raise AwsError("PutRolePolicy failed")

    def function():
        log.append("function")
        return Change("function", "f", Action.CREATE)

    def slow_bucket():
        # Wait until the role's failure is recorded: the scheduler has seen it before the
        # bucket ends, so the trigger is launched (or not) knowing it.
        assert late_failed.wait(timeout=30)
        return Change("bucket", "b", Action.CREATE)

    def progress(name, event, change):
        if name == "role" and event == "done":
            late_failed.set()

    steps = {
        "role": Step(
            "role",
            lambda: Change("role", "r", Action.CREATE, ops=()),
            finish=late,
            placeholder=Change("role", "r", Action.CREATE),
        ),
        "function": Step("function", function, ("role",)),
        "bucket": Step("bucket", slow_bucket),
        "trigger": Step("trigger", ok("trigger", log), ("function", "bucket", "role")),
    }
    result = run_graph(steps, progress=progress)
    assert not result.ok and list(result.errors) == ["role"]
    assert result.changes["role"].action is Action.FAILED
    assert "PutRolePolicy failed" in result.changes["role"].detail
    assert result.changes["function"].action is Action.CREATE  # had already started
    assert result.changes["trigger"].action is Action.SKIPPED
    assert log == ["function"]


def test_a_failing_first_part_never_runs_the_late_part():
    ran = []

    def first():
        raise AwsError("CreateRole failed")

    steps = {
        "role": Step(
            "role", first, finish=lambda: ran.append("late") or Change("role", "r", Action.CREATE)
        ),
        "function": Step("function", ok("function", ran), ("role",)),
    }
    result = run_graph(steps)
    assert list(result.errors) == ["role"]
    assert result.changes["function"].action is Action.SKIPPED
    assert ran == []


def test_after_done_waits_for_the_whole_step():
    """`after` waits for a step's first part, `after_done` for its finish too."""
    log = []

    def late():
        log.append("bucket finished")
        return Change("bucket", "b", Action.CREATE)

    steps = {
        "bucket": Step("bucket", lambda: Change("bucket", "b", Action.CREATE), finish=late),
        "function": Step("function", ok("function", log), after_done=("bucket",)),
    }
    result = run_graph(steps)
    assert result.ok, result.errors
    assert log == ["bucket finished", "function"]


class SampleOp(Op):
    BILLING = ("billing", "UpdateTable")
    TAGS = ("tags", "TagResource")
    ENCRYPTION = ("encryption", "UpdateTable")


def test_change_for_drifts_lists_the_op_of_each_setting_that_drifted():
    change = change_for_drifts(
        "table",
        "T",
        [
            (["billing PROVISIONED"], SampleOp.BILLING),
            ([], SampleOp.TAGS),
            (["a", "b"], SampleOp.ENCRYPTION),
        ],
    )
    assert change.action is Action.UPDATE
    assert change.reasons == ("billing PROVISIONED", "a", "b")
    assert change.ops == (SampleOp.BILLING, SampleOp.ENCRYPTION)


def test_change_for_drifts_without_drift_is_unchanged():
    change = change_for_drifts("table", "T", [([], SampleOp.BILLING), ([], SampleOp.TAGS)])
    assert change.action is Action.UNCHANGED
    assert change.ops == ()
