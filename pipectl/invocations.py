"""Log correlation: group a function's log lines into invocations by request id, the way Lambda
writes them (a stream holds one invocation at a time, framed by START and REPORT)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipectl.logs import LogEvent, handler_fields, is_error, request_id_of


@dataclass
class Invocation:
    """The log lines of one request id (a stream's lines between its START and REPORT)."""

    request_id: str | None
    events: list[LogEvent] = field(default_factory=list)

    @property
    def errors(self) -> list[LogEvent]:
        return [e for e in self.events if is_error(e.message)]

    def keys(self) -> set[str]:
        """The keys its handler lines name (the handler logs one line per record)."""
        found = set()
        for event in self.events:
            fields = handler_fields(event.message)
            if fields and fields.get("key"):
                found.add(str(fields["key"]))
        return found

    def mentions(self, forms: list[str]) -> bool:
        return any(form in e.message for e in self.events for form in forms)

    def has(self, prefix: str) -> bool:
        return any(e.message.startswith(prefix) for e in self.events)


def invocations(events: list[LogEvent]) -> list[Invocation]:
    """Group lines by request id: a line naming one belongs to it; any other line belongs to the
    invocation open in its stream (Lambda's streams hold one invocation at a time), which is how
    traceback lines without a request id are attributed."""
    groups: dict[str | None, Invocation] = {}
    open_in: dict[str, str] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        rid = request_id_of(event.message)
        if event.message.startswith("START RequestId:") and rid:
            open_in[event.stream] = rid
        owner = rid or open_in.get(event.stream)
        groups.setdefault(owner, Invocation(owner)).events.append(event)
        if event.message.startswith("REPORT RequestId:"):
            open_in.pop(event.stream, None)
    return list(groups.values())
