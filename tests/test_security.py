"""The security posture `up` sets (the default lifecycle rule, the role's trust condition) and
`security: strict`, read back from the shared moto server after `up`, through the real CLI.

What moto does not support is said where it matters: UpdateTable ignores SSESpecification (only
CreateTable's is kept), so switching an existing table to KMS is checked by the call pipectl
makes, not by reading it back.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

BUCKET = "serverless-data-input-123456789012-us-east-1"
TABLE = "ProcessedResults"
LOG_GROUP = "/aws/lambda/serverless-data-processor"
ROLE = "pipectl-serverless-data-lambda"
ABORT = {
    "ID": "pipectl-abort-incomplete-uploads",
    "Status": "Enabled",
    "Filter": {},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
NONCURRENT = {
    "ID": "pipectl-expire-noncurrent-versions",
    "Status": "Enabled",
    "Filter": {},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
}
THEIR_RULE = {
    "ID": "archive-logs",
    "Status": "Enabled",
    "Filter": {"Prefix": "logs/"},
    "Expiration": {"Days": 90},
}


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def run(cli, url: str, command: str, *extra: str):
    result = cli(command, "--endpoint-url", url, "--json", *extra)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def up_ok(cli, url: str) -> dict:
    result, doc = run(cli, url, "up")
    assert result.exit_code == 0, result.stderr
    return doc


def by_kind(doc, field: str = "action") -> dict[str, str]:
    return {c["resource"]: c[field] for c in doc["changes"]}


def strict(workdir: Path, level: str = "strict") -> None:
    (workdir / "pipectl.yaml").write_text(f"security: {level}\n")


def rules(url: str) -> list[dict]:
    return client("s3", url).get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]


def normalized(rule: dict) -> dict:
    return {**rule, "Filter": {} if rule.get("Filter") in ({}, {"Prefix": ""}) else rule["Filter"]}


# --- the default posture ----------------------------------------------------------------------


def test_by_default_incomplete_uploads_are_aborted_after_7_days(cli, moto_url):
    """prowler s3_bucket_lifecycle_enabled; AbortIncompleteMultipartUpload in
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html"""
    up_ok(cli, moto_url)
    assert [normalized(r) for r in rules(moto_url)] == [ABORT]
    versioning = client("s3", moto_url).get_bucket_versioning(Bucket=BUCKET)
    assert versioning.get("Status") is None  # standard: versioning per bucket.versioning (off)


def test_the_created_role_trusts_lambda_only_for_this_account(cli, moto_url):
    """prowler iam_role_cross_service_confused_deputy_prevention: aws:SourceAccount on the
    service principal's trust statement."""
    up_ok(cli, moto_url)
    trust = client("iam", moto_url).get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    [statement] = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_an_adopted_buckets_lifecycle_rules_are_kept_and_only_pipectls_removed(cli, moto_url):
    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [THEIR_RULE]}
    )
    doc = up_ok(cli, moto_url)
    assert (
        "lifecycle rule pipectl-abort-incomplete-uploads missing"
        in by_kind(doc, "detail")["bucket"]
    )
    assert [normalized(r) for r in rules(moto_url)] == [THEIR_RULE, ABORT]

    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert by_kind(doc)["bucket"] == "update"
    assert by_kind(doc, "detail")["bucket"] == (
        "not created by pipectl: only pipectl's lifecycle rules removed"
    )
    assert [normalized(r) for r in rules(moto_url)] == [THEIR_RULE]


def test_a_changed_or_removed_rule_is_drift_and_up_restores_it(cli, moto_url):
    up_ok(cli, moto_url)
    client("s3", moto_url).delete_bucket_lifecycle(Bucket=BUCKET)
    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 1
    [row] = [r for r in doc["resources"] if r["resource"] == "bucket"]
    assert row["drift"] == ["lifecycle rule pipectl-abort-incomplete-uploads missing"]
    up_ok(cli, moto_url)
    assert [normalized(r) for r in rules(moto_url)] == [ABORT]


# --- security: strict ---------------------------------------------------------------------------


def read_back(url: str) -> dict:
    s3, ddb, logs = client("s3", url), client("dynamodb", url), client("logs", url)
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    table = ddb.describe_table(TableName=TABLE)["Table"]
    backups = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    [group] = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    return {
        "versioning": s3.get_bucket_versioning(Bucket=BUCKET).get("Status"),
        "lifecycle": [normalized(r) for r in rules(url)],
        "encryption": encryption["Rules"],
        "table_sse": {k: table.get("SSEDescription", {}).get(k) for k in ("Status", "SSEType")},
        "deletion_protection": table["DeletionProtectionEnabled"],
        "pitr": backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "retention": group["retentionInDays"],
    }


STRICT = {
    "versioning": "Enabled",
    "lifecycle": [ABORT, NONCURRENT],
    "encryption": [
        {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
            "BucketKeyEnabled": True,
        }
    ],
    "table_sse": {"Status": "ENABLED", "SSEType": "KMS"},
    "deletion_protection": True,
    "pitr": "ENABLED",
    "retention": 365,
}


def test_strict_sets_every_setting_and_a_second_up_changes_nothing(cli, moto_url, workdir, runtime):
    strict(workdir)
    doc = up_ok(cli, moto_url)
    assert set(by_kind(doc).values()) == {"create"}
    assert read_back(moto_url) == STRICT
    # SSE under the AWS-managed key: SSE-KMS without a key id (S3 and DynamoDB alike).
    assert "KMSMasterKeyID" not in STRICT["encryption"][0]["ApplyServerSideEncryptionByDefault"]

    doc = up_ok(cli, moto_url)
    assert set(by_kind(doc).values()) == {"unchanged"}, doc
    assert runtime.last_aws.calls.mutating == []
    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 0 and doc["in_sync"] is True, doc


def test_switching_to_strict_shows_each_setting_as_drift_and_up_converges(
    cli, moto_url, workdir, runtime
):
    up_ok(cli, moto_url)
    strict(workdir)
    result, doc = run(cli, moto_url, "status")
    assert result.exit_code == 1
    drift = {r["resource"]: r["drift"] for r in doc["resources"]}
    assert drift["bucket"] == [
        "encryption AES256, want aws:kms (security: strict)",
        "versioning off, want Enabled (security: strict)",
        "lifecycle rule pipectl-expire-noncurrent-versions missing",
    ]
    assert drift["table"] == [
        "encryption an AWS owned key, want KMS (security: strict)",
        "deletion protection off, want on (security: strict)",
        "point-in-time recovery off, want on (security: strict)",
    ]
    assert drift["log_group"] == ["retention 14 days, want 365 days (security: strict)"]

    sse_requests: list[dict] = []

    def capture(aws_client) -> None:
        def keep(params, **_) -> None:
            if "SSESpecification" in params:
                sse_requests.append(params["SSESpecification"])

        aws_client.meta.events.register("before-parameter-build.dynamodb.UpdateTable", keep)

    runtime.hooks.append(capture)
    up_ok(cli, moto_url)
    got = read_back(moto_url)
    assert {k: v for k, v in got.items() if k != "table_sse"} == {
        k: v for k, v in STRICT.items() if k != "table_sse"
    }
    # moto's UpdateTable drops SSESpecification: the request is what can be checked.
    assert sse_requests == [{"Enabled": True, "SSEType": "KMS"}]


def test_back_to_standard_undoes_what_standard_defines_and_leaves_table_protection(
    cli, moto_url, workdir
):
    strict(workdir)
    up_ok(cli, moto_url)
    strict(workdir, "standard")
    doc = up_ok(cli, moto_url)
    assert (
        "lifecycle rule pipectl-expire-noncurrent-versions present, not wanted"
        in by_kind(doc, "detail")["bucket"]
    )
    got = read_back(moto_url)
    assert got["lifecycle"] == [ABORT]
    assert got["encryption"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert got["versioning"] == "Suspended"  # a versioned bucket can only be suspended
    assert got["retention"] == 14
    assert (got["deletion_protection"], got["pitr"]) == (True, "ENABLED")  # not standard's call


def test_down_lifts_deletion_protection_of_its_own_table_first(cli, moto_url, workdir, runtime):
    strict(workdir)
    up_ok(cli, moto_url)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert by_kind(doc, "detail")["table"] == "holds no items; its deletion protection lifted first"
    made = runtime.last_aws.calls.mutating
    assert made.index("dynamodb.UpdateTable") < made.index("dynamodb.DeleteTable")
    assert client("dynamodb", moto_url).list_tables()["TableNames"] == []


def test_down_never_lifts_the_protection_of_a_table_it_did_not_create(
    cli, moto_url, workdir, runtime
):
    client("dynamodb", moto_url).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
    )
    strict(workdir)
    up_ok(cli, moto_url)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert by_kind(doc)["table"] == "keep"
    assert "dynamodb.UpdateTable" not in runtime.last_aws.calls.mutating
    table = client("dynamodb", moto_url).describe_table(TableName=TABLE)["Table"]
    assert table["DeletionProtectionEnabled"] is True


def test_pitr_on_a_table_made_seconds_ago_is_retried(cli, moto_url, workdir, faults, fake_clock):
    """AWS answers ContinuousBackupsUnavailableException ("Backups are being enabled for the
    table") to UpdateContinuousBackups while a new table's backups are still being set up."""
    strict(workdir)
    faults.add(
        "dynamodb.UpdateContinuousBackups",
        "ContinuousBackupsUnavailableException",
        "Backups are being enabled for the table: ProcessedResults. Please retry later",
        times=2,
    )
    up_ok(cli, moto_url)
    assert faults.fired == ["dynamodb.UpdateContinuousBackups"] * 2
    assert fake_clock.sleeps[:2] == [1.0, 2.0]
    assert read_back(moto_url)["pitr"] == "ENABLED"


@pytest.mark.parametrize(
    "value, says",
    [
        ("paranoid", "`security` is 'paranoid'; allowed: standard, strict"),
        ("Strict", "`security` is 'Strict'; allowed: standard, strict"),
        ("true", "`security` must be a string, got bool True"),
    ],
)
def test_a_bad_security_level_is_exit_2_before_any_aws_call(cli, workdir, runtime, value, says):
    (workdir / "pipectl.yaml").write_text(f"security: {value}\n")
    result = cli("up", "--endpoint-url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and says in lines[0], lines
    assert runtime.last_aws is None
