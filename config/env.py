"""The one place that reads the environment.

Every setting that differs between a developer's laptop, CI and a county station's server comes from
an environment variable (or a `.env` file beside manage.py); see `.env.example` for the list.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(str(_env_file))
