"""gunicorn's configuration: `gunicorn -c python:medins.gunicorn_conf medins.wsgi`.

Every value can be overridden on the command line (`--bind`, `--workers`, `--access-logfile
/var/log/medins/access.log`, …) or with GUNICORN_CMD_ARGS. The access log keeps the query
string, because that is how a request is found again, but every line of it and of the error
log goes through the masking filter of medins/log_masking.py first: an admin search by ID
number (`GET /admin/enrollment/person/?q=…`) is logged as `?q=2201**********1234` (issue 11,
finding 14). The filter sits on gunicorn's two loggers, so it holds whatever handlers gunicorn
gives them (stdout, a file, syslog); the application adds it again when it loads
(MedinsConfig.ready), for a gunicorn started without this file.
"""

import logging
import os

from medins.log_masking import MaskPersonalDataFilter

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# The reverse proxy whose X-Forwarded-* headers gunicorn believes (default: this machine only).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

for _name in ("gunicorn.access", "gunicorn.error"):
    logging.getLogger(_name).addFilter(MaskPersonalDataFilter())
