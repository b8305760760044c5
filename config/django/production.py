"""A station's server: secrets from the environment, secure cookies, manifest static files."""

from config.django.base import *  # noqa: F403
from config.django.base import SECRET_KEY
from config.env import env

DEBUG = False
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set in production")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# nginx sets X-Forwarded-Proto; TrustedForwardedProtoMiddleware (ruralcast/core/middleware.py) drops
# it from any peer outside RURALCAST_TRUSTED_PROXIES before Django reads it, so set those to nginx.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
