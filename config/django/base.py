"""Settings shared by every environment; local/test/production override what differs."""

import os

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
    "ninja",
    "axes",
    "django_prometheus",
    "ruralcast.core",
    "ruralcast.regions",
    "ruralcast.accounts",
    "ruralcast.audit",
    "ruralcast.notifications",
    "ruralcast.signing",
    "ruralcast.speech",
    "ruralcast.terminals",
    "ruralcast.messaging",
    "ruralcast.alerts",
    "ruralcast.reporting",
    "ruralcast.broadcasting",
    "ruralcast.live",
    "django_tasks",
    "django_tasks_db",
    "ruralcast.media",
    "ruralcast.maintenance",
    "ruralcast.web",
    "ruralcast.ops",
    "ruralcast.backups",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "ruralcast.core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ruralcast.web.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ruralcast.ops.middleware.RequestLogMiddleware",
    "ruralcast.web.errors.ApplicationErrorMiddleware",
    "axes.middleware.AxesMiddleware",
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the console read while an import or the task worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", "timeout": 20}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
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

# Login rate limiting (django-axes): after AXES_FAILURE_LIMIT failures for one username from one
# address, that pair is locked out for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ruralcast.accounts.views.lockout_response"
AXES_VERBOSE = False

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
    # The address the platform's broker (`broker_run`) listens on; 0.0.0.0 for terminals on the network.
    "LISTEN": env("RURALCAST_MQTT_LISTEN", default="127.0.0.1"),
    "USERNAME": env("RURALCAST_MQTT_USERNAME", default="ruralcast-platform"),
    "PASSWORD": env("RURALCAST_MQTT_PASSWORD", default=""),
    "CONFIGURED": "RURALCAST_MQTT_HOST" in os.environ or "RURALCAST_MQTT_PORT" in os.environ,
    # The broker address written into terminals' provisioning files (HOST:PORT as devices reach it);
    # empty: HOST:PORT above (right for the one-machine demo only).
    "PUBLIC_ADDRESS": env("RURALCAST_MQTT_PUBLIC_ADDRESS", default=""),
    # Who reads region topics (messaging/broker.py `acl_render`): "covering" (default) confines each
    # terminal to its village's region topics with a `user` block per terminal; "shared" lets every
    # terminal read every region topic with one pattern line. mosquitto re-reads the whole file on
    # each registration: fine for a county, a stall of minutes at 100,000 terminals (docs/fleet.md).
    "REGION_ACL": env("RURALCAST_MQTT_REGION_ACL", default="covering"),
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
    "MAX_UPLOAD_BYTES": env.int("RURALCAST_MEDIA_MAX_UPLOAD_BYTES", default=20 * 1024**3),
    "MAX_CHUNK_BYTES": 16 * 1024**2,
    "LIVE_IDLE_SECONDS": 20,  # a live the studio stopped feeding ends (and its replay is made)
    "SIGNED_URL_SECONDS": env.int("RURALCAST_MEDIA_SIGNED_URL_SECONDS", default=6 * 3600),
    "UPLOAD_DIR": RUN_DIR / "uploads",
    # nginx: "X-Accel-Redirect" with an internal location over MEDIA_ROOT (docs/media.md).
    "ACCEL_REDIRECT_PREFIX": env("RURALCAST_MEDIA_ACCEL_PREFIX", default=""),
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
# E-mail (Django's backends): EMAIL_URL=smtp+tls://user:password@smtp.example.gov.cn:587 in a
# deployment; by default mail is written to files in RUN_DIR/mail (a stand-in: nothing is sent).
vars().update(env.email_url("EMAIL_URL", default=f"filemail:///{RUN_DIR / 'mail'}"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ruralcast <noreply@localhost>")
EMAIL_TIMEOUT = 10
