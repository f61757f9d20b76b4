"""Activity options shared by all workflows."""

from datetime import timedelta

from temporalio.common import RetryPolicy

DB_ACTIVITY = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=20,
    ),
}
