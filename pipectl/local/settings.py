"""The emulator's knobs: environment variables read by the emulator process when it starts.

Standard library only (server.py checks them before it starts the emulator, so a bad value is a
usage error with exit code 2 instead of an emulator that dies in the background).

- `PIPECTL_LOCAL_CONCURRENCY` (default: twice the CPU count, from 2 to 8): at most this many
  execution environments per function run at once, unless the function has reserved
  concurrency, which wins. Each warm environment is a Python process holding boto3 (about
  40 MB). On 2 CPUs, 500 uploads in a burst finish in 14 s with 2, 8.4 s with 4, 8.3 s with 6
  and 9.5 s with 8 (benchmarks/emulator_burst.py): past twice the CPU count, more environments
  only add memory and contention.
- `PIPECTL_LOCAL_IDLE_S` (default 300): an environment unused this long is shut down. AWS does not
  document how long it keeps idle environments; observed lifetimes are 5 to 15 minutes. Five
  minutes keeps an edit-upload-look loop warm and bounds the memory a forgotten emulator holds.
- `PIPECTL_LOCAL_RETRY_DELAY_S` (default 1): the wait before the first retry of a failed
  asynchronous invocation; the second waits twice as long. AWS waits about 1 minute, then 2
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html): the same shape, 60 times
  faster, so a failed event reaches its on-failure destination in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pipectl.errors import UsageError

CONCURRENCY_VAR = "PIPECTL_LOCAL_CONCURRENCY"
IDLE_VAR = "PIPECTL_LOCAL_IDLE_S"
RETRY_DELAY_VAR = "PIPECTL_LOCAL_RETRY_DELAY_S"

DEFAULT_CONCURRENCY = min(8, max(2, 2 * (os.cpu_count() or 1)))
DEFAULT_IDLE_S = 300.0
DEFAULT_RETRY_DELAY_S = 1.0
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class Settings:
    concurrency: int = DEFAULT_CONCURRENCY
    idle_s: float = DEFAULT_IDLE_S
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S


def from_environ(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in `environ` (default: this process's environment); UsageError if one is
    not a number in its range."""
    environ = os.environ if environ is None else environ
    concurrency = _number(environ, CONCURRENCY_VAR, DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY)
    return Settings(
        concurrency=int(concurrency),
        idle_s=_number(environ, IDLE_VAR, DEFAULT_IDLE_S, 0.1, 86_400),
        retry_delay_s=_number(environ, RETRY_DELAY_VAR, DEFAULT_RETRY_DELAY_S, 0, 3_600),
    )


def _number(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    whole = name == CONCURRENCY_VAR
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        kind = "a whole number" if whole else "a number of seconds"
        raise UsageError(
            f"{name}={raw!r} is not {kind} from {low:g} to {high:g}",
            f"set {name} to such a value, or unset it for the default ({default:g})",
        )
    return value
