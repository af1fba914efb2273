"""The one place that makes boto3 sessions and clients, counts and shows the calls they make, and
turns botocore errors into pipectl errors with a fix hint."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipectl import __version__
from pipectl.errors import AwsError, PipectlError

READ_PREFIXES = ("Get", "Describe", "List", "Head", "Scan", "Query", "BatchGet", "Filter")
DUMMY_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
SECRET_PARAM = re.compile(r"(secret|token|password|credential)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")

ClientHook = Callable[[Any], None]
READ_TIMEOUT_S = 70
T = TypeVar("T")


@dataclass(frozen=True)
class Target:
    """Where AWS calls go: profile, region, endpoint (None: AWS itself, or AWS_ENDPOINT_URL)."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    dummy_credentials: bool = False


@dataclass
class CallLog:
    """Every API operation pipectl made, in order (thread-safe)."""

    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str) -> None:
        with self.lock:
            self.calls.append(name)

    @property
    def mutating(self) -> list[str]:
        return [c for c in self.calls if not is_read(c)]

    @property
    def reads(self) -> list[str]:
        return [c for c in self.calls if is_read(c)]

    def summary(self) -> Counter[str]:
        return Counter(self.calls)


def is_read(call: str) -> bool:
    operation = call.split(".", 1)[-1]
    return operation.startswith(READ_PREFIXES)


class Aws:
    """Clients for one target, created once each and shared by the threads of a run.

    `hooks` are called with every new client: tests register botocore event handlers there to
    inject real AWS errors; `on_call` receives a one-line, secret-free description of each call.

    Creating a client is CPU work (~10-30 ms: loading and parsing the service model) that should
    overlap other threads' network waits. A client already made is returned without any lock, so
    a thread about to send a request never waits for another thread's client creation. Creating
    one is serialised: under the GIL, creations running side by side would all finish late
    together, while one at a time lets the first finish first (and its request leave); it also
    keeps botocore's session, which is not thread-safe (its shared parts are built lazily and
    unsynchronised, botocore PRs #2985 and #3727), to one creating thread at a time.
    """

    def __init__(
        self,
        target: Target,
        hooks: Iterable[ClientHook] = (),
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.hooks = list(hooks)
        self.on_call = on_call
        self.calls = CallLog()
        self._clients: dict[str, Any] = {}
        self._creating = threading.RLock()  # held while a client (or the session) is made
        self._session: Any = None

    def session(self) -> Any:
        with self._creating:
            return self._session_unlocked()

    def _session_unlocked(self) -> Any:
        if self._session is None:
            self._session = self._make_session()
        return self._session

    def _make_session(self) -> Any:
        """botocore's own session: boto3's adds nothing pipectl uses (resources, S3 transfer
        methods) but costs its import and, on the S3 client, s3transfer's. Its clients parse
        timestamps with pipectl.timestamps (the same datetimes, much less CPU per listing) and
        load their models with pipectl.model_loader (the same models, less CPU per client)."""
        import botocore.session

        from pipectl import model_loader, timestamps

        session = botocore.session.Session(profile=self.target.profile)
        timestamps.install(session)
        model_loader.install(session)
        session.set_config_variable("region", self.target.region)
        if self.target.dummy_credentials:
            session.set_credentials(*DUMMY_CREDENTIALS.values())
        return session

    def client(self, service: str, read_timeout: float | None = None) -> Any:
        """`read_timeout` (default 70 s) for a call that waits on work, such as a synchronous
        Invoke of a function that may run longer: a timed-out read would be retried."""
        key = service if read_timeout is None else f"{service}@{read_timeout:g}"
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._creating:
            if key not in self._clients:
                self._clients[key] = self._make_client(service, read_timeout or READ_TIMEOUT_S)
            return self._clients[key]

    def _make_client(self, service: str, read_timeout: float = READ_TIMEOUT_S) -> Any:
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            user_agent_extra=f"pipectl/{__version__}",
            connect_timeout=10,
            read_timeout=read_timeout,
            max_pool_connections=20,
        )
        kwargs: dict[str, Any] = {"config": config}
        if self.target.endpoint_url:
            kwargs["endpoint_url"] = self.target.endpoint_url
        try:
            client = self._session_unlocked().create_client(service, **kwargs)
        except Exception as exc:  # botocore.exceptions.ProfileNotFound and friends
            raise translate(exc) from None
        client.meta.events.register("before-parameter-build.*.*", self._record_call)
        client.meta.events.register("before-send.*.*", report_first_send)
        for hook in self.hooks:
            hook(client)
        return client

    def _record_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        self.calls.record(name)
        if self.on_call:
            self.on_call(f"{name} {describe_params(params)}".rstrip())

    def account_id(self) -> str:
        """The caller's account id (one STS call)."""
        return self.client("sts").get_caller_identity()["Account"]


# The work of this thread that waits to hear that its first request has left (`on_first_send`).
# Thread-local, as a botocore `before-send` handler runs in the thread sending the request.
_first_send = threading.local()


class CallOnce:
    """`fn`, called the first time this is, by whichever thread; later calls do nothing."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._called = False

    def __call__(self) -> None:
        with self._lock:
            if self._called:
                return
            self._called = True
        self._fn()


def on_first_send(work: Callable[[], T], sent: Callable[[], None]) -> Callable[[], T]:
    """`work`, made to call `sent` once: when the first AWS request it makes leaves (from its
    own thread, or from one it hands work to with `carrying_first_send`), or when it ends
    without having made one."""
    once = CallOnce(sent)
    reporting = reporting_to(once, work)

    def run() -> T:
        try:
            return reporting()
        finally:
            once()

    return run


def carrying_first_send(work: Callable[[], T]) -> Callable[[], T]:
    """`work`, to run in another thread: its first request counts as this thread's would."""
    callback = getattr(_first_send, "callback", None)
    return work if callback is None else reporting_to(callback, work)


def reporting_to(callback: Callable[[], None], work: Callable[[], T]) -> Callable[[], T]:
    """`work`, whose requests call `callback` as they leave, in whichever thread it runs."""

    def run() -> T:
        _first_send.callback = callback
        try:
            return work()
        finally:
            _first_send.callback = None

    return run


def report_first_send(**_: Any) -> None:
    """A botocore `before-send` handler on every client pipectl makes (see `on_first_send`)."""
    callback = getattr(_first_send, "callback", None)
    if callback is not None:
        callback()


def describe_params(params: dict[str, Any]) -> str:
    """Parameters as `Key=value`, secrets redacted and long values shortened, for -v output."""
    parts = []
    for key, value in params.items():
        parts.append(f"{key}={redact_value(key, value)}")
    return " ".join(parts)


def redact_value(key: str, value: Any) -> str:
    if SECRET_PARAM.search(key):
        return "***"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {redact_value(k, v)}" for k, v in value.items()) + "}"
    text = redact(str(value))
    return text if len(text) <= 80 else text[:77] + "..."


def redact(text: str) -> str:
    """Hide access key ids wherever they appear in text meant for a user."""
    return SECRET_VALUE.sub(lambda m: m.group(1) + "*" * 16, text)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
BAD_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
}


def translate(exc: BaseException, doing: str = "") -> PipectlError:
    """A botocore error as a PipectlError whose hint says what to do about it."""
    from botocore import exceptions as bx

    if isinstance(exc, PipectlError):
        return exc
    prefix = f"{doing}: " if doing else ""
    if isinstance(exc, bx.NoCredentialsError):
        return AwsError(
            f"{prefix}no AWS credentials found",
            "run `aws configure`, set AWS_PROFILE, pass --profile, or use --local for the emulator",
            "NoCredentials",
        )
    if isinstance(exc, bx.ProfileNotFound):
        return AwsError(f"{prefix}{exc}", "check --profile / AWS_PROFILE and ~/.aws/config")
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsError(
            f"{prefix}cannot reach {getattr(exc, 'kwargs', {}).get('endpoint_url', 'AWS')}",
            "check --endpoint-url / your network; for the emulator run `pipectl local start`",
        )
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError):
        return AwsError(f"{prefix}{redact(str(exc))}", "run `aws sso login` for this profile")
    code = error_code(exc)
    message = redact(error_message(exc))
    if code in EXPIRED_CODES:
        return AwsError(
            f"{prefix}your AWS session expired ({code})",
            "restart your lab session and refresh ~/.aws/credentials (or renew your credentials)",
            code,
        )
    if code in BAD_CREDENTIAL_CODES:
        return AwsError(
            f"{prefix}AWS rejected the credentials ({code})",
            "check the access key, secret and session token in ~/.aws/credentials",
            code,
        )
    if code in DENIED_CODES:
        return AwsError(
            f"{prefix}access denied: {message}",
            "your credentials lack this permission; ask an administrator or use another profile",
            code,
        )
    if isinstance(exc, bx.ClientError):
        return AwsError(f"{prefix}{code}: {message}", "", code)
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"{prefix}{redact(str(exc))}")
    return AwsError(f"{prefix}{type(exc).__name__}: {redact(str(exc))}")


def is_botocore_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)
