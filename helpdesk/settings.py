"""Settings, read from the environment. See the configuration table in README.md."""

import logging
import socket
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from helpdesk.env import email_settings, env_bool, env_int, env_list, env_octal, env_str
from helpdesk.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HELPDESK_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

HELPDESK_NAME = env_str("HELPDESK_NAME", "Help Desk")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_fsm",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tickets",
    "portal",
    "agents",
    "api",
]

MIDDLEWARE = [
    # First, so that whatever the others log or fail with carries the request id.
    "helpdesk.requestids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "helpdesk.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the cookie the picker sets, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's own language and time zone, kept in their session at sign-in.
    "helpdesk.i18n.PreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that the error pages it shows in DEBUG see the user (helpdesk/errorpages.py).
    "helpdesk.errorpages.ProductErrorPagesMiddleware",
]
# In DEBUG (make run), the product's own 404/403/500 pages unless this asks for Django's
# debug screens (tracebacks, the URL list).
SHOW_DEBUG_PAGES = env_bool("SHOW_DEBUG_PAGES", False)

# Django's model backend, with each user's permissions kept in the cache (helpdesk/auth.py).
AUTHENTICATION_BACKENDS = ["helpdesk.auth.CachedPermissionsBackend"]
ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"

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
                "helpdesk.context_processors.site",
            ],
        },
    },
]

# SQLite under var/ unless DATABASE_URL names another database (PostgreSQL in production).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'helpdesk.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept connection is checked before each request reuses it, so the first request
        # after a database restart gets a new one instead of an error (bench/soak.py).
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The help desk's queries are short and return a page: PostgreSQL's parallel workers and
    # JIT compilation cost milliseconds to start that such a query never earns back (a
    # search by number spent 10 of its 15 ms starting two workers; bench/README.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", env_str("DATABASE_PG_OPTIONS", "-c max_parallel_workers_per_gather=0 -c jit=off")
    )

# A read replica of the primary (PostgreSQL streaming replication), for the heavy read-only
# pages: the reports, their exports, a queue's export (helpdesk/routers.py; README). Unset: one
# database. The tests see it as the primary itself (TEST MIRROR).
if env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env_str("DATABASE_REPLICA_URL"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
    if DATABASES["replica"]["ENGINE"] == DATABASES["default"]["ENGINE"]:  # the same settings
        DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["helpdesk.routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The help desk's own language (a requester or agent without a choice of theirs) and the
# languages shipped, each with a complete catalogue under locale/ (docs/i18n.md). Arabic is
# written right to left: the pages turn with it (dir="rtl", Bootstrap's RTL stylesheet).
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The browser's time zone, as its page script reports it (static/timezone.js): requesters see
# their times in it; an agent's profile names theirs (helpdesk/i18n.py).
TIME_ZONE_COOKIE_NAME = "helpdesk_tz"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
# Stored files and the folders made for them: the service user (and its group, read only).
FILE_UPLOAD_PERMISSIONS = env_octal("FILE_UPLOAD_PERMISSIONS", 0o640)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = env_octal("FILE_UPLOAD_DIRECTORY_PERMISSIONS", 0o750)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:my_tickets"
LOGOUT_REDIRECT_URL = "portal:home"

# The address the help desk is reached at, for the links in e-mails.
HELPDESK_BASE_URL = env_str("HELPDESK_BASE_URL", "http://127.0.0.1:8000")
# How long a ticket link in an e-mail keeps working.
TICKET_LINK_MAX_AGE_DAYS = env_int("TICKET_LINK_MAX_AGE_DAYS", 30)
# Files attached to one message.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_COUNT = env_int("ATTACHMENT_MAX_COUNT", 5)
# Zips and Office files, checked on their directory (nested archives included): what they
# unpack to, how many files they hold, and how many times their own size they unpack to.
ATTACHMENT_ZIP_MAX_UNPACKED_BYTES = env_int("ATTACHMENT_ZIP_MAX_UNPACKED_BYTES", 100 * 1024 * 1024)
ATTACHMENT_ZIP_MAX_ENTRIES = env_int("ATTACHMENT_ZIP_MAX_ENTRIES", 1000)
ATTACHMENT_ZIP_MAX_RATIO = env_int("ATTACHMENT_ZIP_MAX_RATIO", 100)
# Throttles, as (attempts, seconds): anonymous tickets per address and per e-mail, failed
# sign-ins per account and per address, password-reset and status-link mails.
THROTTLE_GUEST_TICKETS_PER_IP = (env_int("THROTTLE_GUEST_TICKETS_PER_IP", 10), 3600)
THROTTLE_GUEST_TICKETS_PER_EMAIL = (env_int("THROTTLE_GUEST_TICKETS_PER_EMAIL", 5), 3600)
THROTTLE_LOGIN_FAILURES = (env_int("THROTTLE_LOGIN_FAILURES", 5), 900)
# Answers to "Did this answer your question?" from one address (the knowledge base).
THROTTLE_KB_VOTES = (env_int("THROTTLE_KB_VOTES", 30), 3600)
THROTTLE_MAIL_REQUESTS = (env_int("THROTTLE_MAIL_REQUESTS", 5), 3600)
# Inbound mail per sender address per hour; past it messages are kept but not processed.
# Counted from the stored messages, so every process that takes mail in shares the count.
THROTTLE_MAIL_PER_SENDER = (env_int("THROTTLE_MAIL_PER_SENDER", 30), 3600)
# New tickets by mail from a sender with this many open tickets, or past this many
# acknowledgements to them in an hour, are opened but mail nobody (neither the sender nor
# the agents), so that a forged sender cannot turn the help desk into a mail cannon.
THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER = env_int("THROTTLE_MAIL_OPEN_TICKETS_PER_SENDER", 20)
THROTTLE_MAIL_ACKS_PER_SENDER = (env_int("THROTTLE_MAIL_ACKS_PER_SENDER", 5), 3600)
# Reverse proxies in front of the help desk that append to X-Forwarded-For (0: none).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# The cache holds the web throttles' counters, which every process must share: Redis when
# CACHE_URL is set, otherwise files under var/cache (every process of this machine; see
# helpdesk.cache), never one process's memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL")}
    if env_str("CACHE_URL")
    else {
        "BACKEND": "helpdesk.cache.FileCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
}

# The REST API (api/, docs/api.md). Authentication, errors and throttling are the API's own
# classes; the schema is drf-spectacular's, Swagger UI comes from drf-spectacular-sidecar's
# static files (no CDN).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.Authenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.CallerRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Help desk API",
    "DESCRIPTION": "Tickets through their whole lifecycle, for integrations and scripts (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A ticket is shown in its caller's form: alternatives a response may match more than one of.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.forms_of_a_ticket",
    ],
    # Two choice sets meet fields named "source" (a ticket's channel, a move's state).
    "ENUM_NAME_OVERRIDES": {
        "TicketSourceEnum": "tickets.models.Ticket.Source",
        "StateEnum": "tickets.models.State",
    },
}
# Requests per minute for a signed-in browser session (each API key has its own limit).
API_SESSION_RATE_LIMIT = env_int("API_SESSION_RATE_LIMIT", 300)
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24)
# Outgoing webhooks (tickets/webhooks/): tries per delivery, the first wait (doubled each
# time), the failed tries in a row after which a hook is switched off, and the timeouts.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 15)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = env_int("WEBHOOK_SIGNATURE_TOLERANCE_SECONDS", 300)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: EMAIL_URL picks the backend; printing to the console is the default.
globals().update(email_settings(env_str("EMAIL_URL", "console:"), file_path=str(VAR_DIR / "mail")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Help Desk <helpdesk@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address requesters answer to (the mailbox the help desk reads); the sender's if unset.
HELPDESK_REPLY_TO = env_str("HELPDESK_REPLY_TO")
# The domain of the Message-IDs we sign; the sender's domain if unset.
HELPDESK_MAIL_DOMAIN = env_str("HELPDESK_MAIL_DOMAIN")

# Celery: with no broker, tasks run inline in the process that queued them.
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
# Inline, nothing reaches a broker; the in-memory one keeps kombu from looking for a host.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "helpdesk")
# How long Redis waits for a worker to acknowledge a task before handing it to another (a
# worker that died mid-task: acks_late). Unset: kombu's hour. Shorter brings a lost worker's
# tasks back sooner, but a task that runs longer than this is handed out a second time; the
# sweep for such tasks then runs every few seconds rather than every ~100 s.
if env_str("CELERY_VISIBILITY_TIMEOUT"):
    _visibility = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": max(1, min(10, _visibility // 2)),
        "unacked_restore_throttle": 1,
    }
# The SLA watch and the lifecycle timers (tickets.sla.jobs), every TIMERS_EVERY_SECONDS under
# Celery beat; a run nobody picked up before the next one is due is dropped, not piled up.
TIMERS_EVERY_SECONDS = env_int("TIMERS_EVERY_SECONDS", 60)
# The supervisors' dashboards (tickets.reports.snapshots): those looked at in the last day are
# recomputed every REPORTS_REFRESH_SECONDS, for REPORTS_REFRESH_BUDGET_SECONDS per run at most,
# and one older than REPORTS_MAX_AGE_SECONDS is computed afresh when asked for.
REPORTS_REFRESH_SECONDS = env_int("REPORTS_REFRESH_SECONDS", 300)
REPORTS_REFRESH_BUDGET_SECONDS = env_int("REPORTS_REFRESH_BUDGET_SECONDS", 120)
REPORTS_MAX_AGE_SECONDS = env_int("REPORTS_MAX_AGE_SECONDS", 2 * REPORTS_REFRESH_SECONDS)
# The IMAP mailboxes of the admin are read as often (tickets.mailin.imap).
CELERY_BEAT_SCHEDULE = {
    "lifecycle-timers": {
        "task": "tickets.tasks.run_timers",
        "schedule": float(TIMERS_EVERY_SECONDS),
        "options": {"expires": float(TIMERS_EVERY_SECONDS)},
    },
    "mailboxes": {
        "task": "tickets.tasks.poll_mailboxes",
        "schedule": float(TIMERS_EVERY_SECONDS),
        "options": {"expires": float(TIMERS_EVERY_SECONDS)},
    },
    "reports": {
        "task": "tickets.tasks.refresh_reports",
        "schedule": float(REPORTS_REFRESH_SECONDS),
        "options": {"expires": float(REPORTS_REFRESH_SECONDS)},
    },
}
# Exactly one beat however many are started (two hosts, a restart's overlap): with a Redis
# broker, celery-redbeat keeps the schedule in Redis and only the beat holding its lock sends
# tasks; another waits and takes over within the lock's timeout when that one stops. The lock
# is renewed every tick, and a tick comes at least every CELERY_BEAT_MAX_LOOP_INTERVAL seconds.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = env_str("CELERY_REDBEAT_REDIS_URL") or CELERY_BROKER_URL
    # One deployment's schedule and lock apart from another's sharing the same Redis.
    CELERY_REDBEAT_KEY_PREFIX = env_str("CELERY_REDBEAT_KEY_PREFIX", "helpdesk:beat")
    CELERY_BEAT_MAX_LOOP_INTERVAL = env_int("CELERY_BEAT_MAX_LOOP_INTERVAL", 5)
    CELERY_REDBEAT_LOCK_TIMEOUT = env_int("CELERY_REDBEAT_LOCK_TIMEOUT", 5 * CELERY_BEAT_MAX_LOOP_INTERVAL)
# A poll holds its mailbox's lease this long (renewed per message), so polls never overlap
# and one that died frees the mailbox after it.
MAILBOX_LOCK_SECONDS = env_int("MAILBOX_LOCK_SECONDS", 600)
IMAP_TIMEOUT_SECONDS = env_int("IMAP_TIMEOUT_SECONDS", 30)
# A CA bundle to trust besides the system's, for a mail server with a private certificate.
IMAP_CA_FILE = env_str("IMAP_CA_FILE")

# Security headers on every response; the HTTPS ones apply when DEBUG is off.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading is a hard-to-undo promise for a whole domain and its subdomains, so it
    # is the deployer's call (SECURE_HSTS_PRELOAD=1), not a default; hence W021 is off.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

# Health and metrics (helpdesk/ops/; README, Health and metrics): /healthz, /readyz, /metrics.
INSTALLED_APPS += ["helpdesk.ops"]
# Requests counted and timed per view for /metrics: first and last, around everything else.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# Who may read /metrics: these addresses or networks, or a Bearer token (none while unset).
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
METRICS_TOKEN = env_str("METRICS_TOKEN")
# /readyz: the broker's ping waits this long at most; the periodic job and the mailbox polls
# are late past this age (three runs missed).
HEALTH_CHECK_TIMEOUT_SECONDS = env_int("HEALTH_CHECK_TIMEOUT_SECONDS", 1)
HEALTH_JOB_MAX_AGE_SECONDS = env_int("HEALTH_JOB_MAX_AGE_SECONDS", 3 * TIMERS_EVERY_SECONDS)
# Every process that counts (web, worker, manage.py) writes its metrics' files there.
if env_str("PROMETHEUS_MULTIPROC_DIR"):
    Path(env_str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)
# A load balancer or Prometheus that calls a node over plain HTTP is answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]

# Logs (helpdesk/logs.py): plain text, or one line of JSON per record with LOG_FORMAT=json, each
# with the request id (helpdesk/requestids.py); Celery's worker and beat use the same
# (helpdesk/celery.py), and gunicorn too when started with -c python:helpdesk.gunicorn_conf.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOGGING = logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
# Python's warnings as log records (logger py.warnings), not loose text among the JSON lines.
logging.captureWarnings(LOG_FORMAT == "json")
# Inline tasks would log every run; a worker logs each task it ran.
LOGGING["loggers"]["celery.app.trace"] = {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"}
# One line per request (method, route, status, time), on by default where logs are JSON:
# under `make run` runserver already prints one.
LOG_REQUESTS = env_bool("LOG_REQUESTS", LOG_FORMAT == "json")
# The name of this node in the X-Served-By response header.
HELPDESK_NODE = env_str("HELPDESK_NODE") or socket.gethostname()
