"""Shared fixtures: no test reaches a real AWS account or the network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_aws_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Dummy credentials, us-east-1, no profile or config files from the machine."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "PIPECTL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    empty = tmp_path_factory.mktemp("awsconfig") / "none"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server in this process (no Lambda execution), shared by the session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def moto_url(moto_endpoint: str) -> str:
    """The shared moto server, emptied before each test."""
    import urllib.request

    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    return moto_endpoint


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so no ./pipectl.yaml from elsewhere is picked up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


class FaultInjector:
    """Injects real AWS errors through botocore's event system: a `before-call` handler that
    returns a response short-circuits the call and botocore raises the matching ClientError.
    Pass `injector.hook` in Runtime.hooks (or Aws(hooks=...)); nothing is patched."""

    def __init__(self) -> None:
        self.rules: list[dict] = []
        self.fired: list[str] = []
        self.throttled: dict[str, int] = {}

    def add(
        self,
        operation: str,
        code: str,
        message: str = "",
        times: int | None = 1,
        status: int = 400,
        when=None,
        extra: dict | None = None,
    ) -> None:
        """`operation` like "lambda.CreateFunction"; `times` None means always; `extra` adds
        fields to the error as the service sends them (S3's ArgumentName1, ...)."""
        self.rules.append(
            {
                "operation": operation,
                "code": code,
                "message": message or code,
                "times": times,
                "status": status,
                "when": when,
                "extra": extra or {},
            }
        )

    def throttle(self, operation: str, times: int = 1) -> None:
        """Answer the next `times` HTTP attempts of `operation` with 503 Slow Down. Unlike `add`,
        this acts per attempt (before-send), so botocore's own retries absorb it."""
        self.throttled[operation] = times

    def hook(self, client) -> None:
        client.meta.events.register("before-call.*.*", self._before_call)
        client.meta.events.register("before-send.*.*", self._before_send)

    def _before_send(self, request, event_name, **_):
        from botocore.awsrequest import AWSResponse

        _, service_id, op = event_name.split(".", 2)  # before-send.<service-id>.<Operation>
        operation = next(
            (k for k in self.throttled if k.split(".")[1] == op and k.split(".")[0] in service_id),
            "",
        )
        if self.throttled.get(operation, 0) <= 0:
            return None
        self.throttled[operation] -= 1
        self.fired.append(f"throttled {operation}")
        return AWSResponse(request.url, 503, {}, _Body(b""))

    def _before_call(self, model, params, **_):
        from botocore.awsrequest import AWSResponse

        name = f"{model.service_model.service_name}.{model.name}"
        for rule in self.rules:
            if rule["operation"] != name or rule["times"] == 0:
                continue
            if rule["when"] is not None and not rule["when"](params):
                continue
            if rule["times"] is not None:
                rule["times"] -= 1
            self.fired.append(name)
            error = {
                "Error": {"Code": rule["code"], "Message": rule["message"], **rule["extra"]},
                "ResponseMetadata": {"HTTPStatusCode": rule["status"]},
            }
            return AWSResponse("https://fault.invalid", rule["status"], {}, None), error
        return None


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self):
        yield self.data


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector()


class FakeClock:
    """Time that passes only when slept: retries and deadlines run instantly in tests."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(faults: FaultInjector, fake_clock: FakeClock, tmp_path: Path):
    """A Runtime with the fault injector's hook and fake time, for CLI tests."""
    from pipectl.pipeline import Timing
    from pipectl.runtime import Runtime

    return Runtime(
        hooks=[faults.hook],
        timing=Timing(sleep=fake_clock.sleep, clock=fake_clock.clock),
        pipectl_home=tmp_path / "pipectl-home",
    )


@pytest.fixture
def cli(runtime, workdir):
    """Run pipectl in-process: cli("up", "--json", ...) -> click Result (stdout/stderr split).
    The app is the one `pipectl.cli.main` builds for these arguments (`app_for`)."""
    from typer.testing import CliRunner

    from pipectl.cli import app_for

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        app = app_for(list(args))
        return runner.invoke(app, list(args), obj=runtime, input=input, catch_exceptions=False)

    return invoke
