"""A developer's machine and the one-machine demo started by `make run`.

No secret is shipped in the repository: on first start a random key is written to `.run/secret_key`
(outside git) unless DJANGO_SECRET_KEY is set.
"""

import secrets

from config.django.base import *  # noqa: F403
from config.django.base import SECRET_KEY
from config.env import RUN_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if not SECRET_KEY:
    _key_file = RUN_DIR / "secret_key"
    if not _key_file.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

# Serve static files straight from the apps (no collectstatic step needed on a developer machine).
WHITENOISE_USE_FINDERS = True
