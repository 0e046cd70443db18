"""gunicorn settings for production (and `make serve-prod`)."""

import multiprocessing
import os

# uvicorn's worker, which also starts the answers' shutdown grace period (app/core/worker.py).
worker_class = "app.core.worker.GracefulUvicornWorker"
# WEB_CONCURRENCY (set by the Ansible role from CPUs and memory) wins; otherwise one worker
# per core, capped: each worker holds ~125 MB of Python + LangChain.
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count())))
# Streams can run for minutes; uvicorn workers heartbeat independently of requests, so a
# long request isn't killed by this, but a stuck worker is.
timeout = 120
# A stop lets answers being written finish for SHUTDOWN_GRACE_SECONDS (25 by default), then
# saves the rest as interrupted: this must be longer (and systemd's TimeoutStopSec longer
# still, 45 s in the Ansible role).
graceful_timeout = 35
keepalive = 5
# Load the app in each worker after fork: connection pools and model clients are per process.
preload_app = False
accesslog = None  # the app logs one line per request itself
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
