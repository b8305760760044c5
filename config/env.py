"""The one place that reads the environment.

Every setting that differs between a developer's laptop, CI and a county station's server comes from
an environment variable (or a `.env` file beside manage.py); see `.env.example` for the list.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(str(_env_file))

# Runtime state outside git: the SQLite file, the generated secret key, demo credentials, media.
RUN_DIR = Path(env("RURALCAST_RUN_DIR", default=str(BASE_DIR / ".run"))).resolve()
RUN_DIR.mkdir(parents=True, exist_ok=True)
