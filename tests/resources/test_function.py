import io
import zipfile

import boto3
import pytest

from pipectl.build import packaging
from pipectl.errors import AwsError
from pipectl.plan import Action
from pipectl.resources import function, role

NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


def packaged(ctx, package):
    """The context of a run that deploys `package` (up and status build it first)."""
    ctx.package = package
    return ctx


@pytest.fixture
def lab_role(mocked):
    import json

    boto3.client("iam").create_role(
        RoleName="LabRole", AssumeRolePolicyDocument=json.dumps(role.TRUST_POLICY)
    )


@pytest.fixture
def package():
    return packaging.build()


def converge(ctx, package):
    state = function.read(ctx)
    change = function.plan(packaged(ctx, package), state)
    return function.apply(packaged(ctx, package), state, change)


def test_create_then_unchanged(make_ctx, lab_role, package):
    ctx, _ = make_ctx()
    assert converge(ctx, package).action is Action.CREATE
    config = boto3.client("lambda").get_function(FunctionName="serverless-data-processor")
    conf = config["Configuration"]
    assert conf["Runtime"] == "python3.12"
    assert conf["Handler"] == "app.lambda_handler"
    assert conf["Role"] == ctx.role_arn
    assert conf["Environment"]["Variables"]["TABLE_NAME"] == "ProcessedResults"
    assert conf["CodeSha256"] == package.sha256
    assert config["Tags"] == {"managed-by": "pipectl", "pipectl-pipeline": "serverless-data"}
    invoke = boto3.client("lambda").get_function_event_invoke_config(
        FunctionName="serverless-data-processor"
    )
    assert invoke["MaximumRetryAttempts"] == 2
    assert invoke["MaximumEventAgeInSeconds"] == 21600
    assert function.plan(packaged(ctx, package), function.read(ctx)).action is Action.UNCHANGED


def test_memory_change_updates_configuration_only(make_ctx, lab_role, package, spec_with):
    ctx, _ = make_ctx()
    converge(ctx, package)
    ctx, _ = make_ctx(spec_with(function={"memory_mb": 256}))
    change = function.plan(packaged(ctx, package), function.read(ctx))
    assert change.reasons == ("memory 128, want 256",)
    assert change.ops == ("configuration",)
    before = len(ctx.aws.calls.calls)
    function.apply(packaged(ctx, package), function.read(ctx), change)
    made = ctx.aws.calls.calls[before:]
    assert "lambda.UpdateFunctionConfiguration" in made
    assert "lambda.UpdateFunctionCode" not in made
    conf = boto3.client("lambda").get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert conf["MemorySize"] == 256


def test_code_change_uploads_code_only(make_ctx, lab_role, package, tmp_path, spec_with):
    ctx, _ = make_ctx()
    converge(ctx, package)
    (tmp_path / "app.py").write_text("def lambda_handler(event, context):\n    return 1\n")
    changed = packaging.build(str(tmp_path))
    ctx, _ = make_ctx(spec_with(function={"source": str(tmp_path)}))
    change = function.plan(packaged(ctx, changed), function.read(ctx))
    assert change.ops == ("code",)
    assert change.reasons == ("code differs from handler/",)
    function.apply(packaged(ctx, changed), function.read(ctx), change)
    conf = boto3.client("lambda").get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert conf["CodeSha256"] == changed.sha256


def test_iam_propagation_is_retried(make_ctx, lab_role, package, faults, fake_clock):
    faults.add("lambda.CreateFunction", "InvalidParameterValueException", NOT_ASSUMABLE, times=3)
    ctx, _ = make_ctx()
    assert converge(ctx, package).action is Action.CREATE
    assert faults.fired.count("lambda.CreateFunction") == 3
    assert fake_clock.sleeps == [1.0, 2.0, 4.0]


def test_iam_propagation_past_deadline_names_the_role(make_ctx, lab_role, package, faults):
    faults.add("lambda.CreateFunction", "InvalidParameterValueException", NOT_ASSUMABLE, times=None)
    ctx, _ = make_ctx()
    with pytest.raises(AwsError, match="cannot assume role arn:aws:iam::123456789012:role/LabRole"):
        converge(ctx, package)


def test_other_invalid_parameter_fails_at_once(make_ctx, lab_role, package, faults, fake_clock):
    faults.add("lambda.CreateFunction", "InvalidParameterValueException", "Unzipped size too big")
    ctx, _ = make_ctx()
    with pytest.raises(Exception, match="Unzipped size"):
        converge(ctx, package)
    assert fake_clock.sleeps == []


def set_state(client, operation, **fields):
    """Make moto's answers look like real Lambda's: Pending / InProgress for the first calls."""
    queue = list(fields.pop("sequence"))

    def hook(parsed, **_):
        if queue:
            target = parsed.get("Configuration", parsed)
            target.update(queue.pop(0))

    client.meta.events.register(f"after-call.lambda.{operation}", hook)


def test_pending_function_is_awaited(make_ctx, lab_role, package):
    ctx, _ = make_ctx()
    client = ctx.client("lambda")
    set_state(client, "CreateFunction", sequence=[{"State": "Pending"}])
    set_state(client, "GetFunction", sequence=[{}, {"State": "Pending"}])  # [0] is the read
    converge(ctx, package)
    gets = [c for c in ctx.aws.calls.calls if c == "lambda.GetFunction"]
    assert len(gets) == 3  # read, Pending, Active


def test_update_in_progress_conflict_is_retried(make_ctx, lab_role, package, faults, spec_with):
    ctx, _ = make_ctx()
    converge(ctx, package)
    faults.add(
        "lambda.UpdateFunctionConfiguration",
        "ResourceConflictException",
        "The operation cannot be performed at this time. An update is in progress",
        times=1,
    )
    ctx, _ = make_ctx(spec_with(function={"timeout_s": 60}))
    change = function.plan(packaged(ctx, package), function.read(ctx))
    assert change.reasons == ("timeout 30, want 60",)
    function.apply(packaged(ctx, package), function.read(ctx), change)
    assert faults.fired == ["lambda.UpdateFunctionConfiguration"]
    conf = boto3.client("lambda").get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert conf["Timeout"] == 60


def test_deterministic_zip(package):
    again = packaging.build()
    assert again.zip_bytes == package.zip_bytes
    names = zipfile.ZipFile(io.BytesIO(package.zip_bytes)).namelist()
    assert names == ["app.py"]


def test_changed_async_settings_are_replaced(make_ctx, lab_role, package, spec_with):
    ctx, _ = make_ctx()
    converge(ctx, package)
    ctx, _ = make_ctx(spec_with(function={"max_retry_attempts": 0, "max_event_age_s": 600}))
    change = function.plan(packaged(ctx, package), function.read(ctx))
    assert change.ops == ("replace_invoke_config",)
    assert change.reasons == (
        "MaximumRetryAttempts 2, want 0",
        "MaximumEventAgeInSeconds 21600, want 600",
    )
    function.apply(packaged(ctx, package), function.read(ctx), change)
    assert function.plan(packaged(ctx, package), function.read(ctx)).action is Action.UNCHANGED


def test_architecture_is_set_on_create_and_changed_with_the_code(
    make_ctx, lab_role, package, spec_with
):
    """UpdateFunctionConfiguration has no Architectures field; UpdateFunctionCode has
    (docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html). moto 5.2 ignores it
    there, so the change is checked in the request pipectl sends."""
    ctx, _ = make_ctx(spec_with(function={"architecture": "arm64"}))
    converge(ctx, package)
    conf = boto3.client("lambda").get_function_configuration(
        FunctionName="serverless-data-processor"
    )
    assert conf["Architectures"] == ["arm64"]
    assert function.plan(packaged(ctx, package), function.read(ctx)).action is Action.UNCHANGED
    ctx, _ = make_ctx()  # the default, x86_64
    change = function.plan(packaged(ctx, package), function.read(ctx))
    assert change.reasons == ("architecture arm64, want x86_64",)
    assert change.ops == (function.Op.CODE,)
    sent = []
    ctx.client("lambda").meta.events.register(
        "provide-client-params.lambda.UpdateFunctionCode",
        lambda params, **_: sent.append(dict(params)),
    )
    function.apply(ctx, function.read(ctx), change)
    assert sent[0]["Architectures"] == ["x86_64"]
    assert sent[0]["ZipFile"] == package.zip_bytes
