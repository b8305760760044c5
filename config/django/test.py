"""The test suite: fast password hashing, in-memory caches, the same database choice as local."""

from config.django.base import *  # noqa: F403

SECRET_KEY = "test-only-secret-key-not-used-outside-the-test-suite"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
WHITENOISE_USE_FINDERS = True
# Tests start their own brokers and say so in their settings; an ambient RURALCAST_MQTT_* in the
# environment must not make every health check depend on a broker.
from config.django.base import RURALCAST_MQTT  # noqa: E402

# No TLS listener unless a test asks for one on a free port (18883 would clash between test processes).
RURALCAST_MQTT = {**RURALCAST_MQTT, "CONFIGURED": False, "TLS_PORT": 0, "PLAIN_PORT": 0}

# Tasks run at once in the test process (a test runs the real db_worker on the database backend).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
