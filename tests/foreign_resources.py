"""Resources another team owns in the same account, made the way they would make them: what
pipectl must leave alone, and what S3 validates beside pipectl's own notification entry."""

from __future__ import annotations

import io
import zipfile
from typing import Any


def s3_invokable_function(lam: Any, role_arn: str, name: str) -> str:
    """A function of theirs, with the permission S3 needs to invoke it; its ARN."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return 1\n")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]
    lam.add_permission(
        FunctionName=name,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    return arn
