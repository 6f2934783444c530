"""Settings of the example host: SQLite by default, PostgreSQL when a DSN is given.

``CASEWORK_DJANGO_DB`` names the SQLite file (default ``db.sqlite3`` beside this
project); ``CASEWORK_DJANGO_PG`` (a ``postgresql://user@host:port/db`` URL) puts
everything in PostgreSQL instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"  # noqa: S105 - an example project
DEBUG = False
ALLOWED_HOSTS: list[str] = []
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "casework_flow.contrib.django",  # the casework tables and their migrations
    "visits",
]


def _database() -> dict[str, object]:
    dsn = os.environ.get("CASEWORK_DJANGO_PG")
    if not dsn:
        name = os.environ.get("CASEWORK_DJANGO_DB", str(BASE_DIR / "db.sqlite3"))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    url = urlsplit(dsn)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "localhost",
        "PORT": str(url.port or 5432),
        "OPTIONS": dict(parse_qsl(url.query)),  # e.g. options=-csearch_path=casework
    }


DATABASES = {"default": _database()}
