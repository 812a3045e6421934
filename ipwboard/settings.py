"""IPW Board settings: one file, driven by environment variables (see .env.example).

``IPWBOARD_ENV`` picks the profile:

- ``embedded`` (default): nothing to install. SQLite, local file storage and a Celery worker on
  kombu's filesystem broker, all under ``IPWBOARD_DATA_DIR`` (default ``var/``).
- ``test``: what the test command sets; PostgreSQL and Redis from ``DATABASE_URL``/``REDIS_URL``.
- ``production``: refuses to start without ``DJANGO_SECRET_KEY``, ``DATABASE_URL`` and a broker;
  secure cookies, HSTS; S3 storage when ``AWS_STORAGE_BUCKET_NAME`` is set.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

IPWBOARD_ENV = env_str("IPWBOARD_ENV", "embedded")
if IPWBOARD_ENV not in {"embedded", "test", "production"}:
    raise ImproperlyConfigured("IPWBOARD_ENV must be embedded, test or production")
PRODUCTION = IPWBOARD_ENV == "production"

DATA_DIR = Path(env_str("IPWBOARD_DATA_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # Only for the embedded and test profiles, which never face the internet.
    SECRET_KEY = "insecure-embedded-key-not-for-production-use-0123456789abcdef"

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("IPWBOARD_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "template_partials",
    "submissions",
    "ipwboard.board",
]

MIDDLEWARE = [
    # First: a request announcing a body larger than any upload is refused before anything reads it.
    "submissions.api.upload_limit.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ipwboard.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "ipwboard.urls"
WSGI_APPLICATION = "ipwboard.wsgi.application"

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
                "ipwboard.board.context.site",
            ],
        },
    }
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    if PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set in production (PostgreSQL)")
    DATABASE_URL = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # The embedded worker and web server write concurrently: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache --------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# The board's cache version is bumped by the worker and read by the web process, so the cache must
# be shared between processes: Redis in production; files under the data dir in the embedded run
# (web, worker and seeding are separate processes there); per-process memory only for the tests.
if REDIS_URL and env_bool("IPWBOARD_REDIS_CACHE", PRODUCTION):
    _cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
elif IPWBOARD_ENV == "embedded":
    _cache = {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "django"),
        "OPTIONS": {"MAX_ENTRIES": 5000},  # the default 300 culls board pages early
    }
else:
    _cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
CACHES = {"default": _cache}

# --- storage ------------------------------------------------------------------------------------
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start otherwise

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
        "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
        "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "path"),
        "signature_version": "s3v4",
    }
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if PRODUCTION and CELERY_BROKER_URL.startswith("filesystem"):
    raise ImproperlyConfigured("production needs a real broker: set CELERY_BROKER_URL or REDIS_URL")
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Without it kombu keeps broadcast state in ./control of whatever directory it runs in.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True  # results live in the database, not in a result backend
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, never lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("IPWBOARD_TASK_SOFT_TIME_LIMIT", 900)
CELERY_TASK_TIME_LIMIT = env_int("IPWBOARD_TASK_TIME_LIMIT", 960)
if CELERY_TASK_SOFT_TIME_LIMIT > CELERY_TASK_TIME_LIMIT:
    # Celery refuses to send any task then: every upload would wait for the sweeper, in vain.
    raise ImproperlyConfigured(
        "IPWBOARD_TASK_SOFT_TIME_LIMIT must not exceed IPWBOARD_TASK_TIME_LIMIT"
    )
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "submissions.tasks.evaluate_submission": {"queue": "validation"},
    "submissions.tasks.rescore_dataset_version": {"queue": "scoring"},
    "ipwboard.board.tasks.*": {"queue": "exports"},
}
CELERY_WORKER_QUEUES = env_list(
    "IPWBOARD_WORKER_QUEUES", ["validation", "scoring", "exports", "celery"]
)

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "submissions.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "submissions.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IPW Board API",
    "DESCRIPTION": "Submit signed measurement bundles and read the Intelligence Per Watt board.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- IPW Board ----------------------------------------------------------------------------------
IPWBOARD_MAX_UPLOAD_BYTES = env_int("IPWBOARD_MAX_UPLOAD_BYTES", 2 * 1024**3)
IPWBOARD_REQUIRE_CHALLENGE = env_bool("IPWBOARD_REQUIRE_CHALLENGE", False)
IPWBOARD_CHALLENGE_TTL_SECONDS = env_int("IPWBOARD_CHALLENGE_TTL_SECONDS", 24 * 3600)
IPWBOARD_STALE_QUEUED_SECONDS = env_int("IPWBOARD_STALE_QUEUED_SECONDS", 600)
# A stored bundle file no row points at (a crash between storing and inserting) is deleted after:
# Stored files (bundles, per-query files, dataset item files) no row owns are deleted after this.
IPWBOARD_ORPHAN_FILE_SECONDS = env_int("IPWBOARD_ORPHAN_FILE_SECONDS", 86400)
# A RUNNING submission older than this lost its worker (SIGKILL, OOM, host gone): the sweeper
# re-enqueues it and a worker may reclaim it. Must exceed the hard time limit, or a slow but live
# task could be claimed twice (the second run would then find it finished and record nothing).
IPWBOARD_STALE_RUNNING_SECONDS = env_int(
    "IPWBOARD_STALE_RUNNING_SECONDS", CELERY_TASK_TIME_LIMIT + 60
)
# Address-space cap (MiB above the pool process's size at start) for each worker child: a bundle
# that makes evaluation blow up raises MemoryError (submission FAILED) instead of waking the OOM
# killer. 0 turns it off.
IPWBOARD_TASK_MEMORY_LIMIT_MB = env_int("IPWBOARD_TASK_MEMORY_LIMIT_MB", 0)
IPWBOARD_BOOTSTRAP_SEED = env_int("IPWBOARD_BOOTSTRAP_SEED", 20261121)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2  # bigger uploads spool to a temp file, never RAM
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2

# --- auth, i18n ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "board:leaderboard"
LOGOUT_REDIRECT_URL = "board:leaderboard"
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- security -----------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Periodic work (run `celery -A ipwboard beat`, or a worker with -B in the embedded profile).
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-submissions": {
        "task": "submissions.tasks.sweep_stale_submissions",
        "schedule": 60.0,
    },
}

# === issue 6: accounts, API limits, direct uploads, exports =====================================
# Rate limits (DRF throttles, "N/second|minute|hour|day"); a 429 carries Retry-After. The test
# profile relaxes them so one suite from one IP is never throttled; throttle tests override them.
_RELAXED = IPWBOARD_ENV == "test"
IPWBOARD_THROTTLE_RATES = {
    "uploads_user": env_str("IPWBOARD_RATE_UPLOADS_USER", "100000/hour" if _RELAXED else "30/hour"),
    "uploads_ip": env_str("IPWBOARD_RATE_UPLOADS_IP", "100000/hour" if _RELAXED else "60/hour"),
    "challenges_user": env_str(
        "IPWBOARD_RATE_CHALLENGES_USER", "100000/hour" if _RELAXED else "60/hour"
    ),
    "challenges_ip": env_str(
        "IPWBOARD_RATE_CHALLENGES_IP", "100000/hour" if _RELAXED else "120/hour"
    ),
    # Account creation attempts per client address.
    "signups_ip": env_str("IPWBOARD_RATE_SIGNUPS_IP", "100000/hour" if _RELAXED else "10/hour"),
}
# Proxies (addresses or CIDR networks) whose X-Forwarded-For is believed when they are the TCP
# peer; the per-IP limits then count the address they saw. None by default: the header is never
# read, since any client can send it (and would pick its own rate-limit bucket).
IPWBOARD_TRUSTED_PROXIES = env_list("IPWBOARD_TRUSTED_PROXIES", [])
try:
    for _proxy in IPWBOARD_TRUSTED_PROXIES:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"IPWBOARD_TRUSTED_PROXIES: {_exc}") from _exc
# An account must confirm its email address (a link sent at sign-up) before it can upload. On by
# default in production; the embedded and test profiles print the mail to the console and leave
# it off unless asked for.
IPWBOARD_REQUIRE_VERIFIED_EMAIL = env_bool("IPWBOARD_REQUIRE_VERIFIED_EMAIL", PRODUCTION)
# Bundles above this size go straight to S3 through presigned multipart URLs (when S3 is
# configured); smaller ones stream through the API.
IPWBOARD_DIRECT_UPLOAD_THRESHOLD_BYTES = env_int(
    "IPWBOARD_DIRECT_UPLOAD_THRESHOLD_BYTES", 64 * 1024**2
)
IPWBOARD_DIRECT_UPLOAD_PART_BYTES = env_int("IPWBOARD_DIRECT_UPLOAD_PART_BYTES", 64 * 1024**2)
IPWBOARD_DIRECT_UPLOAD_EXPIRE_SECONDS = env_int("IPWBOARD_DIRECT_UPLOAD_EXPIRE_SECONDS", 24 * 3600)
# Board exports are rebuilt at most once per this many seconds after a change.
IPWBOARD_EXPORTS_DEBOUNCE_SECONDS = env_int("IPWBOARD_EXPORTS_DEBOUNCE_SECONDS", 30)
# A newly scored (re-scored, restored, approved) submission shows on the cached board pages within
# this many seconds: changes in that window share one rebuild of every page. Removals (hidden,
# withdrawn, denied) are always immediate. 0: every change at once (tests, the embedded run).
IPWBOARD_BOARD_REFRESH_SECONDS = env_int("IPWBOARD_BOARD_REFRESH_SECONDS", 5 if PRODUCTION else 0)

# === issue 4: server-side scoring (LLM judge for open-ended items, re-scoring) ==================
# An OpenAI-compatible endpoint (".../v1" or its root) judging open-ended items against their
# reference. Unset: no judge; those items are reported unscored and accuracy is computed on the
# scored items only (labelled "unscored-items").
IPWBOARD_JUDGE_URL = env_str("IPWBOARD_JUDGE_URL").strip()
IPWBOARD_JUDGE_MODEL = env_str("IPWBOARD_JUDGE_MODEL").strip()
IPWBOARD_JUDGE_API_KEY = env_str("IPWBOARD_JUDGE_API_KEY")
IPWBOARD_JUDGE_TIMEOUT_SECONDS = env_int("IPWBOARD_JUDGE_TIMEOUT_SECONDS", 60)
if IPWBOARD_JUDGE_URL and not IPWBOARD_JUDGE_MODEL:
    raise ImproperlyConfigured("IPWBOARD_JUDGE_URL is set: set IPWBOARD_JUDGE_MODEL too")
# Re-scoring one submission runs on the scoring queue, like the fan-out over a dataset version.
CELERY_TASK_ROUTES["submissions.tasks.rescore_submission"] = {"queue": "scoring"}
# So is the first judging of a new submission's open-ended items (JUDGING -> SCORED).
CELERY_TASK_ROUTES["submissions.tasks.judge_submission"] = {"queue": "scoring"}
# A catalog re-check runs the engine again on a stored bundle, like first validation.
CELERY_TASK_ROUTES["submissions.tasks.recheck_catalog"] = {"queue": "validation"}
# boto3's transfer manager buffers up to max_in_memory_upload_chunks x multipart_chunksize per
# upload (10 x 8 MiB by default): bound it so a streamed 1 GiB upload keeps the web process flat.
IPWBOARD_S3_TRANSFER_CONCURRENCY = env_int("IPWBOARD_S3_TRANSFER_CONCURRENCY", 2)
if AWS_STORAGE_BUCKET_NAME:
    from boto3.s3.transfer import TransferConfig

    _transfer = TransferConfig(
        multipart_chunksize=8 * 1024**2, max_concurrency=IPWBOARD_S3_TRANSFER_CONCURRENCY
    )
    _transfer.max_in_memory_upload_chunks = IPWBOARD_S3_TRANSFER_CONCURRENCY  # s3transfer's knob
    STORAGES["default"]["OPTIONS"]["transfer_config"] = _transfer
