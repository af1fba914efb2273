"""What S3 checks when pipectl writes the bucket's notification configuration, checked first.

PutBucketNotificationConfiguration replaces the whole configuration, and S3 validates every entry
of it, not only pipectl's: "Amazon S3 first verifies that any Amazon SNS or Amazon SQS destination
exists, and that the bucket owner has permission to publish to it ... In the case of Lambda
destinations, Amazon S3 verifies that the Lambda function permissions grant Amazon S3 permission to
invoke the function" (API_PutBucketNotificationConfiguration). So a foreign entry that points at a
deleted function, or at a queue that does not let S3 send to it, breaks pipectl's write too, with
the same "Unable to validate the following destination configurations".

S3 also rejects two entries whose event types overlap when their key filters overlap: "Cannot have
overlapping suffixes in two rules if the prefixes are overlapping for the same event type"
(https://repost.aws/knowledge-center/lambda-s3-event-configuration-error; "overlapping prefixes
and suffixes are not supported", API_FilterRule). moto accepts such configurations: pipectl
computes the overlap itself.

The lookups (`read_destinations`) run in the trigger's `read`; everything else here is pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pipectl.aws import error_code
from pipectl.context import Context
from pipectl.resources.common import parallel_reads

# section -> (the key holding the target ARN, what it is, the action S3 needs on it)
TARGETS = {
    "LambdaFunctionConfigurations": (
        "LambdaFunctionArn",
        "Lambda function",
        "lambda:InvokeFunction",
    ),
    "QueueConfigurations": ("QueueArn", "SQS queue", "sqs:SendMessage"),
    "TopicConfigurations": ("TopicArn", "SNS topic", "sns:Publish"),
}
LAMBDA_MISSING = {"ResourceNotFoundException"}
QUEUE_MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
TOPIC_MISSING = {"NotFound", "NotFoundException"}


@dataclass(frozen=True)
class Entry:
    """One entry of a notification configuration, whatever its destination type."""

    id: str
    kind: str  # "Lambda function", "SQS queue", "SNS topic"
    target: str
    action: str
    events: tuple[str, ...]
    prefix: str
    suffix: str

    def describe(self) -> str:
        rules = (("prefix", self.prefix), ("suffix", self.suffix))
        filters = "".join(f", {name} {value!r}" for name, value in rules if value)
        return f"entry {self.id!r} ({', '.join(self.events)}{filters} -> {self.kind} {self.target})"


@dataclass(frozen=True)
class Destination:
    """What a lookup found for a destination in this account: whether it exists and whether its
    policy lets S3 deliver to it (None: not known, e.g. the policy could not be read)."""

    exists: bool
    allows_s3: bool | None = None


def entries(configuration: dict[str, Any]) -> list[Entry]:
    found = []
    for section, (arn_key, kind, action) in TARGETS.items():
        for raw in configuration.get(section, []):
            rules = raw.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            values = {r["Name"].lower(): r["Value"] for r in rules if r.get("Value")}
            found.append(
                Entry(
                    id=str(raw.get("Id", "")),
                    kind=kind,
                    target=str(raw.get(arn_key, "")),
                    action=action,
                    events=tuple(raw.get("Events", [])),
                    prefix=values.get("prefix", ""),
                    suffix=values.get("suffix", ""),
                )
            )
    return found


# Overlap, by S3's rules ---------------------------------------------------------------------


def event_overlap(a: str, b: str) -> bool:
    """s3:ObjectCreated:* covers s3:ObjectCreated:Put; equal types overlap."""
    if a == b:
        return True
    for wide, narrow in ((a, b), (b, a)):
        if wide.endswith(":*") and narrow.startswith(wide[:-1]):
            return True
    return False


def overlap(a: Entry, b: Entry) -> str | None:
    """The event type both fire on when some key would match both filters, else None. A key can
    start with both prefixes only if one is a prefix of the other, and end with both suffixes
    only if one is a suffix of the other; when both hold, the longer prefix followed by the
    longer suffix is such a key (S3's filters are case-sensitive)."""
    prefixes_nest = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
    suffixes_nest = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
    if not (prefixes_nest and suffixes_nest):
        return None
    return next((x for x in a.events for y in b.events if event_overlap(x, y)), None)


def example_key(a: Entry, b: Entry) -> str:
    prefix = max(a.prefix, b.prefix, key=len)
    suffix = max(a.suffix, b.suffix, key=len)
    return f"{prefix}…{suffix}" if prefix or suffix else "any key"


# Destinations ---------------------------------------------------------------------------------


def checkable(ctx: Context, arn: str) -> bool:
    """Only destinations in this account and region can be looked up (and S3 requires them in
    the bucket's region anyway)."""
    parts = arn.split(":")
    return len(parts) >= 6 and parts[3] == ctx.region and parts[4] == ctx.account_id


def read_destinations(ctx: Context, foreign: list[Entry]) -> dict[str, Destination]:
    """Look up every foreign entry's destination in this account, side by side."""
    readers = {e.target: (lambda e=e: look_up(ctx, e)) for e in foreign if checkable(ctx, e.target)}
    return parallel_reads(readers)


def look_up(ctx: Context, entry: Entry) -> Destination:
    if entry.kind == "Lambda function":
        return look_up_function(ctx, entry)
    if entry.kind == "SQS queue":
        return look_up_queue(ctx, entry)
    return look_up_topic(ctx, entry)


def look_up_function(ctx: Context, entry: Entry) -> Destination:
    """GetPolicy answers ResourceNotFoundException both for a missing function and for one with
    no resource policy: GetFunction tells the two apart."""
    lam = ctx.client("lambda")
    try:
        policy = json.loads(lam.get_policy(FunctionName=entry.target)["Policy"])
    except Exception as exc:
        if error_code(exc) not in LAMBDA_MISSING:
            raise
        try:
            lam.get_function(FunctionName=entry.target)
        except Exception as missing:
            if error_code(missing) in LAMBDA_MISSING:
                return Destination(exists=False)
            raise
        return Destination(exists=True, allows_s3=False)
    return Destination(exists=True, allows_s3=allows_s3(ctx, policy, entry))


def look_up_queue(ctx: Context, entry: Entry) -> Destination:
    sqs = ctx.client("sqs")
    _, _, _, _, account, name = entry.target.split(":", 5)
    try:
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    except Exception as exc:
        if error_code(exc) in QUEUE_MISSING:
            return Destination(exists=False)
        raise
    policy = attributes.get("Attributes", {}).get("Policy")
    return Destination(exists=True, allows_s3=allows_s3(ctx, parse(policy), entry))


def look_up_topic(ctx: Context, entry: Entry) -> Destination:
    try:
        attributes = ctx.client("sns").get_topic_attributes(TopicArn=entry.target)
    except Exception as exc:
        if error_code(exc) in TOPIC_MISSING:
            return Destination(exists=False)
        raise
    policy = attributes.get("Attributes", {}).get("Policy")
    return Destination(exists=True, allows_s3=allows_s3(ctx, parse(policy), entry))


def parse(policy: str | None) -> dict[str, Any]:
    return json.loads(policy) if policy else {}


def allows_s3(ctx: Context, policy: dict[str, Any], entry: Entry) -> bool:
    """Whether some Allow statement could let s3.amazonaws.com perform the entry's action from
    this bucket. Lenient on purpose: a condition pipectl does not model counts as satisfied, so
    only a destination that certainly refuses S3 is reported."""
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return any(statement_allows(ctx, s, entry) for s in statements)


def statement_allows(ctx: Context, statement: dict[str, Any], entry: Entry) -> bool:
    if statement.get("Effect") != "Allow" or not s3_principal(statement.get("Principal")):
        return False
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    if not any(fnmatchcase(entry.action.lower(), str(a).lower()) for a in actions):
        return False
    conditions = {
        key.lower(): value
        for block in (statement.get("Condition") or {}).values()
        for key, value in block.items()
    }
    source_arn = conditions.get("aws:sourcearn")
    if source_arn is not None and not any(
        fnmatchcase(ctx.bucket_arn, pattern) for pattern in as_list(source_arn)
    ):
        return False
    source_account = conditions.get("aws:sourceaccount")
    return source_account is None or ctx.account_id in as_list(source_account)


def s3_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return "s3.amazonaws.com" in as_list(principal.get("Service")) or "*" in as_list(
        principal.get("AWS")
    )


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# Problems --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason S3 would refuse the configuration: what, and how to fix it."""

    message: str
    fix: str


def destination_problems(
    foreign: list[Entry], destinations: dict[str, Destination]
) -> list[Problem]:
    problems = []
    for entry in foreign:
        found = destinations.get(entry.target)
        if found is None:
            continue  # another account or region: not checkable from here
        if not found.exists:
            problems.append(
                Problem(
                    f"{entry.describe()}: the {entry.kind} does not exist, and S3 validates "
                    "every entry of the configuration pipectl must write",
                    f"remove entry {entry.id!r} from the bucket's notifications, or create "
                    f"{entry.target} again",
                )
            )
        elif found.allows_s3 is False:
            problems.append(
                Problem(
                    f"{entry.describe()}: the {entry.kind}'s policy does not let s3.amazonaws.com "
                    f"{entry.action} from this bucket, and S3 validates every entry of the "
                    "configuration pipectl must write",
                    f"grant s3.amazonaws.com {entry.action} on {entry.target} (aws:SourceArn = "
                    f"the bucket), or remove entry {entry.id!r}",
                )
            )
    return problems


def overlap_problems(ours: Entry, foreign: list[Entry]) -> list[Problem]:
    problems = []
    for entry in foreign:
        event = overlap(ours, entry)
        if event is None:
            continue
        problems.append(
            Problem(
                f"{entry.describe()} overlaps pipectl's trigger for {event} (both match "
                f"{example_key(ours, entry)}): S3 rejects overlapping prefixes and suffixes for "
                "the same event type as ambiguous",
                f"set trigger.prefix / trigger.suffix so they do not overlap entry {entry.id!r}, "
                "or narrow or remove that entry",
            )
        )
    return problems
