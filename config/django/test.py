"""The test suite: fast password hashing, in-memory caches, the same database choice as local."""

from config.django.base import *  # noqa: F403
from config.django.base import AXES_FAILURE_LIMIT  # noqa: F401

SECRET_KEY = "test-only-secret-key-not-used-outside-the-test-suite"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
WHITENOISE_USE_FINDERS = True
