"""`pipectl status` against the shared moto server, through the real CLI: one row per resource,
drift for every kind of change made behind pipectl's back, the diagram, and the exit code."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import boto3
import pytest

from pipectl.resources.role import TRUST_POLICY

BUCKET = "serverless-data-input-123456789012-us-east-1"
FUNCTION = "serverless-data-processor"
TABLE = "ProcessedResults"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
ROLE = "pipectl-serverless-data-lambda"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:123456789012:{FUNCTION}-failures"
KINDS = ["bucket", "table", "role", "log_group", "queue", "function", "permission", "trigger"]


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def status(cli, url: str, *extra: str):
    result = cli("status", "--endpoint-url", url, "--json", *extra)
    return result, json.loads(result.stdout)


def up_ok(cli, url: str) -> None:
    result = cli("up", "--endpoint-url", url, "--json")
    assert result.exit_code == 0, result.stderr


def drift(doc) -> dict[str, list[str]]:
    return {r["resource"]: r["drift"] for r in doc["resources"]}


def rows(doc) -> dict[str, dict]:
    return {r["resource"]: r for r in doc["resources"]}


def test_in_sync_after_up(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert doc["in_sync"] is True
    assert list(doc) == ["in_sync", "resources"]
    assert [r["resource"] for r in doc["resources"]] == KINDS
    for row in doc["resources"]:
        assert set(row) == {
            "resource",
            "name",
            "exists",
            "managed",
            "drift",
            "failed_events",
            "configured",
        }
        assert row["configured"] is True
        assert row["exists"] is True and row["managed"] is True and row["drift"] == [], row
    names = {r["resource"]: r["name"] for r in doc["resources"]}
    assert names == {
        "bucket": BUCKET,
        "table": TABLE,
        "role": ROLE,
        "log_group": LOG_GROUP,
        "queue": f"{FUNCTION}-failures",
        "function": FUNCTION,
        "permission": "pipectl-serverless-data-s3-invoke",
        "trigger": "pipectl-serverless-data",
    }
    assert runtime.last_aws.calls.mutating == []  # status only reads


def test_nothing_there_is_all_missing(cli, moto_url):
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1
    assert doc["in_sync"] is False
    for row in doc["resources"]:
        assert row["exists"] is False and row["managed"] is False
    assert drift(doc) == {
        "bucket": ["bucket missing"],
        "table": ["table missing"],
        "role": ["role missing"],
        "log_group": ["log group missing"],
        "queue": ["queue missing"],
        "function": ["function missing"],
        "permission": ["permission missing"],
        "trigger": ["trigger missing"],
    }


# Each: a change made behind pipectl's back, then {resource: a drift line it must show}.
def kms_encryption(url):
    client("s3", url).put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )


def public_access_block_off(url):
    client("s3", url).delete_public_access_block(Bucket=BUCKET)


def acls_enabled(url):
    client("s3", url).put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )


def versioning_on(url):
    client("s3", url).put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )


def bucket_gone(url):
    client("s3", url).delete_bucket(Bucket=BUCKET)


def provisioned_table(url):
    client("dynamodb", url).update_table(
        TableName=TABLE,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )


def table_gone(url):
    client("dynamodb", url).delete_table(TableName=TABLE)


def role_policy_gone(url):
    client("iam", url).delete_role_policy(RoleName=ROLE, PolicyName="pipectl-serverless-data")


def role_trust_widened(url):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    client("iam", url).update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(trust))


def retention_changed(url):
    client("logs", url).put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=30)


def retention_removed(url):
    client("logs", url).delete_retention_policy(logGroupName=LOG_GROUP)


def log_group_gone(url):
    client("logs", url).delete_log_group(logGroupName=LOG_GROUP)


def memory_raised(url):
    client("lambda", url).update_function_configuration(FunctionName=FUNCTION, MemorySize=256)


def timeout_changed(url):
    client("lambda", url).update_function_configuration(FunctionName=FUNCTION, Timeout=3)


def runtime_changed(url):
    client("lambda", url).update_function_configuration(FunctionName=FUNCTION, Runtime="python3.11")


def environment_changed(url):
    client("lambda", url).update_function_configuration(
        FunctionName=FUNCTION, Environment={"Variables": {"TABLE_NAME": "Other"}}
    )


def code_replaced(url):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return 'hacked'\n")
    client("lambda", url).update_function_code(FunctionName=FUNCTION, ZipFile=buffer.getvalue())


def invoke_config_gone(url):
    client("lambda", url).delete_function_event_invoke_config(FunctionName=FUNCTION)


def retries_changed(url):
    lam = client("lambda", url)
    # moto appends on put and reads back the first: delete first so the new one is read.
    lam.delete_function_event_invoke_config(FunctionName=FUNCTION)
    lam.put_function_event_invoke_config(
        FunctionName=FUNCTION,
        MaximumRetryAttempts=0,
        MaximumEventAgeInSeconds=21600,
        DestinationConfig={"OnFailure": {"Destination": QUEUE_ARN}},
    )


def function_gone(url):
    client("lambda", url).delete_function(FunctionName=FUNCTION)


def permission_gone(url):
    client("lambda", url).remove_permission(
        FunctionName=FUNCTION, StatementId="pipectl-serverless-data-s3-invoke"
    )


def trigger_gone(url):
    client("s3", url).put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={}
    )


def trigger_narrowed(url):
    s3 = client("s3", url)
    [entry] = s3.get_bucket_notification_configuration(Bucket=BUCKET)[
        "LambdaFunctionConfigurations"
    ]
    entry["Events"] = ["s3:ObjectCreated:Put"]
    entry["Filter"] = {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}}
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"LambdaFunctionConfigurations": [entry]}
    )


# Changes to different resources (or different settings of one) do not mask each other, so
# several share one `up`: {resource: [a substring of each drift line it must show, no more]}.
SCENARIOS = {
    "bucket-settings": (
        [kms_encryption, public_access_block_off, acls_enabled, versioning_on],
        {
            "bucket": [
                "encryption aws:kms, want AES256",
                "public access block off (BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, "
                "RestrictPublicBuckets)",
                "object ownership ObjectWriter, want BucketOwnerEnforced",
                "versioning Enabled, want off",
            ]
        },
    ),
    "function-configuration": (
        [memory_raised, timeout_changed, runtime_changed, environment_changed, code_replaced],
        {
            "function": [
                "runtime python3.11, want python3.12",
                "memory 256, want 128",
                "timeout 3, want 30",
                "environment {'TABLE_NAME': 'Other'}, want {'TABLE_NAME': 'ProcessedResults', ",
                "code differs from handler/",
            ]
        },
    ),
    "settings-elsewhere": (
        [provisioned_table, role_policy_gone, retention_changed, retries_changed, trigger_narrowed],
        {
            "table": ["billing PROVISIONED, want PAY_PER_REQUEST"],
            "role": ["permissions policy missing"],
            "log_group": ["retention 30 days, want 14 days"],
            "function": ["MaximumRetryAttempts 0, want 2"],
            "trigger": ["events s3:ObjectCreated:Put, want s3:ObjectCreated:*", "suffix '.csv'"],
        },
    ),
    "more-settings": (
        [role_trust_widened, retention_removed, invoke_config_gone, permission_gone],
        {
            "role": [
                "trust policy differs (want lambda.amazonaws.com, from account 123456789012 only)"
            ],
            "log_group": ["retention never expire, want 14 days"],
            "function": ["async invoke config missing"],
            "permission": ["permission missing"],
        },
    ),
    "pieces-deleted": (
        [table_gone, log_group_gone, trigger_gone],
        {
            "table": ["table missing"],
            "log_group": ["log group missing"],
            "trigger": ["trigger missing"],
        },
    ),
    "function-deleted": (
        [function_gone],
        {"function": ["function missing"], "permission": ["permission missing"]},
    ),
    "bucket-deleted": (
        [bucket_gone],
        {"bucket": ["bucket missing"], "trigger": ["trigger missing"]},
    ),
}


@pytest.mark.parametrize(("changes", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_changes_behind_pipectls_back_show_as_drift(cli, moto_url, changes, expected):
    up_ok(cli, moto_url)
    for change in changes:
        change(moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1, result.stderr
    assert doc["in_sync"] is False
    found = drift(doc)
    assert {kind for kind, lines in found.items() if lines} == set(expected), found
    for kind, wanted in expected.items():
        assert len(found[kind]) == len(wanted), (kind, found[kind])
        for line in wanted:
            assert any(line in d for d in found[kind]), (kind, line, found[kind])
    missing = {
        kind for kind, lines in expected.items() if f"{kind.replace('_', ' ')} missing" in lines
    }
    assert {r["resource"] for r in doc["resources"] if not r["exists"]} == missing


def test_up_converges_what_status_reported(cli, moto_url):
    up_ok(cli, moto_url)
    for change in (kms_encryption, memory_raised, retention_removed, trigger_gone):
        change(moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1
    assert sorted(k for k, lines in drift(doc).items() if lines) == [
        "bucket",
        "function",
        "log_group",
        "trigger",
    ]
    up_ok(cli, moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0 and doc["in_sync"] is True


def test_a_tls_statement_present_against_the_config_is_drift(cli, moto_url, workdir: Path):
    (workdir / "pipectl.yaml").write_text("bucket:\n  enforce_tls: false\n")
    up_ok(cli, moto_url)
    statement = {
        "Sid": "pipectl-deny-insecure-transport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    client("s3", moto_url).put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    _, doc = status(cli, moto_url)
    assert drift(doc)["bucket"] == ["TLS-only policy statement present, enforce_tls is false"]


def test_a_config_change_shows_as_drift_too(cli, moto_url, workdir: Path):
    up_ok(cli, moto_url)
    (workdir / "pipectl.yaml").write_text(
        "function:\n  memory_mb: 512\n  log_retention_days: 7\ntrigger:\n  prefix: incoming/\n"
    )
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1
    found = drift(doc)
    assert found["function"] == ["memory 128, want 512"]
    assert found["log_group"] == ["retention 14 days, want 7 days"]
    assert found["trigger"] == ["prefix '', want 'incoming/'"]


def test_adopted_resources_are_marked_adopted(cli, moto_url):
    trust = TRUST_POLICY
    client("iam", moto_url).create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(trust)
    )
    client("s3", moto_url).create_bucket(Bucket=BUCKET)
    up_ok(cli, moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    by_kind = rows(doc)
    assert by_kind["role"]["name"] == "LabRole"
    assert by_kind["role"]["managed"] is False and by_kind["bucket"]["managed"] is False
    assert by_kind["function"]["managed"] is True
    result = cli("status", "--endpoint-url", moto_url)
    assert "adopted" in result.stderr


def test_a_missing_existing_role_is_reported_not_an_error(cli, moto_url, workdir: Path):
    (workdir / "pipectl.yaml").write_text("role:\n  mode: existing\n  name: TeamRole\n")
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1, result.stderr
    assert rows(doc)["role"] == {
        "resource": "role",
        "name": "TeamRole",
        "exists": False,
        "managed": False,
        "drift": ["role missing"],
        "failed_events": None,
        "configured": True,
    }


def test_the_queue_has_a_row_when_configured(cli, moto_url, workdir: Path):
    (workdir / "pipectl.yaml").write_text("function:\n  on_failure_queue: true\n")
    up_ok(cli, moto_url)
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert rows(doc)["queue"]["exists"] is True
    queue_url = client("sqs", moto_url).get_queue_url(QueueName=f"{FUNCTION}-failures")
    client("sqs", moto_url).delete_queue(QueueUrl=queue_url["QueueUrl"])
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1
    assert drift(doc)["queue"] == ["queue missing"]
    assert "failures" in cli("status", "--endpoint-url", moto_url).stderr


def test_failed_events_waiting_are_counted_on_the_queue_row(cli, moto_url):
    up_ok(cli, moto_url)
    sqs = client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr  # failed events are not drift
    assert doc["in_sync"] is True
    counts = {r["resource"]: r["failed_events"] for r in doc["resources"]}
    assert counts == {kind: (3 if kind == "queue" else None) for kind in KINDS}
    err = cli("status", "--endpoint-url", moto_url).stderr
    assert "[✓ SQS queue] 3 failed events waiting" in err
    [row] = [line for line in err.splitlines() if line.startswith("queue ")]
    assert row.split()[-1] == "3"  # the table's "failed events" column
    assert "3 failed events waiting in the on-failure queue" in err
    assert "`pipectl replay --dry-run`" in err


def test_without_the_queue_there_is_no_row_and_no_count(cli, moto_url, workdir: Path):
    (workdir / "pipectl.yaml").write_text("function:\n  on_failure_queue: false\n")
    up_ok(cli, moto_url)
    assert client("sqs", moto_url).list_queues().get("QueueUrls", []) == []
    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert [r["resource"] for r in doc["resources"]] == [k for k in KINDS if k != "queue"]
    assert all(row["failed_events"] is None for row in doc["resources"])
    err = cli("status", "--endpoint-url", moto_url).stderr
    assert "SQS queue" not in err and "failed events" not in err


def test_queue_settings_changed_elsewhere_show_as_drift(cli, moto_url):
    up_ok(cli, moto_url)
    sqs = client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"MessageRetentionPeriod": "60", "SqsManagedSseEnabled": "false"}
    )
    result, doc = status(cli, moto_url)
    assert result.exit_code == 1
    assert drift(doc)["queue"] == [
        "retention 60 s, want 14 days",
        "not encrypted, want SSE-SQS",
    ]
    up_ok(cli, moto_url)
    assert status(cli, moto_url)[1]["in_sync"] is True


# --- human output ----------------------------------------------------------------------------


def test_human_output_draws_the_pipeline_and_the_table(cli, moto_url):
    up_ok(cli, moto_url)
    result = cli("status", "--endpoint-url", moto_url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    err = result.stderr
    assert "pipectl status serverless-data in us-east-1 (account 123456789012)" in err
    assert "[✓ S3 bucket] ──✓ trigger──▶ [✓ Lambda] ──put──▶ [✓ DynamoDB]" in err
    for node in ("[✓ CloudWatch Logs]", "[✓ IAM role]", "[✓ S3 may invoke]"):
        assert node in err
    assert "in sync with the config" in err
    assert err.count("in sync") >= len(KINDS)


def test_human_output_marks_where_it_is_broken(cli, moto_url):
    up_ok(cli, moto_url)
    memory_raised(moto_url)
    trigger_gone(moto_url)
    log_group_gone(moto_url)
    result = cli("status", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    err = result.stderr
    assert "[✓ S3 bucket] ──✗ trigger──▶ [~ Lambda] ──put──▶ [✓ DynamoDB]" in err
    assert "[✗ CloudWatch Logs]" in err
    assert "memory 256, want 128" in err and "trigger missing" in err
    assert "2 missing, 1 drifted: run `pipectl up` to converge" in err


def test_diagram_branches_line_up_under_the_function():
    from pipectl.pipeline import ResourceStatus
    from pipectl.views.status import diagram

    statuses = [
        ResourceStatus(kind, kind, True, True, ())
        for kind in ["bucket", "table", "role", "log_group", "queue", "function", "permission"]
    ] + [ResourceStatus("trigger", "t", False, False, ("trigger missing",))]
    from rich.console import Console

    console = Console(width=120, record=True, color_system="truecolor")
    console.print(diagram(statuses))
    lines = console.export_text(clear=False).splitlines()
    column = lines[0].index("[✓ Lambda]")
    assert [line.index("─ ") - 1 for line in lines[1:5]] == [column + 1] * 4
    assert "failures" in lines[4] and "[✓ SQS queue]" in lines[4]
    assert lines[-1].split() == ["✓", "in", "sync", "~", "drifted", "✗", "missing"]
    styled = console.export_text(styles=True)
    assert "\x1b[" in styled  # coloured on a terminal that takes colour


def test_a_queue_left_from_an_earlier_config_shows_with_its_failed_events(
    cli, moto_url, workdir: Path, runtime
):
    """`on_failure_queue: false` after failures landed: `up` unwires the queue and keeps it. Its
    events must not wait unseen until SQS drops them: status shows the queue, not as drift, and
    says how to replay them; a queue that is not pipectl's gets no row."""
    up_ok(cli, moto_url)
    sqs = client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    for n in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))
    (workdir / "pipectl.yaml").write_text("function:\n  on_failure_queue: false\n")
    up_ok(cli, moto_url)

    result, doc = status(cli, moto_url)
    assert result.exit_code == 0, result.stderr  # in sync with the config
    assert doc["in_sync"] is True
    queue = rows(doc)["queue"]
    assert queue["configured"] is False and queue["failed_events"] == 2
    assert queue["exists"] is True and queue["managed"] is True and queue["drift"] == []
    err = cli("status", "--endpoint-url", moto_url).stderr
    [line] = [line for line in err.splitlines() if line.startswith("queue ")]
    assert "not configured (left over)" in line and line.split()[-1] == "2"
    assert "2 failed events waiting in the on-failure queue" in " ".join(err.split())
    assert "SQS queue" not in err  # not drawn as wired to the function

    # Seen from another machine (no ledger), untagged: nothing says it is pipectl's, no row.
    sqs.untag_queue(QueueUrl=url, TagKeys=list(sqs.list_queue_tags(QueueUrl=url)["Tags"]))
    for record in (runtime.pipectl_home / "created").glob("*.json"):
        record.unlink()
    _, doc = status(cli, moto_url)
    assert "queue" not in rows(doc)
