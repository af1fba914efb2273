"""`pipectl up` end to end against a moto server, through the real CLI."""

import json
import os
import subprocess

import boto3
import pytest

from pipectl.resources import role

BUCKET = "serverless-data-input-123456789012-us-east-1"
KINDS = ["bucket", "table", "role", "log_group", "queue", "function", "permission", "trigger"]


def up(cli, url, *extra):
    result = cli("up", "--endpoint-url", url, "--json", *extra)
    return result, json.loads(result.stdout) if result.stdout.strip() else None


def actions(doc):
    return {c["resource"]: c["action"] for c in doc["changes"]}


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


def test_cold_up_then_rerun_makes_no_mutating_call(cli, moto_url, runtime):
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert doc["ok"] is True
    assert actions(doc) == {kind: "create" for kind in KINDS}
    cold = runtime.last_aws.calls
    # 25 with the on-failure queue; 29: a first run also sends the bucket's four setting reads
    # beside its probe (each answers NoSuchBucket), the price of reading an existing bucket in
    # one round trip instead of two; 31 with the lifecycle rule (its read and its write).
    assert len(cold.calls) <= 31, cold.summary()
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert actions(doc) == {kind: "unchanged" for kind in KINDS}
    rerun = runtime.last_aws.calls
    assert rerun.mutating == []
    # 13, plus the on-failure queue's GetQueueUrl and GetQueueAttributes (on by default), plus
    # GetCallerIdentity beside ListRoles (unused here, needed on a first run, where asking it
    # after ListRoles would cost a round trip).
    # and the bucket's lifecycle rules (read in the same round trip as its other settings).
    assert len(rerun.reads) <= 17, rerun.summary()


def test_settings_hold_when_read_back_with_the_aws_cli(cli, moto_url):
    result, _ = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}

    def aws(*args):
        out = subprocess.run(
            ["aws", "--endpoint-url", moto_url, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        return json.loads(out) if out.strip() else {}

    pab = aws("s3api", "get-public-access-block", "--bucket", BUCKET)
    assert all(pab["PublicAccessBlockConfiguration"].values())
    own = aws("s3api", "get-bucket-ownership-controls", "--bucket", BUCKET)
    assert own["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    enc = aws("s3api", "get-bucket-encryption", "--bucket", BUCKET)
    rule = enc["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    table = aws("dynamodb", "describe-table", "--table-name", "ProcessedResults")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "file_name", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    fn = aws("lambda", "get-function-configuration", "--function-name", "serverless-data-processor")
    assert (fn["Runtime"], fn["Handler"]) == ("python3.12", "app.lambda_handler")
    notif = aws("s3api", "get-bucket-notification-configuration", "--bucket", BUCKET)
    [entry] = notif["LambdaFunctionConfigurations"]
    assert entry["Events"] == ["s3:ObjectCreated:*"]
    assert entry["LambdaFunctionArn"].endswith(":function:serverless-data-processor")
    policy = json.loads(
        aws("lambda", "get-policy", "--function-name", "serverless-data-processor")["Policy"]
    )
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/lambda/")
    assert groups["logGroups"][0]["retentionInDays"] == 14
    lifecycle = aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", BUCKET)
    [rule] = lifecycle["Rules"]
    assert rule["ID"] == "pipectl-abort-incomplete-uploads"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    role = aws("iam", "get-role", "--role-name", "pipectl-serverless-data-lambda")["Role"]
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@pytest.mark.parametrize(
    "setting, resource, expected_detail",
    [
        ("function:\n  memory_mb: 256\n", "function", "memory 128, want 256"),
        ("function:\n  timeout_s: 60\n", "function", "timeout 30, want 60"),
        ("trigger:\n  suffix: .csv\n", "trigger", "suffix '', want '.csv'"),
        ("function:\n  log_retention_days: 30\n", "log_group", "retention 14 days, want 30 days"),
    ],
)
def test_one_changed_setting_updates_exactly_that_resource(
    cli, moto_url, workdir, setting, resource, expected_detail
):
    assert up(cli, moto_url)[0].exit_code == 0
    (workdir / "pipectl.yaml").write_text(setting)
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    changed = {c["resource"]: c for c in doc["changes"] if c["action"] != "unchanged"}
    assert list(changed) == [resource]
    assert changed[resource]["action"] == "update"
    assert changed[resource]["detail"] == expected_detail


def test_handler_code_change_updates_only_the_function_code(cli, moto_url, workdir, runtime):
    assert up(cli, moto_url)[0].exit_code == 0
    source = workdir / "src"
    source.mkdir()
    (source / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    (workdir / "pipectl.yaml").write_text(f"function:\n  source: {source}\n")
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    changed = [c for c in doc["changes"] if c["action"] != "unchanged"]
    assert changed == [
        {
            "resource": "function",
            "name": "serverless-data-processor",
            "action": "update",
            "detail": "code differs from handler/",
        }
    ]
    assert runtime.last_aws.calls.mutating == ["lambda.UpdateFunctionCode"]


def test_lab_role_is_used_and_create_role_never_called(cli, moto_url, runtime):
    client("iam", moto_url).create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    [role_change] = [c for c in doc["changes"] if c["resource"] == "role"]
    assert role_change["name"] == "LabRole" and role_change["action"] == "unchanged"
    assert "iam.CreateRole" not in runtime.last_aws.calls.calls
    fn = client("lambda", moto_url).get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert fn["Role"].endswith(":role/LabRole")


def test_created_role_survives_iam_propagation_delay(cli, moto_url, faults):
    faults.add(
        "lambda.CreateFunction",
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
        times=4,
    )
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["role"] == "create" and actions(doc)["function"] == "create"
    assert faults.fired.count("lambda.CreateFunction") == 4


def audit_queue(url: str, allow_s3: bool) -> str:
    """Another team's queue, notified of deletes from the bucket."""
    s3, sqs = client("s3", url), client("sqs", url)
    s3.create_bucket(Bucket=BUCKET)
    queue_url = sqs.create_queue(QueueName="audit")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if allow_s3:
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"}},
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
    foreign = {
        "QueueConfigurations": [{"Id": "audit", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]
    }
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration=foreign)
    return arn


def test_a_foreign_entry_s3_would_reject_is_named_before_anything_changes(
    cli, moto_url, runtime, fake_clock
):
    """S3 validates every entry of the configuration it is given
    (API_PutBucketNotificationConfiguration): a queue that does not let S3 send to it breaks
    pipectl's write too. It used to be retried for a minute and blamed on pipectl's permission."""
    arn = audit_queue(moto_url, allow_s3=False)
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 1
    err = " ".join(result.stderr.split())
    assert f"entry 'audit' (s3:ObjectRemoved:* -> SQS queue {arn})" in err
    assert "does not let s3.amazonaws.com sqs:SendMessage from this bucket" in err
    assert f"fix: grant s3.amazonaws.com sqs:SendMessage on {arn}" in err
    assert runtime.last_aws.calls.mutating == []
    assert fake_clock.sleeps == []  # nothing retried


def test_foreign_notifications_survive(cli, moto_url):
    s3 = client("s3", moto_url)
    audit_queue(moto_url, allow_s3=True)
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    after = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    assert after["QueueConfigurations"][0]["Id"] == "audit"
    assert after["LambdaFunctionConfigurations"][0]["Id"] == "pipectl-serverless-data"
    assert actions(doc)["bucket"] == "update"  # adopted: settings applied, not tagged
    tags = s3.get_bucket_tagging  # adopted buckets stay untagged
    with pytest.raises(Exception, match="NoSuchTagSet"):
        tags(Bucket=BUCKET)


def test_dry_run_plans_without_mutating(cli, moto_url, runtime):
    result, doc = up(cli, moto_url, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert doc["dry_run"] is True
    assert actions(doc) == {kind: "create" for kind in KINDS}
    assert runtime.last_aws.calls.mutating == []
    assert client("s3", moto_url).list_buckets()["Buckets"] == []


def test_human_output_has_a_line_per_step_and_a_summary(cli, moto_url):
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # everything human goes to stderr
    for kind in KINDS:
        assert kind in result.stderr
    assert "created" in result.stderr and "summary" in result.stderr
    assert "pipeline is up" in result.stderr


def test_a_run_that_changes_nothing_says_so_in_one_line(cli, moto_url):
    """Every step line says unchanged: a summary table would repeat them."""
    assert up(cli, moto_url)[0].exit_code == 0
    result = cli("up", "--endpoint-url", moto_url)
    assert result.exit_code == 0, result.stderr
    assert f"no changes: the {len(KINDS)} resources match the config" in result.stderr
    assert "summary" not in result.stderr
    assert "pipeline is up" in result.stderr


def test_verbose_shows_calls_without_secrets(cli, moto_url, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAABCDEFGHIJKLMNOP")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "supersecretvalue123")
    result = cli("up", "--endpoint-url", moto_url, "-v")
    assert result.exit_code == 0, result.stderr
    assert "aws s3.CreateBucket" in result.stderr
    assert "lambda.CreateFunction" in result.stderr and "bytes>" in result.stderr
    output = result.stdout + result.stderr
    assert "AKIAABCDEFGHIJKLMNOP" not in output and "supersecretvalue123" not in output


def test_plain_http_endpoint_gets_no_tls_policy_so_uploads_work(cli, moto_url):
    """moto evaluates bucket policies: a deny on aws:SecureTransport=false would lock out every
    request to an http:// endpoint, so pipectl leaves that one statement out there."""
    assert up(cli, moto_url)[0].exit_code == 0
    s3 = client("s3", moto_url)
    s3.put_object(Bucket=BUCKET, Key="incoming/a b.txt", Body=b"hello")
    with pytest.raises(Exception, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)


def test_on_failure_queue_is_created_and_wired(cli, moto_url, workdir):
    (workdir / "pipectl.yaml").write_text(
        "function:\n  on_failure_queue: true\n  max_retry_attempts: 1\n  max_event_age_s: 3600\n"
    )
    result, doc = up(cli, moto_url)
    assert result.exit_code == 0, result.stderr
    assert actions(doc)["queue"] == "create"
    sqs = client("sqs", moto_url)
    url = sqs.get_queue_url(QueueName="serverless-data-processor-failures")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["managed-by"] == "pipectl"
    config = client("lambda", moto_url).get_function_event_invoke_config(
        FunctionName="serverless-data-processor"
    )
    assert config["MaximumRetryAttempts"] == 1
    assert config["MaximumEventAgeInSeconds"] == 3600
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:serverless-data-processor-failures"
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
    function = client("lambda", moto_url).get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert not function.get("DeadLetterConfig", {}).get("TargetArn")  # never both: see function.py
    policy = client("iam", moto_url).get_role_policy(
        RoleName="pipectl-serverless-data-lambda", PolicyName="pipectl-serverless-data"
    )["PolicyDocument"]
    [send] = [s for s in policy["Statement"] if s["Action"] == ["sqs:SendMessage"]]
    assert send["Resource"] == queue_arn
    result, doc = up(cli, moto_url)
    assert set(actions(doc).values()) == {"unchanged"}, doc


def test_dry_run_verbose_lists_the_api_operations_each_step_would_call(cli, moto_url):
    result = cli("up", "--endpoint-url", moto_url, "--dry-run", "-v")
    assert result.exit_code == 0, result.output
    listed = result.stderr.split("API calls the plan would make", 1)[1]
    for call in ("s3.CreateBucket", "dynamodb.CreateTable", "lambda.CreateFunction",
                 "lambda.AddPermission", "s3.PutBucketNotificationConfiguration"):  # fmt: skip
        assert call in listed
    document = json.loads(cli("up", "--endpoint-url", moto_url, "--dry-run", "--json").stdout)
    calls = {c["resource"]: c["calls"] for c in document["changes"]}
    assert calls["table"] == ["dynamodb.CreateTable", "dynamodb.DescribeTable"]
    assert calls["trigger"] == ["s3.PutBucketNotificationConfiguration"]
