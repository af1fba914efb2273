"""Which AWS errors a backfill waits out, and which stop it.

Throttling and server errors are retried with the shared backoff until a deadline, never dropped.
They reach this code when botocore's own retries (standard mode, 5 attempts) are used up, and
straight away when injected in tests. Errors that no later attempt can fix for any record -- the
function, table or bucket is missing, credentials are gone, access is denied -- stop the run;
a re-run then picks up where it stopped.
"""

from __future__ import annotations

from pipectl.aws import BAD_CREDENTIAL_CODES, DENIED_CODES, EXPIRED_CODES, error_code, http_status

THROTTLE_CODES = frozenset(
    {
        "TooManyRequestsException",  # Lambda Invoke: rate or concurrency
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "ProvisionedThroughputExceededException",  # DynamoDB
        "RequestLimitExceeded",
        "SlowDown",  # S3
        "ResourceConflictException",  # Lambda: the function is being updated
    }
)
SERVER_CODES = frozenset(
    {"ServiceException", "ServiceUnavailable", "InternalServerError", "InternalFailure"}
)
STOP_CODES = (
    EXPIRED_CODES
    | BAD_CREDENTIAL_CODES
    | DENIED_CODES
    | {"ResourceNotFoundException", "NoSuchBucket", "KMSAccessDeniedException"}
)


def retryable(exc: BaseException) -> bool:
    """Throttled, a server error (429 or 5xx), or a connection that broke: worth waiting for."""
    from botocore.exceptions import ConnectionError as BotocoreConnectionError

    if isinstance(exc, BotocoreConnectionError):
        return True
    code = error_code(exc)
    if code in STOP_CODES:
        return False
    status = http_status(exc)
    return code in THROTTLE_CODES or code in SERVER_CODES or status == 429 or status >= 500


def stops_the_run(exc: BaseException) -> bool:
    """No record can succeed after this error: stop, and let a re-run continue."""
    from botocore.exceptions import NoCredentialsError

    return isinstance(exc, NoCredentialsError) or error_code(exc) in STOP_CODES
