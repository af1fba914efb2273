"""`pipectl down` against the shared moto server, through the real CLI: it removes what pipectl
made (and only that), guards data, confirms, and works on any partial state."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from foreign_resources import s3_invokable_function

from pipectl.resources.role import TRUST_POLICY

BUCKET = "serverless-data-input-123456789012-us-east-1"
FUNCTION = "serverless-data-processor"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
CREATED_ROLE = "pipectl-serverless-data-lambda"
TRUST = TRUST_POLICY


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def run(cli, url: str, command: str, *extra: str):
    result = cli(command, "--endpoint-url", url, "--json", *extra)
    doc = json.loads(result.stdout) if result.stdout.strip() else None
    return result, doc


def actions(doc) -> dict[str, str]:
    return {c["resource"]: c["action"] for c in doc["changes"]}


def details(doc) -> dict[str, str]:
    return {c["resource"]: c["detail"] for c in doc["changes"]}


def write_config(workdir: Path, text: str) -> None:
    (workdir / "pipectl.yaml").write_text(text)


def everything(url: str) -> dict[str, list[str]]:
    """Every resource of the kinds pipectl makes, in the whole (per-test) moto account."""
    lam = client("lambda", url)
    return {
        "buckets": [b["Name"] for b in client("s3", url).list_buckets().get("Buckets", [])],
        "tables": client("dynamodb", url).list_tables()["TableNames"],
        "roles": [r["RoleName"] for r in client("iam", url).list_roles()["Roles"]],
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"]],
        "log_groups": [
            g["logGroupName"] for g in client("logs", url).describe_log_groups()["logGroups"]
        ],
        "queues": client("sqs", url).list_queues().get("QueueUrls", []),
    }


NOTHING: dict[str, list[str]] = {
    "buckets": [],
    "tables": [],
    "roles": [],
    "functions": [],
    "log_groups": [],
    "queues": [],
}


def put_objects(url: str, bucket: str, keys: list[str]) -> None:
    s3 = client("s3", url)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def tls_statement(bucket: str) -> dict:
    """pipectl's TLS-only statement, as `up` writes it over https (not on a plain-HTTP endpoint
    like this moto server, which would then deny every object request)."""
    from pipectl.resources.bucket import TLS_SID

    arn = f"arn:aws:s3:::{bucket}"
    return {
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def up_ok(cli, url: str, *extra: str) -> dict:
    result, doc = run(cli, url, "up", *extra)
    assert result.exit_code == 0, result.stderr
    return doc


# --- a full up, then down --------------------------------------------------------------------


def test_down_after_up_leaves_nothing_behind(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert [c["resource"] for c in doc["changes"]] == [
        "trigger",
        "permission",
        "function",
        "queue",
        "log_group",
        "role",
        "table",
        "bucket",
    ]
    assert set(actions(doc).values()) == {"delete"}
    assert everything(moto_url) == NOTHING
    calls = runtime.last_aws.calls.calls
    # Reverse dependency order: the trigger goes before the function, the function before the
    # role, log group and table, and the bucket after its notification entry.
    assert calls.index("s3.PutBucketNotificationConfiguration") < calls.index(
        "lambda.DeleteFunction"
    )
    for later in ("iam.DeleteRole", "logs.DeleteLogGroup", "dynamodb.DeleteTable"):
        assert calls.index("lambda.DeleteFunction") < calls.index(later)
    assert calls.index("s3.PutBucketNotificationConfiguration") < calls.index("s3.DeleteBucket")


def test_down_twice_is_a_quiet_success(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    result, _ = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert set(actions(doc).values()) == {"unchanged"}
    assert set(details(doc).values()) == {"does not exist"}
    assert runtime.last_aws.calls.mutating == []


def test_down_with_nothing_there_needs_the_account_from_sts(cli, moto_url, runtime):
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert set(actions(doc).values()) == {"unchanged"}
    calls = runtime.last_aws.calls
    assert calls.mutating == []
    assert "sts.GetCallerIdentity" in calls.calls


def test_dry_run_changes_nothing_and_needs_no_terminal(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    result, doc = run(cli, moto_url, "down", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert doc["dry_run"] is True
    assert set(actions(doc).values()) == {"delete"}
    assert runtime.last_aws.calls.mutating == []
    assert BUCKET in everything(moto_url)["buckets"]


def test_without_a_terminal_and_without_yes_it_refuses_before_any_call(cli, moto_url, runtime):
    up_ok(cli, moto_url)
    runtime.last_aws = None
    result = cli("down", "--endpoint-url", moto_url)
    assert result.exit_code == 2, result.stderr
    assert "no terminal" in result.stderr and "--yes" in result.stderr
    assert runtime.last_aws is None  # not even connected
    assert BUCKET in everything(moto_url)["buckets"]
    result, doc = run(cli, moto_url, "down")  # --json alike, with the error as its document
    assert result.exit_code == 2
    assert doc["ok"] is False and doc["hint"] == "pass --yes"


# --- adopted resources -----------------------------------------------------------------------


def test_adopted_lab_role_bucket_and_foreign_notification_survive(cli, moto_url, runtime):
    iam, s3, sqs = client("iam", moto_url), client("s3", moto_url), client("sqs", moto_url)
    iam.create_role(RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(TRUST))
    lab_policy = iam.create_policy(
        PolicyName="LabPolicy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="LabRole", PolicyArn=lab_policy)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    own_statement = {
        "Sid": "TeamRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [own_statement]}),
    )
    s3.put_object(Bucket=BUCKET, Key="theirs.csv", Body=b"a,b")
    queue_url = sqs.create_queue(QueueName="audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    # S3 validates every entry when pipectl writes the configuration: the queue lets S3 send.
    allow_s3 = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(allow_s3)})
    foreign = {
        "Id": "audit-deletes",
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectRemoved:*"],
    }
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": [foreign]}
    )
    role_before = iam.get_role(RoleName="LabRole")["Role"]

    up_ok(cli, moto_url)
    # As `up` over https leaves it: pipectl's TLS-only statement merged into the bucket's own.
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [own_statement, tls_statement(BUCKET)]}
        ),
    )

    result, doc = run(cli, moto_url, "down", "--yes", "--delete-data")
    assert result.exit_code == 0, result.stderr
    assert actions(doc) == {
        "trigger": "delete",
        "permission": "delete",
        "function": "delete",
        "queue": "delete",
        "log_group": "delete",
        "role": "keep",
        "table": "delete",
        "bucket": "update",
    }
    assert details(doc)["role"] == "not created by pipectl"
    assert "TLS" in details(doc)["bucket"]

    left = everything(moto_url)
    assert left["buckets"] == [BUCKET]
    assert left["roles"] == ["LabRole"]
    assert left["queues"] == [queue_url]
    assert left["functions"] == left["log_groups"] == left["tables"] == []
    # The role as it was, the bucket with its own policy, tags, object and notification only.
    assert iam.get_role(RoleName="LabRole")["Role"] == role_before
    attached = iam.list_attached_role_policies(RoleName="LabRole")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["LabPolicy"]
    assert iam.list_role_policies(RoleName="LabRole")["PolicyNames"] == []
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert policy["Statement"] == [own_statement]
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "team", "Value": "data"}]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["theirs.csv"]
    notification = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    assert notification["QueueConfigurations"] == [foreign | {"Filter": {}}] or notification[
        "QueueConfigurations"
    ] == [foreign]
    assert "LambdaFunctionConfigurations" not in notification
    # Nothing pipectl did not make was deleted.
    mutating = runtime.last_aws.calls.mutating
    assert "iam.DeleteRole" not in mutating and "s3.DeleteBucket" not in mutating
    assert "s3.DeleteObjects" not in mutating and "iam.DetachRolePolicy" not in mutating

    result, doc = run(cli, moto_url, "down", "--yes")  # and a second down leaves them alone
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "keep" and actions(doc)["role"] == "keep"
    assert runtime.last_aws.calls.mutating == []


def their_function(url: str, name: str) -> str:
    """Another team's function that S3 may invoke (S3 validates it when pipectl writes)."""
    role_arn = client("iam", url).list_roles()["Roles"][0]["Arn"]
    return s3_invokable_function(client("lambda", url), role_arn, name)


def test_a_foreign_lambda_entry_added_after_up_is_kept(cli, moto_url):
    up_ok(cli, moto_url)
    s3 = client("s3", moto_url)
    config = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    other = {
        "Id": "thumbnails",
        "LambdaFunctionArn": their_function(moto_url, "thumbnails"),
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}},
    }
    entries = [*config["LambdaFunctionConfigurations"], other]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"LambdaFunctionConfigurations": entries}
    )
    put_objects(moto_url, BUCKET, ["images/a.png"])  # so the bucket is kept and can be read
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "keep"
    [kept] = s3.get_bucket_notification_configuration(Bucket=BUCKET)["LambdaFunctionConfigurations"]
    assert kept["Id"] == "thumbnails"


def test_a_missing_existing_role_is_no_obstacle(cli, moto_url, workdir):
    client("iam", moto_url).create_role(
        RoleName="TeamRole", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    write_config(workdir, "role:\n  mode: existing\n  name: TeamRole\n")
    up_ok(cli, moto_url)
    client("iam", moto_url).delete_role(RoleName="TeamRole")
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["role"] == "unchanged"
    assert everything(moto_url) == NOTHING


# --- the data guard --------------------------------------------------------------------------


def test_non_empty_bucket_and_table_are_kept_without_delete_data(cli, moto_url):
    up_ok(cli, moto_url)
    put_objects(moto_url, BUCKET, ["a.csv", "b.csv"])
    client("dynamodb", moto_url).put_item(
        TableName="ProcessedResults", Item={"file_name": {"S": "a.csv"}}
    )
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "keep" and actions(doc)["table"] == "keep"
    assert "--delete-data" in details(doc)["bucket"] and "objects" in details(doc)["bucket"]
    assert "--delete-data" in details(doc)["table"] and "items" in details(doc)["table"]
    left = everything(moto_url)
    assert left["buckets"] == [BUCKET] and left["tables"] == ["ProcessedResults"]
    assert left["functions"] == left["roles"] == left["log_groups"] == []
    s3 = client("s3", moto_url)
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 2

    result, doc = run(cli, moto_url, "down", "--yes", "--delete-data")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "delete" and actions(doc)["table"] == "delete"
    assert details(doc)["bucket"].startswith("emptied first: 2 deleted")
    assert everything(moto_url) == NOTHING


def test_versioned_bucket_is_emptied_of_every_version_and_marker(cli, moto_url, workdir, runtime):
    write_config(workdir, "bucket:\n  versioning: true\n")
    up_ok(cli, moto_url)
    s3 = client("s3", moto_url)
    put_objects(moto_url, BUCKET, ["a.csv", "a.csv", "a.csv", "b.csv"])
    s3.delete_object(Bucket=BUCKET, Key="a.csv")  # a delete marker over three versions
    s3.delete_object(Bucket=BUCKET, Key="b.csv")
    # Only versions and delete markers are left: no current object, still not empty.
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0

    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "keep"
    assert BUCKET in everything(moto_url)["buckets"]

    result, doc = run(cli, moto_url, "down", "--yes", "--delete-data")
    assert result.exit_code == 0, result.stderr
    assert details(doc)["bucket"].startswith("emptied first: 6 deleted")  # 4 versions, 2 markers
    assert everything(moto_url) == NOTHING
    assert runtime.last_aws.calls.calls.count("s3.DeleteObjects") == 1


def test_empty_bucket_deletes_in_batches_page_by_page(moto_url):
    from pipectl.resources.bucket_contents import empty_bucket

    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket="many")
    s3.put_bucket_versioning(Bucket="many", VersioningConfiguration={"Status": "Enabled"})
    for index in range(5):
        s3.put_object(Bucket="many", Key=f"k{index % 2}", Body=b"x")
    s3.delete_object(Bucket="many", Key="k0")
    calls = []
    s3.meta.events.register(
        "before-parameter-build.s3.DeleteObjects", lambda params, **_: calls.append(params)
    )
    assert empty_bucket(s3, "many", page_size=2) == 6
    assert [len(c["Delete"]["Objects"]) for c in calls] == [2, 2, 2]
    versions = s3.list_object_versions(Bucket="many")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    s3.delete_bucket(Bucket="many")


def test_objects_arriving_during_down_keep_the_bucket_without_delete_data(
    cli, moto_url, faults, runtime
):
    up_ok(cli, moto_url)
    faults.add("s3.DeleteBucket", "BucketNotEmpty", "The bucket you tried to delete is not empty")
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["bucket"] == "keep"
    assert "--delete-data" in details(doc)["bucket"]


def test_a_bucket_that_keeps_filling_up_is_an_error_with_a_hint(cli, moto_url, faults):
    up_ok(cli, moto_url)
    put_objects(moto_url, BUCKET, ["a.csv"])
    faults.add("s3.DeleteBucket", "BucketNotEmpty", "not empty", times=None)
    result, doc = run(cli, moto_url, "down", "--yes", "--delete-data")
    assert result.exit_code == 1
    assert actions(doc)["bucket"] == "failed"
    assert "keeps receiving objects" in doc["errors"]["bucket"]["error"]
    assert "--delete-data" in doc["errors"]["bucket"]["hint"]


# --- partial states --------------------------------------------------------------------------

# One failing call per kind of partial state `up` can leave (the steps after it are skipped).
UP_STEPS = [
    "s3.CreateBucket",
    "s3.PutBucketTagging",  # the bucket's tags are its proof of ownership for `down`
    "dynamodb.CreateTable",
    "iam.CreateRole",
    "iam.PutRolePolicy",
    "logs.CreateLogGroup",
    "lambda.CreateFunction",
    "lambda.AddPermission",
    "s3.PutBucketNotificationConfiguration",
]


@pytest.mark.parametrize("step", UP_STEPS)
def test_down_after_a_failed_up_removes_everything_pipectl_made(cli, moto_url, faults, step):
    faults.add(step, "ServiceException", "boom", times=None)
    result, doc = run(cli, moto_url, "up")
    assert result.exit_code == 1, result.stderr
    assert step in faults.fired
    faults.rules.clear()
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert set(actions(doc).values()) <= {"delete", "unchanged"}
    assert everything(moto_url) == NOTHING


def test_a_new_bucket_that_cannot_be_tagged_is_removed_again_by_up(cli, moto_url, faults):
    """Untagged, it would pass for someone else's bucket: `down` would keep it forever."""
    faults.add("s3.PutBucketTagging", "AccessDenied", "no s3:PutBucketTagging", times=None)
    result, doc = run(cli, moto_url, "up")
    assert result.exit_code == 1
    assert actions(doc)["bucket"] == "failed"
    assert "access denied" in doc["errors"]["bucket"]["error"]
    assert everything(moto_url)["buckets"] == []


def test_a_bucket_already_ours_is_not_removed_when_tagging_fails(cli, moto_url, faults):
    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    # CreateBucket answers BucketAlreadyOwnedByYou: the bucket is not this run's to remove.
    faults.add("s3.CreateBucket", "BucketAlreadyOwnedByYou", "yours", times=None)
    faults.add("s3.PutBucketTagging", "AccessDenied", "no s3:PutBucketTagging", times=None)
    faults.add("s3.GetBucketVersioning", "NoSuchBucket", "planned as missing", times=1)
    result, _ = run(cli, moto_url, "up")
    assert result.exit_code == 1
    assert everything(moto_url)["buckets"] == [BUCKET]


def test_down_with_the_on_failure_queue_removes_it_too(cli, moto_url, workdir):
    write_config(workdir, "function:\n  on_failure_queue: true\n")
    doc = up_ok(cli, moto_url)
    assert actions(doc)["queue"] == "create"
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "delete"
    assert everything(moto_url) == NOTHING


def test_a_leftover_queue_is_removed_after_the_config_dropped_it(cli, moto_url, workdir):
    """The queue pipectl made, then `on_failure_queue: false`: `up` unwires it and keeps it
    (it may hold failed events), `down` deletes it since it is empty and pipectl's."""
    write_config(workdir, "function:\n  on_failure_queue: true\n")
    up_ok(cli, moto_url)
    write_config(workdir, "function:\n  on_failure_queue: false\n")
    up_ok(cli, moto_url)
    assert everything(moto_url)["queues"], "the queue stays until down"
    invoke_config = client("lambda", moto_url).get_function_event_invoke_config(
        FunctionName=FUNCTION
    )
    assert not invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "delete"
    assert everything(moto_url) == NOTHING


def test_an_untagged_look_alike_is_kept(cli, moto_url):
    """A table or log group with pipectl's names that pipectl did not create is someone else's:
    `up` uses them, `down` leaves them alone and says why."""
    client("dynamodb", moto_url).create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client("logs", moto_url).create_log_group(logGroupName=LOG_GROUP)
    up_ok(cli, moto_url)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["table"] == "keep" and actions(doc)["log_group"] == "keep"
    assert details(doc)["table"] == "not created by pipectl"
    left = everything(moto_url)
    assert left["tables"] == ["ProcessedResults"] and left["log_groups"] == [LOG_GROUP]


# --- a delete that fails half-way ------------------------------------------------------------


def ledger_file(runtime) -> Path:
    return runtime.pipectl_home / "created" / "123456789012-us-east-1-serverless-data.json"


def strip_tags_then_fail(url: str, operation: str, faults) -> None:
    """The next `operation` behaves like a delete that fails half-way on a service that removes
    the tags first: the resource loses pipectl's tags, then the call errors."""

    def strip(_request) -> bool:
        tags = ["managed-by", "pipectl-pipeline"]
        if operation == "lambda.DeleteFunction":
            lam = client("lambda", url)
            arn = lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
            lam.untag_resource(Resource=arn, TagKeys=tags)
        else:
            ddb = client("dynamodb", url)
            arn = ddb.describe_table(TableName="ProcessedResults")["Table"]["TableArn"]
            ddb.untag_resource(ResourceArn=arn, TagKeys=tags)
        return True

    faults.add(operation, "ServiceException", "internal error, please retry", when=strip)


HALF_DONE = [("lambda.DeleteFunction", "function"), ("dynamodb.DeleteTable", "table")]


@pytest.mark.parametrize("operation, kind", HALF_DONE)
def test_after_a_half_done_delete_the_next_down_still_knows_it_is_pipectls(
    cli, moto_url, faults, runtime, operation, kind
):
    up_ok(cli, moto_url)
    assert ledger_file(runtime).is_file()
    strip_tags_then_fail(moto_url, operation, faults)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 1
    assert actions(doc)[kind] == "failed"
    assert operation in faults.fired

    # Its tags are gone; pipectl's ledger still says pipectl created it.
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)[kind] == "delete"
    assert everything(moto_url) == NOTHING
    assert not ledger_file(runtime).exists() or json.loads(ledger_file(runtime).read_text()) == {}


def test_without_the_record_an_untagged_leftover_is_named_not_called_down(
    cli, moto_url, faults, runtime
):
    """On another machine (no ledger) pipectl cannot tell a half-deleted function of its own from
    someone else's: it never deletes it, and says exactly what is left and why."""
    up_ok(cli, moto_url)
    strip_tags_then_fail(moto_url, "lambda.DeleteFunction", faults)
    result, _ = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 1
    ledger_file(runtime).unlink()
    result = cli("down", "--endpoint-url", moto_url, "--yes")
    assert result.exit_code == 0, result.stderr
    err = " ".join(result.stderr.split())
    assert (
        f"left alone: function {FUNCTION}: not created by pipectl (neither pipectl's tags nor a "
        f"record in {ledger_file(runtime)})"
    ) in err
    assert "is down except what is not pipectl's (above)" in err
    assert everything(moto_url)["functions"] == [FUNCTION]


def test_a_look_alike_newer_than_the_record_is_not_pipectls(cli, moto_url, runtime):
    """Someone deleted pipectl's table and made their own with the same name after pipectl's
    record: the record does not make it pipectl's."""
    up_ok(cli, moto_url)
    record = json.loads(ledger_file(runtime).read_text())
    assert record["table"]["name"] == "ProcessedResults"
    record["table"]["at"] -= 3600  # pipectl made its table an hour ago
    ledger_file(runtime).write_text(json.dumps(record))
    ddb = client("dynamodb", moto_url)
    ddb.delete_table(TableName="ProcessedResults")
    ddb.create_table(
        TableName="ProcessedResults",
        KeySchema=[{"AttributeName": "file_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["table"] == "keep"
    assert everything(moto_url)["tables"] == ["ProcessedResults"]


def test_a_look_alike_queue_newer_than_the_record_is_not_pipectls(cli, moto_url, runtime):
    """The same for the on-failure queue, dated by its CreatedTimestamp: kept, not deleted."""
    up_ok(cli, moto_url)
    record = json.loads(ledger_file(runtime).read_text())
    record["queue"]["at"] -= 3600
    ledger_file(runtime).write_text(json.dumps(record))
    sqs = client("sqs", moto_url)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"])
    sqs.create_queue(QueueName=f"{FUNCTION}-failures")
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "keep"
    assert len(everything(moto_url)["queues"]) == 1


def test_a_failed_step_skips_what_depends_on_it(cli, moto_url, faults):
    up_ok(cli, moto_url)
    faults.add("lambda.DeleteFunction", "ServiceException", "boom", times=None)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 1
    got = actions(doc)
    assert got["function"] == "failed"
    assert got["role"] == got["log_group"] == got["table"] == "skipped"
    assert got["trigger"] == got["permission"] == got["bucket"] == "delete"
    assert "boom" in doc["errors"]["function"]["error"]
    faults.rules.clear()
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert everything(moto_url) == NOTHING


# --- confirmation and human output -----------------------------------------------------------


def down_in_process(moto_url: str, runtime, answer: bool, json_mode: bool = False):
    """lifecycle.down with an injected confirmation (the CLI's asks on the terminal)."""
    from pipectl.commands import lifecycle
    from pipectl.runtime import GlobalOptions
    from pipectl.ui import UI

    prompts: list[str] = []

    def confirm(prompt: str) -> bool:
        prompts.append(prompt)
        return answer

    opts = GlobalOptions(endpoint_url=moto_url, json=json_mode)
    code = lifecycle.down(
        opts, UI(json_mode=json_mode), runtime, delete_data=False, dry_run=False, confirm=confirm
    )
    return code, prompts


def test_declining_the_confirmation_removes_nothing(cli, moto_url, runtime, capsys):
    up_ok(cli, moto_url)
    code, prompts = down_in_process(moto_url, runtime, answer=False, json_mode=True)
    assert code == 1
    assert prompts == ["Delete the 8 resource(s) marked 'will delete'?"]
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["cancelled"] is True
    assert runtime.last_aws.calls.mutating == []
    assert BUCKET in everything(moto_url)["buckets"]


def test_the_prompt_shows_the_list_and_names_an_adopted_bucket(cli, moto_url, runtime, capsys):
    s3 = client("s3", moto_url)
    s3.create_bucket(Bucket=BUCKET)
    up_ok(cli, moto_url)
    policy = {"Version": "2012-10-17", "Statement": [tls_statement(BUCKET)]}
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    capsys.readouterr()
    code, prompts = down_in_process(moto_url, runtime, answer=True)
    assert code == 0
    assert prompts == [
        "Delete the 7 resource(s) marked 'will delete' and remove pipectl's additions "
        f"from bucket {BUCKET}?"
    ]
    err = capsys.readouterr().err
    assert err.index("will delete") < err.index("summary")
    assert everything(moto_url)["buckets"] == [BUCKET]
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)  # its only statement was pipectl's: no policy left


def test_human_output_lists_what_goes_and_why_something_stays(cli, moto_url):
    up_ok(cli, moto_url)
    put_objects(moto_url, BUCKET, ["a.csv"])
    result = cli("down", "--endpoint-url", moto_url, "--yes")
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "pipectl down serverless-data in us-east-1 (account 123456789012)" in err
    for kind in ("trigger", "permission", "function", "log_group", "role", "table"):
        assert any(kind in line and "deleted" in line for line in err.splitlines()), err
    assert "holds objects: pass --delete-data to empty and delete it" in err
    assert f"kept for the data they hold: bucket {BUCKET}\n" in err
    assert "to remove them too: `pipectl down --delete-data`" in err
    assert "pipeline serverless-data is down (its data kept)" in err
    assert result.stdout == ""

    result = cli("down", "--endpoint-url", moto_url, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "nothing to remove" in result.stderr
    assert f"kept for the data they hold: bucket {BUCKET}" in result.stderr

    result = cli("down", "--endpoint-url", moto_url, "--yes", "--delete-data")
    assert result.exit_code == 0, result.stderr
    assert "emptied first: 1 deleted" in result.stderr
    assert "pipeline serverless-data is down\n" in result.stderr
    result = cli("down", "--endpoint-url", moto_url, "--yes")
    assert result.exit_code == 0, result.stderr
    assert "nothing to remove: no resource of pipeline serverless-data exists" in result.stderr


def test_a_queue_holding_failed_events_is_kept_unless_delete_data(cli, moto_url):
    up_ok(cli, moto_url)
    sqs = client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    result = cli("down", "--endpoint-url", moto_url, "--yes")
    assert result.exit_code == 0, result.stderr
    assert f"kept for the data they hold: queue {FUNCTION}-failures" in result.stderr
    assert everything(moto_url)["queues"] == [url]
    assert everything(moto_url)["functions"] == []
    result, doc = run(cli, moto_url, "down", "--yes", "--delete-data")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "delete"
    assert details(doc)["queue"] == "with its 1 message(s) (--delete-data)"
    assert everything(moto_url) == NOTHING


def test_with_the_queue_off_a_queue_pipectl_did_not_make_stays(cli, moto_url, workdir):
    write_config(workdir, "function:\n  on_failure_queue: false\n")
    theirs = client("sqs", moto_url).create_queue(QueueName=f"{FUNCTION}-failures")["QueueUrl"]
    doc = up_ok(cli, moto_url)
    assert "queue" not in actions(doc)
    result, doc = run(cli, moto_url, "down", "--yes")
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "keep"
    assert details(doc)["queue"] == "not created by pipectl"
    assert everything(moto_url) == {**NOTHING, "queues": [theirs]}
