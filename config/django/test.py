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

RURALCAST_MQTT = {**RURALCAST_MQTT, "CONFIGURED": False}

# Tasks run at once in the test process (a test runs the real db_worker on the database backend).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
