"""Test settings: the real settings module with test defaults in the environment.

Real services, not substitutes: PostgreSQL and Redis on loopback (bin/test starts them).
Production-like security (DEBUG off) except for the HTTPS redirect, which the test client
cannot follow.
"""

import os
import tempfile

# Media, the embedded IPFS store and the embedded broker live in a throwaway folder; worker
# processes started by the tests inherit it through the environment.
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="datadao-test-"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/datadao")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")


def _own_broker_database(url: str, xdist_worker: str) -> str:
    """The broker URL for one pytest-xdist process: the given Redis database, counted down by the
    process's number (gw0 keeps it, gw1 takes the one below, ...), so the Celery workers one test
    process starts never consume another's messages. Each process also gets its own test
    database from pytest-django (``test_<name>_gw<N>``)."""
    index = int(xdist_worker.removeprefix("gw") or 0)
    if not url.startswith("redis://") or index == 0:
        return url
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) - index) % 16}"


_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
# The processes a test starts (Celery workers) inherit the variables already adjusted: adjust once.
if _worker and os.environ.get("DATADAO_TEST_XDIST_WORKER") != _worker:
    # The xdist processes inherit the controller's environment, this module's defaults included:
    # each takes a folder and a broker database of its own below what it inherited.
    os.environ["DATADAO_TEST_XDIST_WORKER"] = _worker
    os.environ["CELERY_BROKER_URL"] = _own_broker_database(os.environ["CELERY_BROKER_URL"], _worker)
    os.environ["DATA_DIR"] = os.path.join(os.environ["DATA_DIR"], _worker)
    os.makedirs(os.environ["DATA_DIR"], exist_ok=True)

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("CONN_MAX_AGE", "0")
# A test-only validator key, derived from a public string: it guards nothing. Worker processes
# started by the tests inherit it through the environment.
os.environ.setdefault(
    "VALIDATOR_KEY", "0x" + __import__("hashlib").sha256(b"datadao-test-validator").hexdigest()
)
# A test-only data key-encryption key ring for members-only datasets, derived likewise.
os.environ.setdefault(
    "DATA_KEK", "test1:" + __import__("hashlib").sha256(b"datadao-test-kek").hexdigest()
)

# No upload backpressure by default: messages of tests that ran no worker stay in the test
# broker's queues and would look like a backlog (tests/datadao/test_metrics.py turns it on).
os.environ.setdefault("UPLOAD_BACKPRESSURE_SECONDS", "0")

from config.settings import *  # noqa: E402, F403

# Hashing speed is irrelevant to what the tests check.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Serve static files from the app folders without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
