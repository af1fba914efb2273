"""pipectl's own error types. The CLI edge turns each into one or two lines and an exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class PipectlError(Exception):
    """An error a user can act on: `message` says what went wrong, `hint` how to fix it."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(PipectlError):
    """Bad input: flags, configuration, names. Raised before any AWS call."""

    exit_code = EXIT_BAD_INPUT


class AwsError(PipectlError):
    """An AWS call failed in a way retries cannot fix."""

    def __init__(self, message: str, hint: str = "", code: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class BuildError(PipectlError):
    """The deployment package cannot be built (a dependency without a wheel for Lambda's
    platform, a package over Lambda's size limits). Reported before any AWS call."""
