"""gunicorn settings for ComCEP (all application settings come from COMCEP_* variables)."""

import multiprocessing
import os

bind = os.environ.get("COMCEP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("COMCEP_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000  # recycle workers now and then: bounded memory
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# Long search queries travel in the URL (500 characters, up to 6 bytes each once encoded).
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("COMCEP_FORWARDED_ALLOW_IPS", "127.0.0.1")
