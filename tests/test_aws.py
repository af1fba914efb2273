import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from pipectl.aws import Aws, CallLog, Target, describe_params, is_read, redact, translate


def client_error(code, message="msg", status=400):
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "Op",
    )


@pytest.mark.parametrize(
    "exc, expected, hint",
    [
        (NoCredentialsError(), "no AWS credentials found", "aws configure"),
        (client_error("ExpiredToken"), "session expired", "lab session"),
        (client_error("ExpiredTokenException"), "session expired", "lab session"),
        (client_error("RequestExpired"), "session expired", "lab session"),
        (client_error("AccessDenied", "not authorized"), "access denied", "permission"),
        (client_error("UnrecognizedClientException"), "rejected the credentials", "access key"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "cannot reach", "endpoint"),
        (client_error("Weird", "something odd"), "Weird: something odd", ""),
    ],
)
def test_translate_gives_message_and_hint(exc, expected, hint):
    error = translate(exc)
    assert expected in error.message
    assert hint in error.hint


def test_secrets_are_redacted():
    assert redact("key AKIAABCDEFGHIJKLMNOP used") == "key AKIA**************** used"
    line = describe_params(
        {
            "Environment": {"Variables": {"DB_PASSWORD": "hunter2"}},
            "SessionToken": "tok",
            "ZipFile": b"\x00" * 10,
        }
    )
    assert "hunter2" not in line and "tok" not in line
    assert "<10 bytes>" in line
    error = translate(client_error("AccessDenied", "user AKIAABCDEFGHIJKLMNOP denied"))
    assert "AKIAABCDEFGHIJKLMNOP" not in error.message


def test_call_log_classifies_reads():
    log = CallLog()
    for call in ("s3.GetBucketPolicy", "s3.PutBucketPolicy", "dynamodb.Scan", "s3.HeadBucket"):
        log.record(call)
    assert log.mutating == ["s3.PutBucketPolicy"]
    assert is_read("logs.FilterLogEvents") and not is_read("lambda.CreateFunction")


def test_clients_use_standard_retries_and_are_shared():
    aws = Aws(Target(region="eu-west-1", dummy_credentials=True))
    s3 = aws.client("s3")
    assert s3 is aws.client("s3")
    assert s3.meta.config.retries["mode"] == "standard"
    assert s3.meta.region_name == "eu-west-1"
    assert "pipectl/" in s3.meta.config.user_agent_extra


def test_endpoint_url_from_flag_or_environment(monkeypatch):
    aws = Aws(Target(region="us-east-1", endpoint_url="http://127.0.0.1:4566"))
    assert aws.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:4566"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5555")
    assert (
        Aws(Target(region="us-east-1")).client("sqs").meta.endpoint_url == "http://127.0.0.1:5555"
    )
