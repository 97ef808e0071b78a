"""The hello-world Flask app the load test compares ComCEP with (same gunicorn, same wrk)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Bonjour"
