#!/usr/bin/env bash
# Set up and run the whole test suite against PostgreSQL and Redis on this machine, plus ruff.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/medins -k quote).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements-dev.txt
bash scripts/services.sh
# Browser tests drive Debian's Chromium; install it when missing and we may.
# Noto CJK so that Chinese text renders in the browser tests' screenshots (not boxes).
if { ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "Noto.*CJK"; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) || echo "could not install chromium: browser tests will be skipped"
fi
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/medins}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export CELERY_TASK_ALWAYS_EAGER=true   # the real-worker test switches this off for itself
export DEBUG=${DEBUG:-true}            # development settings: the development secret key
.venv/bin/ruff check .
DATABASE_URL=sqlite://:memory: .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || { echo "models and migrations disagree: run makemigrations"; exit 1; }
# In parallel (pytest-xdist): one process per core (PYTEST_WORKERS to choose; -n 0 in the arguments
# runs in one process), each with its own test database (test_medins_gw0, …) into which the
# reference data is loaded once (tests/conftest.py). The browser tests share one worker
# (xdist_group "browser", --dist loadgroup): one Chromium, while the other worker takes the rest.
exec .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-auto}" --dist loadgroup "$@"
