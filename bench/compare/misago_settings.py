"""Settings of the Misago site the comparison runs (bench/compare/README.md).

Copied to /tmp/compare/misago-site/comparesite/settings.py. Misago's own development project
(`devproject`, shipped in the Misago wheel) with its production switches: DEBUG off, no debug
toolbar, Redis as the cache (Misago's docs advise against LocMemCache in production; its
Docker setup uses Redis), persistent database connections (CONN_MAX_AGE, like ComCEP's
SQLAlchemy pool), Celery tasks run inline (no worker: GET pages queue nothing anyway).
"""

import os

from devproject.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = "compare-only-not-secret"  # noqa: S105 - local benchmark site
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES["default"].update(  # noqa: F405
    NAME=os.environ.get("MISAGO_DB", "misago_compare_100000"),
    USER="postgres",
    PASSWORD="",
    HOST="127.0.0.1",
    PORT=5432,
    CONN_MAX_AGE=600,
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/12",
        "KEY_PREFIX": os.environ.get("MISAGO_DB", "misago_compare_100000"),
    }
}
CELERY_BROKER_URL = "redis://127.0.0.1:6379/12"
CELERY_TASK_ALWAYS_EAGER = True
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("debug_toolbar")]  # noqa: F405
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "debug_toolbar"]  # noqa: F405
ROOT_URLCONF = "devproject.urls"
STATIC_ROOT = "/tmp/compare/misago-site/static"  # noqa: S108
MEDIA_ROOT = "/tmp/compare/misago-site/media"  # noqa: S108
MISAGO_USER_DATA_DOWNLOADS_WORKING_DIR = "/tmp/compare/misago-site/userdata"  # noqa: S108
LANGUAGE_CODE = "fr"
