"""The benchmarks' injected latency and call log, the same for every tool measured:

- as an aws CLI (v1) plugin (`awscli_initialize`), loaded through the CLI's config file
  (`[plugins]` section, see bench_up.aws_cli);
- as a botocore client plugin (`initialize_client_plugin`), loaded by any botocore-based program
  through BOTOCORE_EXPERIMENTAL__PLUGINS=name=aws_latency_plugin with this folder on PYTHONPATH
  (pipectl and Chalice processes in bench_chalice.py).

  PIPECTL_BENCH_LATENCY_MS  sleep this long before every HTTP request (0: none)
  PIPECTL_BENCH_CALL_LOG    append `service.Operation` per API call to this file
"""

from __future__ import annotations

import os
import time
from typing import Any


def register(events: Any) -> None:
    latency_s = float(os.environ.get("PIPECTL_BENCH_LATENCY_MS", "0") or 0) / 1000
    call_log = os.environ.get("PIPECTL_BENCH_CALL_LOG")

    def delay(**_: Any) -> None:
        time.sleep(latency_s)

    def record(model: Any, **_: Any) -> None:
        with open(call_log, "a", encoding="utf-8") as log:  # type: ignore[arg-type]
            log.write(f"{model.service_model.service_name}.{model.name}\n")

    if latency_s > 0:
        events.register("before-send.*.*", delay)
    if call_log:
        events.register("before-parameter-build.*.*", record)


def awscli_initialize(event_hooks: Any) -> None:
    register(event_hooks)


def initialize_client_plugin(client: Any) -> None:
    register(client.meta.events)
