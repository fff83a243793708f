"""The queues tasks run on and the time limits they live under: what the apps size their
retries and sweeps by, and what the Celery configuration (``config.celeryconf``) routes by and
sizes the broker's visibility timeout from. Pure constants."""

from enum import StrEnum


class Queue(StrEnum):
    """Queues are named after the kind of work so a fleet can be split per stage."""

    DEFAULT = "default"
    VALIDATE = "validate"
    PIN = "pin"
    SYNTHETIC = "synthetic"
    REWARDS = "rewards"
    # Calls to a labeling dataset's model server: slow by nature (a model runs per batch),
    # and one that hangs must never hold a worker labeling's own tasks need.
    PREDICT = "predict"


TASK_SOFT_TIME_LIMIT = 25 * 60
TASK_TIME_LIMIT = 30 * 60
# The longest countdown / retry delay any task may ask for (exponential backoff is capped here).
MAX_COUNTDOWN_SECONDS = 15 * 60
