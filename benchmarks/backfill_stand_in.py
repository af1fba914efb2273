"""AWS's side of `pipectl backfill`, answered inside this process at no server CPU: the model is
benchmarks/handler_throughput.py's stand-in.

A botocore `before-send` handler (registered first on every client pipectl makes, through
Runtime(hooks=...)) sleeps the injected latency, then answers the request with a real wire-format
response, which botocore parses as usual; the HTTP send is skipped. It answers:

* S3 ListObjectsV2: XML pages of up to MaxKeys (1,000) objects -- Key, LastModified in S3's
  format, ETag, Size, StorageClass -- honouring Prefix, Delimiter (CommonPrefixes), MaxKeys,
  ContinuationToken, StartAfter and EncodingType=url as S3 documents them
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). The pages pipectl
  asks for are rendered before the clock starts (`prerender`): that is S3's work, not pipectl's.
* DynamoDB BatchGetItem: no item found, nothing unprocessed (an empty table).
* Lambda Invoke: 202 and an empty body, as Lambda answers an asynchronous invoke once queued.
* The preflight's reads, once per run: STS GetCallerIdentity, S3 HeadBucket and
  GetBucketVersioning (not versioned), DynamoDB DescribeTable, Lambda GetFunctionConfiguration.

Any other request raises. Request bodies are only kept during a run; `check` reads them after
the clock stops: every listed key asked of DynamoDB once, and sent to Lambda once, unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit
from xml.sax.saxutils import escape

from botocore.awsrequest import AWSResponse

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"serverless-data-input-{ACCOUNT}-{REGION}"
TABLE = "ProcessedResults"
FUNCTION = "serverless-data-processor"
NOWHERE = "http://127.0.0.1:9"  # a closed port: a request the stand-in missed goes nowhere
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
FIRST_MODIFIED = datetime(2026, 11, 1, tzinfo=timezone.utc)
XML = {"Content-Type": "application/xml"}
AMZ_JSON = {"Content-Type": "application/x-amz-json-1.0"}
REST_JSON = {"Content-Type": "application/json"}
WHAT_IT_INCLUDES = (
    "(the stand-in answers in this process after the same latency: it includes all of pipectl's "
    "and botocore's work -- serializing, signing, parsing every response, the threads -- and not "
    "S3's, DynamoDB's or Lambda's, nor real network I/O or TLS; CPU is this process's, the "
    "stand-in's lookups included; counts and records checked)"
)
QUOTE = {'"': "&quot;"}  # S3 writes the ETag's quotes as entities


class StandInMismatch(Exception):
    """What pipectl sent or reported differs from what the stand-in listed."""


class Body(io.BytesIO):
    """A raw HTTP body as botocore reads it: `stream()` for a parsed body, `read()` for a
    streaming one (Invoke's Payload)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str  # with its quotes, as S3 lists it
    last_modified: str  # S3's format: 2026-11-01T00:00:07.000Z


def stored_objects(keys: list[str]) -> list[StoredObject]:
    """The bucket's objects, sorted as S3 lists them (by the keys' UTF-8 bytes)."""
    made = []
    for i, key in enumerate(keys):
        when = FIRST_MODIFIED + timedelta(seconds=i)
        etag = hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
        made.append(StoredObject(key, 1000 + i, f'"{etag}"', f"{when:%Y-%m-%dT%H:%M:%S}.000Z"))
    return sorted(made, key=lambda obj: obj.key.encode())


class Listing:
    """ListObjectsV2 over a fixed set of objects, rendered as S3's XML."""

    def __init__(self, keys: list[str]) -> None:
        self.objects = stored_objects(keys)
        self.sorted_keys = [obj.key.encode() for obj in self.objects]

    def page(
        self, prefix: str, delimiter: str, after: bytes | None, max_keys: int
    ) -> tuple[list[StoredObject], list[str], bytes | None]:
        """(objects, common prefixes, where the next page starts or None) for one request;
        a common prefix counts as one entry against max_keys, as on S3."""
        start = prefix.encode()
        i = bisect_left(self.sorted_keys, start)
        if after is not None:
            i = max(i, bisect_right(self.sorted_keys, after))
        contents: list[StoredObject] = []
        commons: list[str] = []
        last: bytes | None = None
        while i < len(self.sorted_keys) and self.sorted_keys[i].startswith(start):
            if len(contents) + len(commons) == max_keys:
                return contents, commons, last
            key = self.objects[i].key
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                commons.append(common)
                last = common.encode() + b"\xff"  # past every key under it (UTF-8 has no 0xff)
                i = bisect_left(self.sorted_keys, last)
                continue
            contents.append(self.objects[i])
            last = self.sorted_keys[i]
            i += 1
        return contents, commons, None

    def render(self, query: dict[str, str]) -> bytes:
        """The XML answer to one ListObjectsV2 request (its decoded query parameters)."""
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        token, start_after = query.get("continuation-token"), query.get("start-after")
        max_keys = min(int(query.get("max-keys", "1000")), 1000)
        after = base64.urlsafe_b64decode(token) if token else None
        if start_after and (after is None or start_after.encode() > after):
            after = start_after.encode()
        contents, commons, more = self.page(prefix, delimiter, after, max_keys)
        url = query.get("encoding-type") == "url"

        def enc(value: str) -> str:
            return escape(quote_plus(value, safe="/") if url else value)

        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{S3_XMLNS}">']
        parts.append(f"<Name>{BUCKET}</Name><Prefix>{enc(prefix)}</Prefix>")
        if token:
            parts.append(f"<ContinuationToken>{escape(token)}</ContinuationToken>")
        if more is not None:
            next_token = base64.urlsafe_b64encode(more).decode()
            parts.append(f"<NextContinuationToken>{next_token}</NextContinuationToken>")
        if start_after:
            parts.append(f"<StartAfter>{enc(start_after)}</StartAfter>")
        parts.append(f"<KeyCount>{len(contents) + len(commons)}</KeyCount>")
        parts.append(f"<MaxKeys>{max_keys}</MaxKeys>")
        if delimiter:
            parts.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
        if url:
            parts.append("<EncodingType>url</EncodingType>")
        parts.append(f"<IsTruncated>{'true' if more is not None else 'false'}</IsTruncated>")
        for obj in contents:
            parts.append(
                f"<Contents><Key>{enc(obj.key)}</Key><LastModified>{obj.last_modified}"
                f"</LastModified><ETag>{escape(obj.etag, QUOTE)}</ETag>"
                f"<Size>{obj.size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
            )
        for common in commons:
            parts.append(f"<CommonPrefixes><Prefix>{enc(common)}</Prefix></CommonPrefixes>")
        parts.append("</ListBucketResult>")
        return "".join(parts).encode()


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def cache_key(query: dict[str, str]) -> tuple[str, ...]:
    names = ("prefix", "delimiter", "continuation-token", "start-after", "max-keys")
    return (*(query.get(name, "") for name in names), query.get("encoding-type", ""))


class StandIn:
    """The stand-in for one bucket of `keys`; `hook` goes in Runtime(hooks=[...])."""

    def __init__(self, keys: list[str], latency_ms: float = 0.0) -> None:
        self.listing = Listing(keys)
        self.latency_s = latency_ms / 1000
        self.pages: dict[tuple[str, ...], bytes] = {}
        self.rendered_late = 0  # pages rendered during a run (not pre-rendered)
        self.batch_gets: list[bytes] = []
        self.invokes: list[tuple[str, str, bytes]] = []  # (url, invocation type, payload)
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.answers: dict[str, Callable[[Any], AWSResponse]] = {
            "ListObjectsV2": self.list_objects,
            "BatchGetItem": self.batch_get_item,
            "Invoke": self.invoke,
            "GetCallerIdentity": canned(200, XML, caller_identity()),
            "HeadBucket": canned(200, {"x-amz-bucket-region": REGION}, b""),
            "GetBucketVersioning": canned(
                200, XML, f'<VersioningConfiguration xmlns="{S3_XMLNS}"/>'.encode()
            ),
            "DescribeTable": canned(200, AMZ_JSON, json.dumps(table_description()).encode()),
            "GetFunctionConfiguration": canned(
                200, REST_JSON, json.dumps(function_config()).encode()
            ),
        }
        empty = {"Responses": {TABLE: []}, "UnprocessedKeys": {}}
        self.nothing_found = json.dumps(empty).encode()

    def hook(self, client: Any) -> None:
        client.meta.events.register_first("before-send", self.answer)

    def prerender(self) -> None:
        """Every page pipectl's listing can ask for with S3's default page size: each prefix
        ending in "/" (and the whole bucket), with and without the "/" delimiter, following
        the continuation tokens."""
        prefixes = {""}
        for obj in self.listing.objects:
            prefixes.update(obj.key[: i + 1] for i, c in enumerate(obj.key) if c == "/")
        for prefix in prefixes:
            for delimiter in ("", "/"):
                query = {"prefix": prefix, "encoding-type": "url"}
                if delimiter:
                    query["delimiter"] = delimiter
                while True:
                    body = self.listing.render(query)
                    self.pages[cache_key(query)] = body
                    if b"<NextContinuationToken>" not in body:
                        break
                    token = body.split(b"<NextContinuationToken>")[1].split(b"<")[0]
                    query = {**query, "continuation-token": token.decode()}

    def reset(self) -> None:
        self.batch_gets.clear()
        self.invokes.clear()
        self.calls.clear()
        self.rendered_late = 0

    def answer(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        if self.latency_s:
            time.sleep(self.latency_s)
        respond = self.answers.get(operation)
        if respond is None:
            raise StandInMismatch(f"the stand-in has no answer for {event_name}")
        with self.lock:
            self.calls[operation] += 1
        return respond(request)

    def list_objects(self, request: Any) -> AWSResponse:
        query = query_of(request.url)
        body = self.pages.get(cache_key(query))
        if body is None:
            body = self.listing.render(query)
            with self.lock:
                self.rendered_late += 1
        return AWSResponse(request.url, 200, XML, Body(body))

    def batch_get_item(self, request: Any) -> AWSResponse:
        self.batch_gets.append(bytes(request.body))
        return AWSResponse(request.url, 200, AMZ_JSON, Body(self.nothing_found))

    def invoke(self, request: Any) -> AWSResponse:
        kind = request.headers.get("X-Amz-Invocation-Type", b"")
        kind = kind.decode() if isinstance(kind, bytes) else kind
        self.invokes.append((request.url, kind, bytes(request.body)))
        return AWSResponse(request.url, 202, {"Content-Length": "0"}, Body(b""))

    def check(self, doc: dict[str, Any], batch_size: int = 100) -> None:
        """Raise StandInMismatch unless the run sent what was listed, unchanged, once each."""
        listed = {obj.key: obj for obj in self.listing.objects}
        count = len(listed)
        invocations = -(-count // batch_size)
        want = {"objects": count, "dispatched": count, "invocations": invocations, "failed": 0}
        got = {name: doc.get(name) for name in want}
        if got != want:
            raise StandInMismatch(f"pipectl reported {got}, the stand-in listed {want}")
        asked = Counter(key for body in self.batch_gets for key in asked_keys(body))
        if asked != Counter(list(listed)):
            raise StandInMismatch(
                f"BatchGetItem asked for {sum(asked.values())} keys, not each "
                f"of the {count} listed once"
            )
        sent: Counter[str] = Counter()
        for url, kind, payload in self.invokes:
            if kind != "Event" or f"/functions/{FUNCTION}/invocations" not in url:
                raise StandInMismatch(f"an Invoke of {url} with type {kind!r}, not Event")
            for record in json.loads(payload)["Records"]:
                key = unquote_plus(record["s3"]["object"]["key"])
                obj = listed.get(key)
                if obj is None or not same_object(record, obj):
                    raise StandInMismatch(f"a record for {key!r} does not match the listing")
                sent[key] += 1
        if sent != Counter(list(listed)):
            raise StandInMismatch(f"{sum(sent.values())} records sent, not each of {count} once")
        if self.calls["Invoke"] != invocations:
            raise StandInMismatch(f"{self.calls['Invoke']} Invoke calls, not {invocations}")


def asked_keys(body: bytes) -> list[str]:
    request = json.loads(body)["RequestItems"]
    if set(request) != {TABLE}:
        raise StandInMismatch(f"BatchGetItem asked tables {sorted(request)}, not {TABLE}")
    return [key["file_name"]["S"] for key in request[TABLE]["Keys"]]


def same_object(record: dict[str, Any], obj: StoredObject) -> bool:
    s3_object = record["s3"]["object"]
    return (
        s3_object["size"] == obj.size
        and s3_object["eTag"] == obj.etag.strip('"')
        and record["eventTime"] == obj.last_modified
        and record["s3"]["bucket"]["name"] == BUCKET
    )


def canned(status: int, headers: dict[str, str], body: bytes) -> Callable[[Any], AWSResponse]:
    def respond(request: Any) -> AWSResponse:
        return AWSResponse(request.url, status, headers, Body(body))

    return respond


def caller_identity() -> bytes:
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>arn:aws:iam::{ACCOUNT}:user/bench</Arn>"
        f"<UserId>AIDABENCHSTANDIN</UserId><Account>{ACCOUNT}</Account>"
        "</GetCallerIdentityResult><ResponseMetadata><RequestId>stand-in</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


def table_description() -> dict[str, Any]:
    return {
        "Table": {
            "TableName": TABLE,
            "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
            "TableStatus": "ACTIVE",
            "KeySchema": [{"AttributeName": "file_name", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "file_name", "AttributeType": "S"}],
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "ItemCount": 0,
        }
    }


def function_config() -> dict[str, Any]:
    return {
        "FunctionName": FUNCTION,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
        "Runtime": "python3.12",
        "Handler": "app.lambda_handler",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/LabRole",
        "State": "Active",
        "LastUpdateStatus": "Successful",
    }
