"""What a command run needs beyond its flags, injectable as a whole: tests pass a Runtime with
botocore hooks (to inject real AWS errors) and fake time, instead of patching anything."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipectl.aws import Aws, ClientHook, Target
from pipectl.errors import UsageError

if TYPE_CHECKING:  # imported when first needed: `pipectl --help` loads no schema nor resources
    from pipectl.build.dependencies import PipRunner
    from pipectl.config.model import Spec
    from pipectl.context import Timing


@dataclass
class GlobalOptions:
    """The flags every command takes after its name."""

    config: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    local: bool = False
    json: bool = False
    verbose: bool = False


def default_timing() -> Timing:
    from pipectl.context import Timing

    return Timing()


@dataclass
class Runtime:
    hooks: list[ClientHook] = field(default_factory=list)
    timing: Timing = field(default_factory=default_timing)
    pipectl_home: Path | None = None
    # Runs pip to build a handler's requirements (dependencies.run_pip when None); tests pass
    # one that stands in for pip and the package index.
    run_pip: PipRunner | None = None
    # Set after connecting, so tests can read how many calls a run made.
    last_aws: Aws | None = None


def load_config(opts: GlobalOptions) -> Spec:
    from pipectl.config.model import find_config_file, load_spec

    return load_spec(find_config_file(opts.config))


def with_role_flags(spec: Spec, role_name: str | None, create_role: bool) -> Spec:
    """--role NAME / --create-role win over role.* in the config."""
    if role_name and create_role:
        raise UsageError("--role and --create-role exclude each other", "pass only one of them")
    from pipectl.config.model import RoleSpec
    from pipectl.names import check_role_name

    if role_name:
        problem = check_role_name(role_name)
        if problem:
            raise UsageError(f"--role: {problem}", "pass an IAM role name, e.g. --role LabRole")
        return replace(spec, role=RoleSpec(mode="existing", name=role_name))
    if create_role:
        return replace(spec, role=RoleSpec(mode="create", name=None))
    return spec


def check_flags(opts: GlobalOptions) -> None:
    if opts.local and opts.endpoint_url:
        raise UsageError("--local and --endpoint-url exclude each other", "pass only one of them")
    if opts.local and opts.profile:
        raise UsageError(
            "--local uses the emulator's dummy credentials; --profile does not apply",
            "drop --profile, or drop --local to use that profile on AWS",
        )
    if opts.endpoint_url and not opts.endpoint_url.startswith(("http://", "https://")):
        raise UsageError(
            f"--endpoint-url {opts.endpoint_url!r} is not an http(s) URL",
            "pass e.g. --endpoint-url http://127.0.0.1:5000",
        )


def resolve_target(opts: GlobalOptions, spec: Spec, runtime: Runtime) -> Target:
    """Flags win over the config, the config over boto3's own environment and profile."""
    from pipectl.config.model import resolve_region

    check_flags(opts)
    if opts.local:
        info = ensure_emulator(runtime)
        region = resolve_region(spec, opts.region, "us-east-1")
        return Target(region=region, endpoint_url=info.endpoint_url, dummy_credentials=True)
    region = resolve_region(spec, opts.region, boto3_region(opts.profile))
    return Target(region=region, profile=opts.profile, endpoint_url=opts.endpoint_url)


def boto3_region(profile: str | None) -> str | None:
    """The region boto3 itself would use (AWS_REGION, AWS_DEFAULT_REGION, the profile)."""
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if env:
        return env
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    try:
        return botocore.session.Session(profile=profile).get_config_variable("region")
    except ProfileNotFound:
        raise UsageError(
            f"profile {profile!r} is not in ~/.aws/config", "check --profile / AWS_PROFILE"
        ) from None


def ensure_emulator(runtime: Runtime):  # -> pipectl.local.server.EmulatorInfo
    """Start the emulator if needed; server.start says how to install moto when it is missing."""
    from pipectl.local import server

    return server.ensure_running(runtime.pipectl_home)


def make_aws(opts: GlobalOptions, spec: Spec, runtime: Runtime, on_call) -> Aws:
    aws = Aws(resolve_target(opts, spec, runtime), hooks=runtime.hooks, on_call=on_call)
    runtime.last_aws = aws
    return aws
