"""The hello-world Django app: the other stack's counterpart of bench/hello.py.

Same gunicorn, same wrk; run with Misago's Python (Django 4.2), see bench/compare/README.md:

    /tmp/compare/misago-venv/bin/gunicorn --workers 2 --worker-class sync \
        --bind 127.0.0.1:8711 --chdir /work/main/bench/compare django_hello:application

No middleware, as bench/hello.py has none: it measures Python + gunicorn + Django's request
and URL handling, the floor under any Django page.
"""

from __future__ import annotations

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="hello-not-secret",  # noqa: S106 - serves one constant string
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=[],
    USE_I18N=False,
)


def hello(_request: object) -> HttpResponse:
    return HttpResponse("Bonjour")


urlpatterns = [path("", hello)]
application = get_wsgi_application()
