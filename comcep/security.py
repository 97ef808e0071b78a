"""Security headers on every response (strict CSP: no inline script)."""

from __future__ import annotations

from flask import Flask, Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
# Pages and data made for one member (the export of their data is JSON, the comité's
# tables CSV): never kept by a browser or a proxy. Files set their own (`attachments`).
PRIVATE_MIMETYPES = ("text/html", "application/json", "text/csv")


def init_app(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if response.mimetype in PRIVATE_MIMETYPES:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
