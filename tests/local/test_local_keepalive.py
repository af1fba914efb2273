"""The emulator keeps HTTP/1.1 connections open: one client's requests share one connection.

Every kind of response a client might misread on a kept-alive connection is exercised -- HEAD,
204 with no body, an error with a body, a 404 to a HEAD -- with short timeouts, so a response
whose end the client cannot find fails the test instead of hanging it.
"""

from __future__ import annotations

import http.client
import logging
import socket
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from emulator_helpers import Aws

from pipectl.local import server

CONNECTING = ("Starting new HTTP connection", "Resetting dropped connection")
QUICK = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1})


def connection(emulator: server.EmulatorInfo) -> http.client.HTTPConnection:
    url = urlsplit(emulator.endpoint_url)
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)


def test_one_boto3_client_uses_one_connection(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    s3 = aws.client("s3", config=QUICK)
    dynamodb = aws.client("dynamodb", config=QUICK)
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        s3.create_bucket(Bucket="kept")
        s3.put_object(Bucket="kept", Key="a", Body=b"x" * 1000)
        assert s3.head_object(Bucket="kept", Key="a")["ContentLength"] == 1000
        assert s3.get_object(Bucket="kept", Key="a")["Body"].read() == b"x" * 1000
        with pytest.raises(ClientError, match="404"):
            s3.head_object(Bucket="kept", Key="missing")  # an error to a HEAD: no body
        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket="kept", Key="missing")  # an error with a body
        deleted = s3.delete_object(Bucket="kept", Key="a")  # 204 No Content
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
        s3.list_objects_v2(Bucket="kept")
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            dynamodb.describe_table(TableName="none-such")
        dynamodb.list_tables()
    # urllib3 logs a connection it opens as new, or as a "dropped" one it opens again.
    opened = [r for r in caplog.records if r.getMessage().startswith(CONNECTING)]
    assert len(opened) == 2  # one for S3's client, one for DynamoDB's: each reused throughout


def test_a_request_body_left_unread_does_not_spill_into_the_next_request(
    emulator: server.EmulatorInfo,
) -> None:
    conn = connection(emulator)
    # A GET with a body the app never reads; then another request on the same connection.
    conn.request("GET", "/", body=b"GET / HTTP/1.1\r\n\r\n" * 50)
    first = conn.getresponse()
    first.read()
    assert first.version == 11
    assert first.getheader("Connection") != "close"
    conn.request("GET", "/")
    second = conn.getresponse()
    assert second.status == first.status
    second.read()
    conn.close()


def test_connection_close_from_the_client_is_honoured(emulator: server.EmulatorInfo) -> None:
    conn = connection(emulator)
    conn.request("GET", "/", headers={"Connection": "close"})
    response = conn.getresponse()
    response.read()
    assert response.getheader("Connection") == "close"
    assert response.will_close
    conn.close()


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_a_malformed_content_length_gets_a_400_and_the_connection_closes(
    emulator: server.EmulatorInfo, length: str
) -> None:
    url = urlsplit(emulator.endpoint_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw:
        raw.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nhello".encode())
        reply = b""
        while chunk := raw.recv(4096):  # ends when the server closes the connection
            reply += chunk
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), reply[:200]
