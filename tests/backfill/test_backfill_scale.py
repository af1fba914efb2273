"""A bucket of 10,000 objects on in-process moto: every object dispatched once, in 100-record
asynchronous invocations, with Lambda's Invoke answered by a recording hook (FakeLambda)."""

from __future__ import annotations

from backfill_helpers import document

from pipectl.backfill.records import PAYLOAD_LIMIT

COUNT = 10_000


def test_ten_thousand_objects(pipeline, cli, fake_lambda, runtime):
    keys = [f"archive/{i % 7}/{i // 7 % 13}/photo {i:05d}+é.jpg" for i in range(COUNT)]
    pipeline(keys)
    result = cli("backfill", "--yes", "--json")
    doc = document(result)
    assert result.exit_code == 0, result.stderr
    assert (doc["objects"], doc["dispatched"], doc["skipped"], doc["failed"]) == (
        COUNT,
        COUNT,
        0,
        0,
    )
    assert doc["invocations"] == len(fake_lambda.events) == COUNT // 100
    assert all(len(event["Records"]) == 100 for event in fake_lambda.events)
    assert max(fake_lambda.sizes) <= PAYLOAD_LIMIT
    sent = fake_lambda.keys
    assert len(sent) == COUNT and set(sent) == set(keys)  # each object once
    calls = runtime.last_aws.calls.summary()
    assert calls["dynamodb.BatchGetItem"] == COUNT // 100  # 100 keys a call
    assert calls["s3.ListObjectsV2"] >= COUNT // 1000  # the paginator, 1,000 keys a page
