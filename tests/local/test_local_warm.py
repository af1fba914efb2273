"""Warm execution environments on a started emulator: reuse, cold and warm REPORT lines, what
discards an environment, the concurrency cap, idle shutdown."""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import Aws, invocations, invoke, make_zip, process_gone, wait_for

COUNTER = """
import os
import time

COUNT = 0
print("module imported")


def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    if event.get("exit"):
        os._exit(7)
    if event.get("touch"):
        open(event["touch"], "w").close()
    time.sleep(event.get("sleep", 0))
    print("invocation", COUNT)
    return {
        "count": COUNT,
        "pid": os.getpid(),
        "stream": context.log_stream_name,
        "greeting": os.environ.get("GREETING"),
        "version": VERSION if "VERSION" in globals() else 1,
    }
"""

IDLE_S = 2


@pytest.fixture(scope="module")
def emulator_env() -> dict[str, str]:
    return {"PIPECTL_LOCAL_CONCURRENCY": "3", "PIPECTL_LOCAL_IDLE_S": str(IDLE_S)}


def test_a_warm_environment_keeps_module_state_and_reports_init_once(aws: Aws) -> None:
    aws.create_function("warm", COUNTER)

    bodies = [invoke(aws, "warm")[1] for _ in range(3)]

    assert [body["count"] for body in bodies] == [1, 2, 3]  # module-level state survives
    assert len({body["pid"] for body in bodies}) == 1
    assert len({body["stream"] for body in bodies}) == 1
    logged = invocations(aws.client("logs"), "/aws/lambda/warm")
    assert [entry.cold for entry in logged] == [True, False, False]
    assert {entry.stream for entry in logged} == {bodies[0]["stream"]}
    cold, *warm = logged
    # INIT: Lambda's INIT_START first, then what module-level code printed, before START.
    assert cold.lines[0].startswith("INIT_START Runtime Version: python:3.12.local\t")
    assert "\tInterpreter: Python 3." in cold.lines[0]
    assert cold.lines.index("module imported") < cold.lines.index(
        f"START RequestId: {cold.request_id} Version: $LATEST"
    )
    assert all("module imported" not in entry.lines for entry in warm)
    # Init Duration on the cold start only; billed = init + duration, rounded up to 1 ms.
    init_ms, duration_ms = float(cold.report["init"]), float(cold.report["duration"])
    assert init_ms > 0 and int(cold.report["billed"]) == math.ceil(init_ms + duration_ms)
    for entry in warm:
        assert entry.report["init"] is None
        assert int(entry.report["billed"]) == math.ceil(float(entry.report["duration"]))


def test_a_new_configuration_or_code_gets_a_new_environment(aws: Aws) -> None:
    lam = aws.client("lambda")
    aws.create_function("changing", COUNTER, env={"GREETING": "hi"})
    first = invoke(aws, "changing")[1]
    assert invoke(aws, "changing")[1]["count"] == 2

    lam.update_function_configuration(
        FunctionName="changing", Environment={"Variables": {"GREETING": "hello"}}
    )
    after_env = invoke(aws, "changing")[1]
    lam.update_function_code(
        FunctionName="changing", ZipFile=make_zip({"app.py": "VERSION = 2\n" + COUNTER})
    )
    after_code = invoke(aws, "changing")[1]

    assert (after_env["count"], after_env["greeting"]) == (1, "hello")
    assert (after_code["count"], after_code["version"]) == (1, 2)
    assert len({first["pid"], after_env["pid"], after_code["pid"]}) == 3
    assert process_gone(first["pid"]) and process_gone(after_env["pid"])
    logged = invocations(aws.client("logs"), "/aws/lambda/changing")
    assert [entry.cold for entry in logged] == [True, False, True, True]
    assert len({entry.stream for entry in logged}) == 3  # one stream per environment


def test_a_crash_discards_the_environment(aws: Aws) -> None:
    aws.create_function("crashing", COUNTER)
    first = invoke(aws, "crashing")[1]

    response, body, _ = invoke(aws, "crashing", {"exit": True})
    after = invoke(aws, "crashing")[1]

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError" and "exit status 7" in body["errorMessage"]
    assert after["count"] == 1 and after["pid"] != first["pid"]
    assert process_gone(first["pid"])
    logged = invocations(aws.client("logs"), "/aws/lambda/crashing")
    assert [entry.cold for entry in logged] == [True, False, True]


def test_an_environment_killed_while_idle_is_replaced_not_reported(aws: Aws) -> None:
    aws.create_function("killed", COUNTER)
    first = invoke(aws, "killed")[1]
    os.kill(first["pid"], signal.SIGKILL)
    wait_for(lambda: process_gone(first["pid"]), 5, "the environment to die")

    response, after, _ = invoke(aws, "killed")

    assert "FunctionError" not in response and after["count"] == 1
    logged = invocations(aws.client("logs"), "/aws/lambda/killed")
    assert [entry.cold for entry in logged] == [True, True]


def test_a_timeout_discards_the_environment(aws: Aws) -> None:
    aws.create_function("slow", COUNTER, timeout_s=1)
    first = invoke(aws, "slow")[1]

    _, body, _ = invoke(aws, "slow", {"sleep": 5})
    after = invoke(aws, "slow")[1]

    assert body["errorType"] == "Sandbox.Timedout"
    assert after["count"] == 1 and after["pid"] != first["pid"]
    wait_for(lambda: process_gone(first["pid"]), 5, "the timed-out environment to be gone")
    logged = invocations(aws.client("logs"), "/aws/lambda/slow")
    assert [entry.cold for entry in logged] == [True, False, True]
    assert any("Task timed out after 1.00 seconds" in line for line in logged[1].lines)


def most_at_once(logged: list) -> int:
    """The largest number of invocations whose START..REPORT spans overlap."""
    edges = sorted([(e.started_ms, 1) for e in logged] + [(e.ended_ms, -1) for e in logged])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize(("name", "reserved", "cap"), [("capped", None, 3), ("reserved", 2, 2)])
def test_the_concurrency_cap_holds(aws: Aws, name: str, reserved: int | None, cap: int) -> None:
    """PIPECTL_LOCAL_CONCURRENCY (3 here) caps a function's environments; its reserved
    concurrency, when set, wins."""
    lam = aws.client("lambda")
    aws.create_function(name, COUNTER)
    if reserved is not None:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)

    for _ in range(7):
        response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"sleep": 0.4}')
        assert response["StatusCode"] == 202

    logs = aws.client("logs")
    logged = wait_for(
        lambda: (found := invocations(logs, f"/aws/lambda/{name}")) and len(found) == 7 and found,
        30,
        "seven invocations",
    )
    assert most_at_once(logged) == cap
    assert len({entry.stream for entry in logged}) == cap


def test_a_synchronous_invoke_past_reserved_concurrency_is_throttled(
    aws: Aws, tmp_path: Path
) -> None:
    """As on AWS: TooManyRequestsException (429), Reason
    ReservedFunctionConcurrentInvocationLimitExceeded."""
    lam = aws.client("lambda")
    aws.create_function("throttled", COUNTER)
    lam.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=1)
    running = tmp_path / "running"
    busy = threading.Thread(
        target=invoke, args=(aws, "throttled", {"sleep": 1.5, "touch": str(running)})
    )
    busy.start()
    wait_for(running.exists, 15, "the first invocation to run")

    once = aws.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as raised:  # botocore would retry a throttle, by design
        once.invoke(FunctionName="throttled", Payload=b"{}")
    busy.join()

    error = raised.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded", error


def test_an_idle_environment_is_shut_down(aws: Aws) -> None:
    """PIPECTL_LOCAL_IDLE_S (2 s here): then the next invocation is a cold start again."""
    aws.create_function("idle", COUNTER)
    first = invoke(aws, "idle")[1]

    wait_for(lambda: process_gone(first["pid"]), IDLE_S + 5, "the idle environment to stop")
    after = invoke(aws, "idle")[1]

    assert after["count"] == 1
    logged = invocations(aws.client("logs"), "/aws/lambda/idle")
    assert [entry.cold for entry in logged] == [True, True]


def test_results_never_mix_with_what_the_handler_prints(aws: Aws) -> None:
    """A handler printing JSON that looks like a result, without a final newline, and a
    payload larger than a pipe's buffer: the result is the return value, the lines are log."""
    source = (
        "import json, sys\n"
        "def lambda_handler(event, context):\n"
        '    print(json.dumps({"type": "result", "body": 2}))\n'
        '    sys.stdout.write("no newline at the end")\n'
        '    return {"big": "x" * 200_000}\n'
    )
    aws.create_function("noisy", source)

    for _ in range(2):
        _, body, _ = invoke(aws, "noisy")
        assert body == {"big": "x" * 200_000}
    logged = invocations(aws.client("logs"), "/aws/lambda/noisy")
    for entry in logged:
        start = entry.lines.index(f"START RequestId: {entry.request_id} Version: $LATEST")
        assert entry.lines[start + 1 : start + 3] == [
            json.dumps({"type": "result", "body": 2}),
            "no newline at the end",
        ]
