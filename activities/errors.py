"""Business errors raised from activities: not retried, with a message a clerk understands."""

from temporalio.exceptions import ApplicationError


def business_error(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)
