"""The emulator's dispatcher answers every host as moto's does, and asks moto once per host."""

from __future__ import annotations

import inspect

import pytest
from moto.server import DomainDispatcherApplication, create_backend_app

from pipectl.local.dispatcher import Dispatcher

HOSTS = [
    "dynamodb.us-east-1.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "lambda.eu-west-1.amazonaws.com",
    "logs.us-east-1.amazonaws.com",
    "sqs.us-east-1.amazonaws.com",
    "iam.amazonaws.com",
    "moto_api",
    "no-such-service.example.com",
    None,
]


class CountingMoto(DomainDispatcherApplication):
    """moto's dispatcher, counting the lookups made through it."""

    def __init__(self, create_app):
        super().__init__(create_app)
        self.lookups: list[str | None] = []

    def get_backend_for_host(self, host):
        self.lookups.append(host)
        return super().get_backend_for_host(host)


class Probe(Dispatcher, CountingMoto):
    """Dispatcher in front of the counting dispatcher: its super() is CountingMoto."""


def test_moto_still_has_the_method_the_dispatcher_overrides():
    assert list(inspect.signature(DomainDispatcherApplication.get_backend_for_host).parameters) == [
        "self",
        "host",
    ]
    assert "get_backend_for_host" in inspect.getsource(DomainDispatcherApplication.get_application)


@pytest.mark.parametrize("host", HOSTS)
def test_same_backend_as_moto(host):
    moto = DomainDispatcherApplication(create_backend_app)
    ours = Dispatcher(create_backend_app)
    assert ours.get_backend_for_host(host) == moto.get_backend_for_host(host)
    assert ours.get_backend_for_host(host) == moto.get_backend_for_host(host)  # remembered


def test_each_host_is_looked_up_once():
    probe = Probe(create_backend_app)
    for _ in range(3):
        for host in HOSTS:
            probe.get_backend_for_host(host)
    assert probe.lookups == HOSTS


def test_a_request_reaches_the_right_service():
    """Through get_application, as the server calls it: a signed DynamoDB request."""
    probe = Probe(create_backend_app)
    environ = {
        "PATH_INFO": "/",
        "HTTP_HOST": "127.0.0.1:5050",
        "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.ListTables",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/dynamodb/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }
    first = probe.get_application(environ)
    again = probe.get_application(environ)
    assert first is again
    assert list(probe.app_instances) == ["dynamodb"]
    assert len(probe.lookups) == 2  # the path's host (None), then the one from the signature
