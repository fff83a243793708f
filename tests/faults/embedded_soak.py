"""A Celery app on the embedded broker, for the soak test of ``test_embedded_broker``.

The broker settings are the project's own (``celery_settings`` with no broker URL), so workers
and producers run exactly what ``bin/run`` runs; only ``SOAK_TRANSPORT`` may swap the transport
class, to run the same load on kombu's stock filesystem transport. No Django: the task records
each message id as an empty file named after it (creating it twice is one file: idempotent).

Worker:   celery -A tests.faults.embedded_soak worker -Q default
Producer: python -m tests.faults.embedded_soak FIRST COUNT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery import Celery

from config.celeryconf import celery_settings

DATA_DIR = Path(os.environ["SOAK_DATA_DIR"])
RECORD_DIR = DATA_DIR / "recorded"

_conf = celery_settings(broker_url="", result_backend="", data_dir=DATA_DIR)
_conf["CELERY_BROKER_TRANSPORT"] = (
    os.environ.get("SOAK_TRANSPORT") or _conf["CELERY_BROKER_TRANSPORT"]
)

app = Celery("soak", set_as_current=False)
app.conf.update({key.removeprefix("CELERY_").lower(): value for key, value in _conf.items()})
for _key in ("data_folder_in", "control_folder", "inflight_folder"):
    os.makedirs(_conf["CELERY_BROKER_TRANSPORT_OPTIONS"][_key], exist_ok=True)
RECORD_DIR.mkdir(parents=True, exist_ok=True)


@app.task(name="soak.record", ignore_result=True)
def record(message_id: int) -> None:
    os.close(os.open(RECORD_DIR / str(message_id), os.O_CREAT | os.O_WRONLY, 0o644))


def produce(first: int, count: int) -> None:
    with app.producer_or_acquire() as producer:
        for message_id in range(first, first + count):
            record.apply_async(args=[message_id], producer=producer)


if __name__ == "__main__":
    produce(int(sys.argv[1]), int(sys.argv[2]))
