"""An aws CLI (v1) plugin for the benchmarks: the same injected latency as pipectl's botocore hook,
and a log of every API operation, so both tools are measured the same way.

Loaded by `aws` through its config file (`[plugins]` section, see bench_up.aws_cli_env):
  PIPECTL_BENCH_LATENCY_MS  sleep this long before every HTTP request (0: none)
  PIPECTL_BENCH_CALL_LOG    append `service.Operation` per API call to this file
"""

from __future__ import annotations

import os
import time
from typing import Any


def awscli_initialize(event_hooks: Any) -> None:
    latency_s = float(os.environ.get("PIPECTL_BENCH_LATENCY_MS", "0") or 0) / 1000
    call_log = os.environ.get("PIPECTL_BENCH_CALL_LOG")

    def delay(**_: Any) -> None:
        time.sleep(latency_s)

    def record(model: Any, **_: Any) -> None:
        with open(call_log, "a", encoding="utf-8") as log:  # type: ignore[arg-type]
            log.write(f"{model.service_model.service_name}.{model.name}\n")

    if latency_s > 0:
        event_hooks.register("before-send.*.*", delay)
    if call_log:
        event_hooks.register("before-parameter-build.*.*", record)
