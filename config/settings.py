"""Django settings for datadao: the one place configuration lives.

Everything comes from the environment through one ``env`` object (django-environ). With no
variables set, the platform runs on embedded defaults: SQLite, the kombu filesystem broker
and the embedded IPFS store, all under ``DATA_DIR``. README.md lists the production variables.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF

from config.celeryconf import celery_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is a convenience for operators; the environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()

# Only DEBUG may fall back to a throwaway key; production must set SECRET_KEY.
_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "datadao.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "datadao",
    "ipfs",
    "contributions",
    "labeling",
    "synthetic",
    "rewards",
    "rights",
    "governance",
    "disputes",
    "webhooks",
    "console",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id, and so does every task it sends.
    "datadao.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the one chosen with the switcher (its cookie), else the browser's
    # Accept-Language, else LANGUAGE_CODE. After sessions, before anything that renders text.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # API tokens: authenticated and authorised here, before the CSRF check (see the module).
    "contributions.token_auth.ApiTokenMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so its 400 still carries the security headers set by the middleware above.
    "datadao.middleware.RefuseNulMiddleware",
    # A service's refusal that a view leaves uncaught: its status, code and message.
    "datadao.http.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "datadao.context.nav",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# PostgreSQL is the system of record in production; SQLite is the zero-setup default.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'datadao.sqlite3'}")
}
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")  # "" or "pgbouncer"
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise environ.ImproperlyConfigured("DATABASE_POOLER must be empty or 'pgbouncer'.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-setup default must work on a fresh checkout: make its folder.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL + IMMEDIATE lets the web process and the worker write concurrently without
    # "database is locked" errors on upgrade from a read to a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # DATABASE_POOLER=pgbouncer (transaction mode): each transaction may get a different server
    # connection, so a server-side cursor (QuerySet.iterator() opens one) would vanish between
    # transactions, and the pooler, not Django, keeps the connections open.
    _behind_pgbouncer = DATABASE_POOLER == "pgbouncer"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int(
        "CONN_MAX_AGE", default=0 if _behind_pgbouncer else 60
    )
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = _behind_pgbouncer
    # Prepared statements only where asked for: the ORM binds on the client and never prepares;
    # the labeling hot path (labeling.services.fastpath) prepares its few statements per connection.
    # Off behind pgbouncer, whose next transaction may run on a server that never saw them.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _behind_pgbouncer else 2**31 - 1
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth: wallet users, Sign-In with Ethereum -------------------------------------------------
AUTH_USER_MODEL = "datadao.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/"
# EIP-4361: the domain and URI a message must name. Empty means "this request's host".
SIWE_DOMAIN = env.str("SIWE_DOMAIN", default="")
SIWE_ALLOWED_CHAIN_IDS = env.list("SIWE_ALLOWED_CHAIN_IDS", cast=int, default=[1, 11155111, 31337])
SIWE_NONCE_TTL_SECONDS = env.int("SIWE_NONCE_TTL_SECONDS", default=300)
SIWE_CLOCK_SKEW_SECONDS = env.int("SIWE_CLOCK_SKEW_SECONDS", default=60)

# --- Security ---------------------------------------------------------------------------------
# A TLS-terminating proxy in front tells us the original scheme in X-Forwarded-Proto. Anyone can
# send that header, so it is believed only when the operator says such a proxy is there, one
# that overwrites the header on every request and is the only way to reach this process.
# Without it, a plain-HTTP request that claims "https" would skip the HTTPS redirect and HSTS
# and pass as secure (SIWE's https origin, CSRF's strict Referer check).
TRUSTED_PROXY = env.bool("TRUSTED_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY else None
# Secure by default whenever DEBUG is off; each one can be relaxed explicitly (e.g. behind a
# TLS-terminating proxy that already redirects).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts only from our own static files, never inline,
# so an injected <script> or on*= attribute cannot run. Inline *styles* stay allowed: the
# Django admin and the server-drawn SVG charts use style attributes, and a style cannot run
# code. Responses that set their own policy keep it (/ipfs/<cid> serves uploads sandboxed).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
# Upload bodies are streamed to disk above this size instead of being held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"

# --- Shared files ------------------------------------------------------------------------------
# Where the files web and the workers share live (uploads and their row-digest sidecars, label
# imports, synthetic inputs and outputs; datadao/blobs.py): "local", folders under DATA_DIR,
# which every host running web or workers must then share; or "s3", an S3-compatible bucket,
# so that hosts share no disk. The bucket's credentials are read from UPLOAD_S3_ACCESS_KEY_ID
# and UPLOAD_S3_SECRET_ACCESS_KEY when it is first used, never kept here; unset, boto3 looks
# in its own places (AWS_* variables, an instance or pod role).
UPLOAD_STORAGE = env.str("UPLOAD_STORAGE", default="local")
if UPLOAD_STORAGE not in ("local", "s3"):
    raise environ.ImproperlyConfigured("UPLOAD_STORAGE must be 'local' or 's3'.")
UPLOAD_S3_BUCKET = env.str("UPLOAD_S3_BUCKET", default="")
# Empty: AWS itself. Another S3-compatible service: its URL (https://minio.internal:9000).
UPLOAD_S3_ENDPOINT_URL = env.str("UPLOAD_S3_ENDPOINT_URL", default="")
UPLOAD_S3_REGION = env.str("UPLOAD_S3_REGION", default="")
if UPLOAD_STORAGE == "s3" and not UPLOAD_S3_BUCKET:
    raise environ.ImproperlyConfigured("UPLOAD_STORAGE=s3 needs UPLOAD_S3_BUCKET.")

# --- Languages ------------------------------------------------------------------------------
# English and Simplified Chinese. The catalogues (.po) live in locale/ and are compiled to .mo in
# Python by `manage.py compilecatalogues` (bin/run and the tests run it; no GNU gettext needed).
# Numbers and dates are formatted for the active language (USE_L10N is always on in Django 5).
# API error codes stay English; their detail follows the language (datadao.http).
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- IPFS ---------------------------------------------------------------------------------------
IPFS_BACKEND = env.str("IPFS_BACKEND", default="embedded")  # embedded | kubo
# Contributions up to this size run every pipeline stage in one delivery of the express task
# (contributions.tasks.process_contribution) instead of one message per stage; 0 turns it off.
# Each stage keeps its own transaction and status guard; the saving is the broker round trips
# and per-delivery bookkeeping, most of the cost of a small file.
PIPELINE_EXPRESS_MAX_BYTES = env.int("PIPELINE_EXPRESS_MAX_BYTES", default=8 * 1024 * 1024)
# Whether the express task also pins. By default only with the embedded store (a local write);
# a Kubo/Cluster endpoint keeps its own pin queue, workers and backoff.
PIPELINE_EXPRESS_PIN = env.bool("PIPELINE_EXPRESS_PIN", default=IPFS_BACKEND == "embedded")
# The batch lane (PostgreSQL): a delivery of the express task whose contribution waits in
# "received" claims up to this many waiting contributions of at most PIPELINE_BATCH_MAX_BYTES
# each and records them in one transaction (contributions.services.batch); 1 turns it off.
PIPELINE_BATCH_SIZE = env.int("PIPELINE_BATCH_SIZE", default=32)
PIPELINE_BATCH_MAX_BYTES = env.int("PIPELINE_BATCH_MAX_BYTES", default=256 * 1024)
# How long a batch waits for the rest of a burst of uploads before it claims (0: at once).
PIPELINE_BATCH_LINGER_MS = env.int("PIPELINE_BATCH_LINGER_MS", default=200)
# Fingerprints a worker process keeps resident for the near-duplicate search
# (contributions.near), over all datasets: about 24 bytes an image, 32 a text. The least
# recently used dataset's index is dropped beyond it (and re-read from the database if needed).
NEAR_INDEX_MAX_ENTRIES = env.int("NEAR_INDEX_MAX_ENTRIES", default=4_000_000)
IPFS_API_URL = env.str("IPFS_API_URL", default="")
IPFS_EMBEDDED_ROOT = DATA_DIR / "ipfs"
IPFS_TIMEOUT_SECONDS = env.float("IPFS_TIMEOUT_SECONDS", default=30.0)
PIN_AUDIT_INTERVAL_SECONDS = env.int("PIN_AUDIT_INTERVAL_SECONDS", default=3600)
# Where pins are copied beyond IPFS_BACKEND (the first replica), comma-separated: embedded,
# name=kubo+http://host:5001, name=psa+https://api.example/psa#gateway=https://gw.example
# (the pinning service's token in IPFS_REPLICA_<NAME>_TOKEN, read when used). A DAO's
# replication factor picks the first ones in this order; it is at most 1 + their number.
IPFS_REPLICAS = env.list("IPFS_REPLICAS", default=[])

# --- Signer keys --------------------------------------------------------------------------------
# Keys are read from the environment (or an encrypted keystore + password) at the moment they
# are used, never stored in settings dumps, the database or logs. Only their names live here.
SIGNER_KEY_VARIABLES = {
    "validator": ("VALIDATOR_KEY", "VALIDATOR_KEYSTORE", "VALIDATOR_PASSWORD"),
    "rewards": ("REWARD_SIGNER_KEY", "REWARD_SIGNER_KEYSTORE", "REWARD_SIGNER_PASSWORD"),
    # Pays gas: sends setEpochRoot for closed epochs (rewards.relay). Holds no authority over
    # payouts: the contract checks the rewards signer's signature on every root.
    "relayer": ("RELAYER_KEY", "RELAYER_KEYSTORE", "RELAYER_PASSWORD"),
    # Deploys distributors (manage.py rewards_deploy); needed only while deploying.
    "deployer": ("DEPLOYER_KEY", "DEPLOYER_KEYSTORE", "DEPLOYER_PASSWORD"),
}


# --- Validator sets (contributions.quorum) -----------------------------------------------------
# How far a validator's signed request time may be from the server's clock (either way): a
# captured request is refused after this.
VALIDATOR_REQUEST_MAX_AGE_SECONDS = env.int("VALIDATOR_REQUEST_MAX_AGE_SECONDS", default=300)


# --- Chains ---------------------------------------------------------------------------------
# JSON-RPC endpoints the platform reads contracts through, as "CHAIN_ID=URL" pairs separated by
# commas (e.g. "1=https://eth.example/rpc,11155111=https://sepolia.example/rpc"). Setting a
# DAO's reward contract on a listed chain checks the contract's on-chain daoId() first; on any
# other chain it cannot be read, and the daoId inside every signed payload is the protection.
def _chain_rpc_urls(value: str) -> dict[int, str]:
    urls = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        chain, sep, url = item.partition("=")
        if not (sep and chain.strip().isdigit() and url.strip()):
            raise environ.ImproperlyConfigured(
                f"CHAIN_RPC_URLS: {item!r} is not CHAIN_ID=URL (pairs separated by commas)."
            )
        urls[int(chain)] = url.strip()
    return urls


CHAIN_RPC_URLS: dict[int, object] = _chain_rpc_urls(env.str("CHAIN_RPC_URLS", default=""))
CHAIN_RPC_TIMEOUT_SECONDS = env.float("CHAIN_RPC_TIMEOUT_SECONDS", default=10.0)


def _chain_ints(name: str, value: str) -> dict[int, int]:
    pairs = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        chain, sep, number = item.partition("=")
        if not (sep and chain.strip().isdigit() and number.strip().isdigit()):
            raise environ.ImproperlyConfigured(
                f"{name}: {item!r} is not CHAIN_ID=NUMBER (pairs separated by commas)."
            )
        pairs[int(chain)] = int(number)
    return pairs


# Blocks an event must be buried under before the chain reader counts it as final, per chain
# ("CHAIN_ID=N" pairs); chains not listed use CHAIN_CONFIRMATIONS_DEFAULT. Until then a claim
# shows as pending, and a reorganisation inside that depth is rolled back and read again.
CHAIN_CONFIRMATIONS: dict[int, int] = _chain_ints(
    "CHAIN_CONFIRMATIONS", env.str("CHAIN_CONFIRMATIONS", default="1=12,11155111=6")
)
CHAIN_CONFIRMATIONS_DEFAULT = env.int("CHAIN_CONFIRMATIONS_DEFAULT", default=12)
# The most blocks one eth_getLogs call asks for (public endpoints cap ranges).
CHAIN_LOG_BLOCK_RANGE = env.int("CHAIN_LOG_BLOCK_RANGE", default=2000)
# How often the chain reader polls every distributor.
CHAIN_WATCH_INTERVAL_SECONDS = env.float("CHAIN_WATCH_INTERVAL_SECONDS", default=15.0)
# How often a relay awaiting its transaction's receipt looks again.
CHAIN_RELAY_POLL_SECONDS = env.float("CHAIN_RELAY_POLL_SECONDS", default=15.0)
# A relayed transaction not mined after this long is replaced (same nonce, higher fees).
CHAIN_TX_REPLACE_AFTER_SECONDS = env.int("CHAIN_TX_REPLACE_AFTER_SECONDS", default=180)

# --- Celery -------------------------------------------------------------------------------------
# Built in config/celeryconf.py so the reliability rules (acks_late, visibility timeout
# longer than every countdown, queues per kind of work) live in one tested place.
globals().update(
    celery_settings(
        broker_url=env.str("CELERY_BROKER_URL", default=""),
        result_backend=env.str("CELERY_RESULT_BACKEND", default=""),
        data_dir=DATA_DIR,
    )
)

# --- Contributions ---------------------------------------------------------------------------
CONTRIBUTIONS_PER_HOUR = env.int("CONTRIBUTIONS_PER_HOUR", default=120)
# Bytes one user may have in flight (uploads being received at once, by Content-Length); a
# lone upload always passes. An upload's bytes stop counting when its request ends, or after
# the TTL if its process died mid-upload.
UPLOAD_IN_FLIGHT_BYTES = env.int("UPLOAD_IN_FLIGHT_BYTES", default=1024 * 1024 * 1024)
UPLOAD_IN_FLIGHT_TTL_SECONDS = env.int("UPLOAD_IN_FLIGHT_TTL_SECONDS", default=3600)
# The sweep deletes staging files not written to for this long (a dead request's leftovers).
UPLOAD_STAGING_MAX_AGE_SECONDS = env.int("UPLOAD_STAGING_MAX_AGE_SECONDS", default=3600)

# --- Demo -----------------------------------------------------------------------------------
# One-click sign-in as a demo member (their addresses have no private key). Only ever with
# DEBUG on: bin/run turns it on for the local demo; a production setting cannot.
DEMO_SIGN_IN = DEBUG and env.bool("DEMO_SIGN_IN", default=False)

# --- Labeling -------------------------------------------------------------------------------
# How long a labeler holds a task before its slot goes back to the pool.
LABEL_HOLD_SECONDS = env.int("LABEL_HOLD_SECONDS", default=300)
# How long a labeler can take an answer back; a task settles only after its newest label is
# this old (labeling.conf.undo_seconds).
LABEL_UNDO_SECONDS = env.int("LABEL_UNDO_SECONDS", default=60)
# Every group an aggregate query over a release returns must hold at least this many rows.
QUERY_MIN_GROUP_ROWS = env.int("QUERY_MIN_GROUP_ROWS", default=5)
# The largest release (its contributions' bytes) an aggregate query runs over.
QUERY_MAX_RELEASE_BYTES = env.int("QUERY_MAX_RELEASE_BYTES", default=1 << 30)

# --- Model prediction endpoints (labeling pre-labels over HTTP) ------------------------------
# A dataset admin's prediction endpoint URL is held to the same rule as a webhook's (no
# loopback, private, link-local... addresses), with its own exceptions: a model server on the
# operator's own network (gpu.internal, 10.1.2.3, 10.8.0.0/16) is common, and allowing it
# should not let webhooks reach that network too.
PREDICTIONS_ALLOW_PRIVATE = env.bool("PREDICTIONS_ALLOW_PRIVATE", default=False)
PREDICTIONS_ALLOWED_HOSTS = env.list("PREDICTIONS_ALLOWED_HOSTS", default=[])
# Seconds between a failed batch and its next try: len + 1 tries, then the run stops (failed).
PREDICTIONS_RETRY_DELAYS = env.list("PREDICTIONS_RETRY_DELAYS", cast=int, default=[10, 60, 300])

# --- Webhooks -------------------------------------------------------------------------------
# Endpoint URLs may not reach this platform's own network: hosts resolving to loopback,
# private, link-local, multicast or reserved addresses are refused at registration and again
# at every delivery. WEBHOOKS_ALLOW_PRIVATE lifts that for every host (a lab, the tests);
# WEBHOOKS_ALLOWED_HOSTS for the named hosts, addresses or networks only (hooks.internal,
# 10.1.2.3, 10.8.0.0/16).
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
WEBHOOKS_ALLOWED_HOSTS = env.list("WEBHOOKS_ALLOWED_HOSTS", default=[])
# Seconds between a failed attempt and the next: len + 1 attempts in all (eight over a day).
WEBHOOKS_RETRY_DELAYS = env.list(
    "WEBHOOKS_RETRY_DELAYS", cast=int, default=[10, 60, 300, 1800, 7200, 21600, 54000]
)
# An endpoint is disabled (and its DAO told) once this many attempts in a row failed and the
# first of them is this old.
WEBHOOKS_DISABLE_AFTER_FAILURES = env.int("WEBHOOKS_DISABLE_AFTER_FAILURES", default=10)
WEBHOOKS_DISABLE_AFTER_SECONDS = env.int("WEBHOOKS_DISABLE_AFTER_SECONDS", default=24 * 3600)

# --- Disputes -------------------------------------------------------------------------------
# Per challenger and DAO: unresolved challenges at once, and challenges filed in 24 hours.
# With the DAO's bond and one open challenge per target per challenger, what bounds spam.
DISPUTES_MAX_OPEN = env.int("DISPUTES_MAX_OPEN", default=5)
DISPUTES_DAILY_LIMIT = env.int("DISPUTES_DAILY_LIMIT", default=10)

# --- Sweeper --------------------------------------------------------------------------------
# Work in a non-final state for longer than this is re-dispatched by datadao.tasks.sweep.
SWEEP_STUCK_AFTER_SECONDS = env.int("SWEEP_STUCK_AFTER_SECONDS", default=300)
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-work": {"task": "datadao.tasks.sweep", "schedule": SWEEP_INTERVAL_SECONDS},
    "worker-heartbeat": {"task": "datadao.tasks.heartbeat", "schedule": 30.0},
    "audit-pins": {"task": "ipfs.tasks.audit_pins", "schedule": PIN_AUDIT_INTERVAL_SECONDS},
    # The embedded store's unpinned blocks (withdrawn contributions', replaced files').
    "collect-garbage": {"task": "ipfs.tasks.collect_garbage", "schedule": 24 * 3600.0},
    "close-due-epochs": {"task": "rewards.tasks.close_due_epochs", "schedule": 3600.0},
    # The chain reader (only DAOs with a contract on a chain in CHAIN_RPC_URLS) and the check
    # of what it read against what was signed.
    "chain-watch": {"task": "rewards.tasks.chain_watch", "schedule": CHAIN_WATCH_INTERVAL_SECONDS},
    "chain-reconcile": {"task": "rewards.tasks.chain_reconcile", "schedule": 3600.0},
    "release-expired-holds": {"task": "labeling.tasks.release_expired_holds", "schedule": 60.0},
    "fold-tallies": {"task": "contributions.tasks.fold_tallies", "schedule": 10.0},
    # Proposals whose period ended are tallied and published, passed ones executed.
    "settle-due-proposals": {"task": "governance.tasks.settle_due_proposals", "schedule": 60.0},
}

# --- Logging --------------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (python-json-logger). Either way every line carries
# the request id that follows an upload through every task it causes (datadao.requestid).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "datadao.requestid.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(process)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Uploads are answered 503 + Retry-After while the validate queue's oldest message is older
# than this (seconds; 0: never). Read from Redis; other brokers do not say.
UPLOAD_BACKPRESSURE_SECONDS = env.int("UPLOAD_BACKPRESSURE_SECONDS", default=600)
# /metrics: Bearer METRICS_TOKEN when set; otherwise only these client addresses.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
