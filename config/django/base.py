"""Settings shared by every environment; local/test/production override what differs."""

import os

from csp.constants import NONCE, NONE, SELF

from config.env import BASE_DIR, RUN_DIR, env
from ruralcast.ops.logging import logging_config

SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "ninja",
    "django_prometheus",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ruralcast.core",
    "ruralcast.regions",
    "ruralcast.accounts",
    "ruralcast.audit",
    "ruralcast.notifications",
    "ruralcast.villagers",
    "ruralcast.signing",
    "ruralcast.speech",
    "ruralcast.terminals",
    "ruralcast.messaging",
    "ruralcast.security",
    "ruralcast.alerts",
    "ruralcast.reporting",
    "ruralcast.broadcasting",
    "ruralcast.live",
    "django_tasks",
    "django_tasks_db",
    "ruralcast.media",
    "ruralcast.maintenance",
    "ruralcast.portal",
    "ruralcast.push",
    "ruralcast.web",
    "ruralcast.ops",
    "ruralcast.backups",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Before SecurityMiddleware: X-Forwarded-Proto counts only from RURALCAST_TRUSTED_PROXIES.
    "ruralcast.core.middleware.TrustedForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "ruralcast.core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ruralcast.web.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ruralcast.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ruralcast.ops.middleware.RequestLogMiddleware",
    "ruralcast.web.errors.ApplicationErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ruralcast.web.context_processors.navigation",
            ],
        },
    },
]

# SQLite file by default; PostgreSQL (or any database URL) when DATABASE_URL is set.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{RUN_DIR / 'db.sqlite3'}"),
}
# SQLite, the embedded default, with several writers (web, ingest, dispatcher, worker):
# - WAL lets the console read while an import or the task worker writes;
# - every transaction takes the write lock when it begins (IMMEDIATE). A deferred transaction that
#   read first and then writes cannot wait for a lock another writer holds: SQLite answers "database
#   is locked" at once (its snapshot is stale), whatever the timeout. Taken at BEGIN, the lock is
#   simply waited for, up to `timeout` seconds, so overlapping writes queue instead of failing.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Options in the URL (`sqlite:///…?timeout=5`) win over these defaults.
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "ruralcast.accounts.authentication.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "ruralcast.accounts.passwords.CharacterClassValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login lock-out (ruralcast/accounts/lockout.py): per (username, client address), never per
# username alone. After FREE_FAILURES failures the pair waits BASE_SECONDS, doubling with every
# further failure up to MAX_SECONDS; failures older than FORGET_AFTER_HOURS are forgotten.
RURALCAST_LOGIN_LOCKOUT = {
    "free_failures": env.int("RURALCAST_LOGIN_FREE_FAILURES", default=5),
    "base_seconds": env.int("RURALCAST_LOGIN_LOCKOUT_SECONDS", default=60),
    "max_seconds": env.int("RURALCAST_LOGIN_LOCKOUT_MAX_SECONDS", default=3600),
    "forget_after_hours": 24,
}

# Client addresses (ruralcast/core/addresses.py): the reverse proxies whose X-Forwarded-For is
# believed, as CIDRs (e.g. "127.0.0.1/32" for nginx on the same machine). None by default: the
# socket peer is the client, and a forged header changes nothing. docs/deploy.md, "Trusted proxies".
RURALCAST_TRUSTED_PROXIES = env.list("RURALCAST_TRUSTED_PROXIES", default=[])
# /metrics (ruralcast/ops/views.py): the scraper's addresses (CIDRs) or its bearer token.
RURALCAST_METRICS_ALLOW = env.list("RURALCAST_METRICS_ALLOW", default=["127.0.0.1/32", "::1/128"])
RURALCAST_METRICS_TOKEN = env("RURALCAST_METRICS_TOKEN", default="")

# The second factor (ruralcast/accounts/second_factor.py): TOTP through django-otp. Its per-device
# throttle is off: wrong codes are throttled per (username, address) like passwords, so nobody can
# lock an approver's authenticator from everywhere.
OTP_TOTP_ISSUER = env("RURALCAST_OTP_ISSUER", default="ruralcast")
OTP_TOTP_THROTTLE_FACTOR = 0

# Content-Security-Policy on every response (django-csp; docs/security.md, "Firmware and uploads"):
# scripts and styles only from our own static files, never inline; no eval. A script that truly
# must be inline takes the request's nonce (`<script nonce="{{ request.csp_nonce }}">`); none does
# today. blob: is for hls.js, which plays through a MediaSource and runs its demuxer in a worker
# made from a blob URL. data: images are the icons the API docs (Swagger UI) draw. Pages that
# other sites may frame (the media embed) replace frame-ancestors with csp.decorators.csp_replace.
# Stored files get a stricter policy of their own (core.serving.FILE_CSP).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "worker-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_HTTPONLY = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(RUN_DIR / "static"))
os.makedirs(STATIC_ROOT, exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(RUN_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    }
}

NINJA_PAGINATION_CLASS = "ruralcast.core.pagination.BoundedLimitOffsetPagination"
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

# Runtime state folder (see config/env.py), exposed as a setting for commands that write there.
RUN_DIR = RUN_DIR

RURALCAST_SIGNING_ALG = env("RURALCAST_SIGNING_ALG", default="SM2-SM3")  # or "Ed25519": docs/protocols.md §6

# The languages a terminal plays when its registry entry names none, most preferred first (ISO 639
# codes, comma-separated in the environment): provisioned as `languages` (docs/protocols.md §4).
RURALCAST_TERMINAL_LANGUAGES = env.list("RURALCAST_TERMINAL_LANGUAGES", default=["zho"])

# Text-to-speech engine for spoken alerts: dotted path to a class with name, version and
# synthesize_wav() (see ruralcast/speech/__init__.py for plugging in a neural voice).
RURALCAST_SPEECH_ENGINE = env("RURALCAST_SPEECH_ENGINE", default="ruralcast.speech.engines.EspeakEngine")

# Where terminals and other systems reach this platform (absolute URLs in alert payloads and CAP).
RURALCAST_PUBLIC_URL = env(
    "RURALCAST_PUBLIC_URL",
    default=f"http://{env('RURALCAST_HOST', default='127.0.0.1')}:{env('RURALCAST_PORT', default='8000')}",
)

# Region data vendored in the repository (see data/divisions/README.md).
REGION_DATA_DIR = BASE_DIR / "data" / "divisions"
# The province whose regions `make run` imports for the demo (Guizhou: 52).
DEMO_PROVINCE = env("RURALCAST_DEMO_PROVINCE", default="52")

# MQTT (ruralcast.messaging): the broker and the platform's own account on it. Terminals have their
# own accounts (terminals.Terminal). An empty password means the one generated once into
# RUN_DIR/broker/platform.password. The broker counts as configured (and /healthz checks it) when
# the environment names it.
RURALCAST_MQTT = {
    "HOST": env("RURALCAST_MQTT_HOST", default="127.0.0.1"),
    "PORT": env.int("RURALCAST_MQTT_PORT", default=18830),  # not 1883: a system mosquitto may hold it
    # The address of the platform's own listener (plain TCP, PORT): loopback only (messaging/broker.py).
    "LISTEN": env("RURALCAST_MQTT_LISTEN", default="127.0.0.1"),
    # The terminals' TLS listener (0: none) and the address it listens on (0.0.0.0 for terminals on
    # the network); its certificate's names besides PUBLIC_ADDRESS's host (comma separated).
    "TLS_PORT": env.int("RURALCAST_MQTT_TLS_PORT", default=18883),
    "TERMINAL_LISTEN": env("RURALCAST_MQTT_TERMINAL_LISTEN", default="127.0.0.1"),
    "TLS_NAMES": env("RURALCAST_MQTT_TLS_NAMES", default=""),
    # An operator's opt-in to plain TCP for terminals on TERMINAL_LISTEN (0: none): passwords in clear.
    "PLAIN_PORT": env.int("RURALCAST_MQTT_PLAIN_PORT", default=0),
    "USERNAME": env("RURALCAST_MQTT_USERNAME", default="ruralcast-platform"),
    "PASSWORD": env("RURALCAST_MQTT_PASSWORD", default=""),
    "CONFIGURED": "RURALCAST_MQTT_HOST" in os.environ or "RURALCAST_MQTT_PORT" in os.environ,
    # The broker address written into terminals' provisioning files (HOST:PORT as devices reach it,
    # the TLS listener's when TLS_PORT is set); empty: HOST:TLS_PORT (or HOST:PORT without TLS).
    "PUBLIC_ADDRESS": env("RURALCAST_MQTT_PUBLIC_ADDRESS", default=""),
    # Who reads region topics (messaging/broker.py `acl_render`): "covering" (default) confines each
    # terminal to its village's region topics with a `user` block per terminal; "shared" lets every
    # terminal read every region topic with one pattern line. mosquitto re-reads the whole file on
    # each registration: fine for a county, a stall of minutes at 100,000 terminals (docs/fleet.md).
    "REGION_ACL": env("RURALCAST_MQTT_REGION_ACL", default="covering"),
    # The broker logs at debug to RUN_DIR/broker/mosquitto.log so `security_watch` can count the
    # publishes its ACL refused (mosquitto writes "Denied PUBLISH" at debug only; ruralcast/security).
    "LOG_DENIALS": env.bool("RURALCAST_MQTT_LOG_DENIALS", default=True),
}

# Security events (docs/security.md "Forged traffic"): events per county and day that page its duty roster.
RURALCAST_SECURITY = {
    "THRESHOLD": env.int("RURALCAST_SECURITY_THRESHOLD", default=20),
}

# The terminal fleet (docs/fleet.md): a terminal online without a status report for this long is
# marked offline by `manage.py fleet_watch` (reports come every 60 s; the broker's last will is faster).
RURALCAST_FLEET = {
    "SILENT_AFTER_SECONDS": env.int("RURALCAST_FLEET_SILENT_AFTER_SECONDS", default=300),
    # Work orders (docs/fleet.md §5): offline this long opens one; a terminal that sent no receipt
    # this long after an alert reached its region opens one; hours to repair per fault (SLA).
    "OFFLINE_MINUTES": env.int("RURALCAST_FLEET_OFFLINE_MINUTES", default=30),
    "SILENT_ALERT_MINUTES": env.int("RURALCAST_FLEET_SILENT_ALERT_MINUTES", default=10),
    "SLA_HOURS": {"offline": 24, "amplifier": 48, "speaker": 48, "playback": 24, "silent_alert": 8},
}

LOGGING = logging_config(level=env("LOG_LEVEL", default="INFO"))

# Background work (docs/architecture.md "Background work"): django-tasks with its database backend;
# `manage.py db_worker` runs the tasks (Procfile: worker). django-tasks-rq is the Redis route.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Media (docs/media.md): the transcode ladder (never upscaled), upload limits, signed-link lifetime.
RURALCAST_MEDIA = {
    "LADDER": [
        {"name": "360p", "height": 360, "video_kbps": 800},
        {"name": "540p", "height": 540, "video_kbps": 1400},
        {"name": "720p", "height": 720, "video_kbps": 2800},
    ],
    "AUDIO_KBPS": 96,
    "X264_PRESET": env("RURALCAST_MEDIA_X264_PRESET", default="veryfast"),
    "SEGMENT_SECONDS": 4,
    "THUMBNAILS": 6,
    # Room for uploads (media/quotas.py): one file; one person's and one county's total (0: no quota).
    "MAX_UPLOAD_BYTES": env.int("RURALCAST_MEDIA_MAX_UPLOAD_BYTES", default=4 * 1024**3),
    "USER_QUOTA_BYTES": env.int("RURALCAST_MEDIA_USER_QUOTA_BYTES", default=50 * 1024**3),
    "REGION_QUOTA_BYTES": env.int("RURALCAST_MEDIA_REGION_QUOTA_BYTES", default=200 * 1024**3),
    "MAX_CHUNK_BYTES": 16 * 1024**2,
    "LIVE_IDLE_SECONDS": 20,  # a live the studio stopped feeding ends (and its replay is made)
    "SIGNED_URL_SECONDS": env.int("RURALCAST_MEDIA_SIGNED_URL_SECONDS", default=6 * 3600),
    "UPLOAD_DIR": RUN_DIR / "uploads",
}

# nginx in front (docs/deploy.md, "nginx in front"): every stored file a view serves after its
# access check goes out as "X-Accel-Redirect: <prefix>/<storage name>", an internal nginx location
# over MEDIA_ROOT (core.serving). Empty: Django streams the bytes itself. `make run` sets it.
RURALCAST_ACCEL_REDIRECT_PREFIX = env("RURALCAST_ACCEL_REDIRECT_PREFIX", default="")
# The nginx that `make run` starts (`manage.py nginx_run`) and `manage.py nginx_config` describes:
# the public address, and the web processes behind it (uvicorn on an internal port; list several
# for several web hosts).
_PUBLIC_PORT = env.int("RURALCAST_PORT", default=8000)
RURALCAST_NGINX = {
    "LISTEN": f"{env('RURALCAST_HOST', default='127.0.0.1')}:{_PUBLIC_PORT}",
    "UPSTREAMS": env.list(
        "RURALCAST_WEB_UPSTREAMS", default=[f"127.0.0.1:{env.int('RURALCAST_WEB_PORT', default=_PUBLIC_PORT + 1)}"]
    ),
}

# Free space kept on every disk that user uploads write to, the disk of RUN_DIR (SQLite, keys,
# broker state) first (core/disk.py): a write that would go below it is refused with 507.
RURALCAST_DISK_FREE_PERCENT = env.float("RURALCAST_DISK_FREE_PERCENT", default=10.0)

# ffmpeg and ffprobe as every app runs them (core.media_tools.tool_path); empty: the one on PATH.
RURALCAST_MEDIA_TOOLS = {
    "ffmpeg": env("RURALCAST_FFMPEG", default=""),
    "ffprobe": env("RURALCAST_FFPROBE", default=""),
}

# Notifications and paging (docs/deploy.md "Paging the duty approver"): minutes an alert waits for
# the people on duty before the next tier is paged (live alerts, drills and everything else), how
# often a failed e-mail or SMS is tried, and the SMS gateway (default: a log-only STAND-IN, no SMS
# leaves the machine; see ruralcast/notifications/sms.py to plug in a real one).
RURALCAST_NOTIFY = {
    "ESCALATE_URGENT_MINUTES": env.float("RURALCAST_ESCALATE_URGENT_MINUTES", default=5),
    "ESCALATE_ROUTINE_MINUTES": env.float("RURALCAST_ESCALATE_ROUTINE_MINUTES", default=30),
    "DELIVERY_ATTEMPTS": 5,
    "SMS_GATEWAY": env("RURALCAST_SMS_GATEWAY", default="ruralcast.notifications.sms.LogOnlySmsGateway"),
}
# Villagers and their screens (docs/security.md "Household screens and villagers"): the pairing
# code's life, the one-time sign-in code's life and limits, and how long personal data is kept
# (PIPL: `manage.py villagers_prune`, daily, deletes what is past its retention).
RURALCAST_VILLAGERS = {
    "PAIRING_CODE_MINUTES": 15,
    "PAIR_FAILURES_PER_ADDRESS": 5,  # wrong pairing codes from one address before it waits
    "PAIR_BACKOFF_MINUTES": 15,
    "SCREEN_REGISTRATIONS_PER_ADDRESS_HOUR": 30,
    "CODE_MINUTES": 5,  # one-time sign-in code
    "CODE_ATTEMPTS": 5,  # wrong entries of one code before it is void
    "CODES_PER_NUMBER_HOUR": 5,
    "CODES_PER_ADDRESS_HOUR": 20,
    "CODE_FAILURES_PER_ADDRESS": 10,  # wrong sign-in codes from one address per hour
    # The version of the privacy notice villagers agree to (templates/villagers/notice.html).
    "NOTICE_VERSION": "2026-12",
}
# A villager who has not signed in for this many days is deleted (their account and consents;
# pairings stay, unnamed); screens never paired and unused one-time codes after their own periods.
RURALCAST_VILLAGER_RETENTION_DAYS = env.int("RURALCAST_VILLAGER_RETENTION_DAYS", default=730)
RURALCAST_UNPAIRED_SCREEN_RETENTION_DAYS = env.int("RURALCAST_UNPAIRED_SCREEN_RETENTION_DAYS", default=30)
RURALCAST_ONE_TIME_CODE_RETENTION_DAYS = env.int("RURALCAST_ONE_TIME_CODE_RETENTION_DAYS", default=1)
# CAP feed subscriptions (docs/protocols.md "CAP feed subscriptions"): the only hosts a feed or a
# message it lists may be fetched from (comma-separated host names; empty: no feed can be polled),
# the largest index and message read, the network timeout, and the longest back-off after errors.
RURALCAST_CAP_FEED_HOSTS = env.list("RURALCAST_CAP_FEED_HOSTS", default=[])
RURALCAST_CAP_FEED = {
    "INDEX_MAX_BYTES": env.int("RURALCAST_CAP_FEED_INDEX_MAX_BYTES", default=1024 * 1024),
    "MESSAGE_MAX_BYTES": env.int("RURALCAST_CAP_FEED_MESSAGE_MAX_BYTES", default=512 * 1024),
    "TIMEOUT_SECONDS": env.float("RURALCAST_CAP_FEED_TIMEOUT_SECONDS", default=10),
    "BACKOFF_MAX_SECONDS": env.int("RURALCAST_CAP_FEED_BACKOFF_MAX_SECONDS", default=6 * 3600),
    "ENTRIES_PER_POLL": 50,
}
# E-mail (Django's backends): EMAIL_URL=smtp+tls://user:password@smtp.example.gov.cn:587 in a
# deployment; by default mail is written to files in RUN_DIR/mail (a stand-in: nothing is sent).
vars().update(env.email_url("EMAIL_URL", default=f"filemail:///{RUN_DIR / 'mail'}"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ruralcast <noreply@localhost>")
EMAIL_TIMEOUT = 10
