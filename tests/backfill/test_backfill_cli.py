"""`pipectl backfill` through the CLI on in-process moto, with Lambda's asynchronous Invoke
answered by a recording hook (moto would need Docker to run the function)."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import boto3
import pytest
from backfill_helpers import BUCKET, TABLE, document, small_pages, write_items

from pipectl.backfill.records import PAYLOAD_LIMIT

KEYS = [
    "a b.txt",
    "c+d.txt",
    "incoming/é/deep/x y+z.jpg",
    "incoming/photo.jpg",
    "logs/2026/11/28/app.log",
] + [f"bulk/{i % 3}/item-{i}.jpg" for i in range(25)]


def backfill(cli, *flags: str):
    result = cli("backfill", "--yes", "--json", *flags)
    return result, document(result)


def test_every_object_is_sent_once_in_batches(pipeline, cli, fake_lambda, runtime):
    pipeline(KEYS)
    runtime.hooks.append(small_pages(4))
    result, doc = backfill(cli, "--batch-size", "7")
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert {k: doc[k] for k in ("objects", "dispatched", "skipped", "failed")} == {
        "objects": 30,
        "dispatched": 30,
        "skipped": 0,
        "failed": 0,
    }
    assert sorted(fake_lambda.keys) == sorted(KEYS)
    assert doc["invocations"] == len(fake_lambda.events) >= 5  # 30 records, 7 at most each
    assert all(len(e["Records"]) <= 7 for e in fake_lambda.events)
    assert set(fake_lambda.invocation_types) == {"Event"}
    assert {r["pipectl"]["run_id"] for r in fake_lambda.records} == {doc["run_id"]}
    record = next(r for r in fake_lambda.records if r["s3"]["object"]["key"].startswith("c"))
    assert record["s3"]["object"]["key"] == "c%2Bd.txt"
    assert record["s3"]["bucket"]["name"] == BUCKET and record["awsRegion"] == "us-east-1"
    listings = runtime.last_aws.calls.summary()["s3.ListObjectsV2"]
    assert listings > 30 / 4  # more than one page per prefix


def test_objects_with_an_item_are_skipped_unless_all(pipeline, cli, fake_lambda, runtime):
    pipeline(KEYS)
    write_items(KEYS[:10])
    result, doc = backfill(cli)
    assert (doc["objects"], doc["dispatched"], doc["skipped"]) == (30, 20, 10)
    assert sorted(fake_lambda.keys) == sorted(KEYS[10:])
    batch_gets = runtime.last_aws.calls.summary()["dynamodb.BatchGetItem"]
    assert batch_gets == 1  # 30 keys: one call (100 a call)

    fake_lambda.events.clear()
    result, doc = backfill(cli, "--all")
    assert (doc["dispatched"], doc["skipped"]) == (30, 0)
    assert sorted(fake_lambda.keys) == sorted(KEYS)
    assert "dynamodb.BatchGetItem" not in runtime.last_aws.calls.summary()


def test_the_trigger_filter_and_the_flags_narrow_what_is_sent(pipeline, cli, fake_lambda):
    pipeline(KEYS, config="trigger:\n  prefix: incoming/\n  suffix: .jpg\n")
    result, doc = backfill(cli)
    assert result.exit_code == 0, result.stderr
    assert sorted(fake_lambda.keys) == ["incoming/photo.jpg", "incoming/é/deep/x y+z.jpg"]
    assert doc["objects"] == 2

    fake_lambda.events.clear()
    result, doc = backfill(cli, "--prefix", "incoming/é", "--all")
    assert fake_lambda.keys == ["incoming/é/deep/x y+z.jpg"]
    result, doc = backfill(cli, "--since", "2099-01-01T00:00:00Z", "--all")
    assert doc["objects"] == 0 and doc["dispatched"] == 0


def test_a_prefix_outside_the_trigger_sends_nothing_and_says_why(pipeline, cli, fake_lambda):
    pipeline(KEYS, config="trigger:\n  prefix: incoming/\n")
    result, doc = backfill(cli, "--prefix", "logs/")
    assert result.exit_code == 0 and doc["objects"] == 0
    assert "outside the trigger's prefix" in result.stderr
    assert fake_lambda.events == []


def test_dry_run_lists_and_invokes_nothing(pipeline, cli, fake_lambda, runtime):
    pipeline(KEYS)
    write_items(["a b.txt"])
    result = cli("backfill", "--dry-run", "--json")  # no --yes needed: nothing is sent
    doc = document(result)
    assert result.exit_code == 0, result.stderr
    assert doc["dry_run"] is True and doc["dispatched"] == 0 and doc["invocations"] == 0
    assert doc["would_dispatch"] == 29 and sorted(doc["keys"]) == sorted(KEYS[1:])
    assert fake_lambda.events == []
    assert "lambda.Invoke" not in runtime.last_aws.calls.summary()

    human = cli("backfill", "--dry-run")
    assert human.exit_code == 0
    assert "would send 29 of 30" in human.stderr and "nothing was invoked" in human.stderr


def test_big_batches_are_cut_under_the_async_payload_limit(pipeline, cli, fake_lambda):
    long_keys = [f"long/{i:03d}/" + "é" * 300 for i in range(300)]  # ~1.9 KB per record
    pipeline(long_keys)
    result, doc = backfill(cli, "--batch-size", "1000")
    assert result.exit_code == 0, result.stderr
    assert doc["dispatched"] == 300 and doc["invocations"] >= 3
    assert max(fake_lambda.sizes) <= PAYLOAD_LIMIT
    assert sorted(fake_lambda.keys) == sorted(long_keys)


def test_a_versioned_bucket_sends_version_ids(pipeline, cli, fake_lambda):
    pipeline([], config="bucket:\n  versioning: true\n", versioned=True)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key="v.txt", Body=b"1")
    current = s3.put_object(Bucket=BUCKET, Key="v.txt", Body=b"22")["VersionId"]
    result, doc = backfill(cli, "--all")
    assert result.exit_code == 0, result.stderr
    (record,) = fake_lambda.records
    assert record["s3"]["object"]["versionId"] == current and record["s3"]["object"]["size"] == 2


def test_human_output_summarises(pipeline, cli, fake_lambda):
    pipeline(KEYS)
    result = cli("backfill", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "30 dispatched" in result.stderr and "pipectl results" in result.stderr


def backfill_in_process(runtime, answer: bool, json_mode: bool = False):
    """data_commands.backfill with an injected confirmation (the CLI's asks on the terminal)."""
    from pipectl.commands import data as data_commands
    from pipectl.runtime import GlobalOptions
    from pipectl.ui import UI

    prompts: list[str] = []

    def confirm(prompt: str) -> bool:
        prompts.append(prompt)
        return answer

    code = data_commands.backfill(
        GlobalOptions(json=json_mode),
        UI(json_mode=json_mode),
        runtime,
        prefix="",
        since=None,
        everything=False,
        batch_size=100,
        concurrency=8,
        dry_run=False,
        confirm=confirm,
        can_ask=True,
    )
    return code, prompts


def test_a_declined_prompt_still_prints_the_whole_json_document(
    pipeline, runtime, fake_lambda, capsys
):
    """`--json` keeps its fields when the user says no, so a script reads them as for any run."""
    pipeline(KEYS)
    code, _ = backfill_in_process(runtime, False, json_mode=True)
    document = json.loads(capsys.readouterr().out)
    assert code == 1 and fake_lambda.events == []
    assert document["cancelled"] is True and document["ok"] is False
    for name in ("objects", "dispatched", "skipped", "invocations", "failed"):
        assert document[name] == 0, name


@pytest.mark.parametrize("answer", [False, True])
def test_it_asks_first(pipeline, runtime, fake_lambda, capsys, answer):
    pipeline(KEYS)
    code, prompts = backfill_in_process(runtime, answer)
    assert prompts == [
        f"Send every object with no item under s3://{BUCKET}/ to function "
        "serverless-data-processor? It runs on Lambda and is billed there"
    ]
    if answer:
        assert code == 0 and len(fake_lambda.records) == 30
    else:
        assert code == 1 and fake_lambda.events == []
        assert "cancelled: nothing was sent" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["function", "table"])
def test_a_missing_piece_is_named_before_anything_is_listed(pipeline, cli, runtime, missing):
    pipeline(KEYS)
    if missing == "function":
        boto3.client("lambda", region_name="us-east-1").delete_function(
            FunctionName="serverless-data-processor"
        )
    else:
        boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName=TABLE)
    result = cli("backfill", "--yes", "--json")
    assert result.exit_code == 1
    assert "does not exist" in json.loads(result.stdout)["error"]
    assert "pipectl up" in result.stderr
    assert "s3.ListObjectsV2" not in runtime.last_aws.calls.summary()


def test_records_decode_to_the_listed_keys(pipeline, cli, fake_lambda):
    pipeline(KEYS)
    backfill(cli)
    assert {unquote_plus(r["s3"]["object"]["key"]) for r in fake_lambda.records} == set(KEYS)
