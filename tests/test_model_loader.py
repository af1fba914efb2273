"""pipectl.model_loader gives botocore's answers (the same service lists, the same models, the
same errors, AWS_DATA_PATH honoured) and pipectl's sessions use it."""

from __future__ import annotations

import gzip
import json
from collections import OrderedDict
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from pipectl import model_loader
from pipectl.aws import Aws, Target

MODEL_TYPES = ["service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1", "examples-1"]
PIPECTL_SERVICES = ["sts", "s3", "dynamodb", "iam", "logs", "sqs", "lambda"]


@pytest.mark.parametrize("type_name", MODEL_TYPES)
def test_lists_the_services_botocore_lists(type_name):
    assert model_loader.ModelLoader().list_available_services(type_name) == (
        Loader().list_available_services(type_name)
    )


def test_one_walk_answers_every_model_type(monkeypatch):
    loader = model_loader.ModelLoader()
    walks = []
    real = model_loader.version_files
    monkeypatch.setattr(model_loader, "version_files", lambda f: walks.append(f) or real(f))
    for type_name in MODEL_TYPES:
        loader.list_available_services(type_name)
    assert len(walks) == len(set(walks)) > 100  # each service folder walked once


@pytest.mark.parametrize("service", PIPECTL_SERVICES)
def test_same_models_as_botocore_in_plain_dicts(service):
    ours = model_loader.ModelLoader().load_service_model(service, "service-2")
    theirs = Loader().load_service_model(service, "service-2")
    assert ours == theirs
    assert type(ours) is dict and not any(isinstance(v, OrderedDict) for v in ours.values())
    assert list(ours["shapes"]) == list(theirs["shapes"])  # the same order, member by member
    for name, shape in theirs["shapes"].items():
        assert list(ours["shapes"][name].get("members", {})) == list(shape.get("members", {}))


def test_endpoints_data_is_the_same():
    assert model_loader.ModelLoader().load_data("endpoints") == Loader().load_data("endpoints")


def test_an_unknown_service_gets_botocores_error():
    session = botocore.session.Session()
    model_loader.install(session)
    with pytest.raises(UnknownServiceError, match="Unknown service: 'no-such-service'"):
        session.create_client("no-such-service", region_name="us-east-1")


def test_making_clients_walks_no_other_services_folders(monkeypatch):
    """A client's models are found in its service's own folders: the ~420-folder walk happens
    only when the whole list is asked for."""
    walks = []
    real = model_loader.version_files
    monkeypatch.setattr(model_loader, "version_files", lambda f: walks.append(f) or real(f))
    session = botocore.session.Session()
    model_loader.install(session)
    for service in PIPECTL_SERVICES:
        session.create_client(
            service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
    assert walks == []


@pytest.mark.parametrize(
    ("service", "type_name", "api_version"),
    [
        ("sts", "waiters-2", None),  # a service without that model type
        ("../s3", "service-2", None),  # not a folder directly in a search path
        ("s3/2006-03-01", "service-2", None),
        (".", "service-2", None),
        ("no-such-service", "service-2", None),
        ("dynamodb", "waiters-2", None),  # these load
        ("s3", "service-2", "2006-03-01"),
        ("lambda", "paginators-1", None),
    ],
)
def test_the_same_model_or_error_as_botocore(service, type_name, api_version):
    def outcome(loader):
        try:
            return loader.load_service_model(service, type_name, api_version)
        except Exception as exc:  # the comparison is the point: which error, with what text
            return type(exc), str(exc)

    assert outcome(model_loader.ModelLoader()) == outcome(Loader())


def write_model(folder: Path, service: str, model: dict, compressed: bool) -> None:
    version = folder / service / model["metadata"]["apiVersion"]
    version.mkdir(parents=True)
    if compressed:
        (version / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model).encode()))
    else:
        (version / "service-2.json").write_text(json.dumps(model))


@pytest.mark.parametrize("compressed", [False, True])
def test_aws_data_path_models_are_found_as_botocore_finds_them(tmp_path, monkeypatch, compressed):
    """A model under AWS_DATA_PATH (here a copy of STS under another name, in .json or .json.gz)
    is listed and loaded, and the user's copy wins over botocore's, as with botocore's loader."""
    sts = Loader().load_service_model("sts", "service-2")
    custom = json.loads(json.dumps(sts))
    custom["metadata"]["serviceId"] = "Pipectl Test"
    custom["metadata"]["endpointPrefix"] = "sts"
    custom["documentation"] = "pipectl's copy"
    write_model(tmp_path, "pipectltest", custom, compressed)
    write_model(tmp_path, "sts", custom, compressed)
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    session = botocore.session.Session()
    model_loader.install(session)
    loader = session.get_component("data_loader")
    assert isinstance(loader, model_loader.ModelLoader)
    assert "pipectltest" in session.get_available_services()
    assert session.get_available_services() == (botocore.session.Session().get_available_services())
    assert loader.load_service_model("sts", "service-2")["documentation"] == "pipectl's copy"
    client = session.create_client("pipectltest", region_name="us-east-1")
    assert hasattr(client, "get_caller_identity")


def test_a_missing_data_path_folder_is_skipped_as_botocore_does(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "gone"))
    session = botocore.session.Session()
    model_loader.install(session)
    assert session.create_client("sts", region_name="us-east-1").meta.service_model


def test_pipectl_sessions_load_models_with_it():
    aws = Aws(Target(region="us-east-1", dummy_credentials=True))
    assert isinstance(aws.session().get_component("data_loader"), model_loader.ModelLoader)
    assert aws.client("s3").meta.service_model.service_name == "s3"


def test_a_model_file_that_is_not_json_fails_loudly(tmp_path, monkeypatch):
    """botocore raises on a corrupt model; so does this loader (no silent empty model)."""
    version = tmp_path / "brokensvc" / "2020-01-01"
    version.mkdir(parents=True)
    (version / "service-2.json").write_text("{not json")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    session = botocore.session.Session()
    model_loader.install(session)
    with pytest.raises(json.JSONDecodeError):
        session.get_component("data_loader").load_service_model("brokensvc", "service-2")
