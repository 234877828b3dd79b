#!/usr/bin/env bash
# Set up and start the demo: SQLite, Celery eager, reference data, demo users, server on :8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh requirements.txt
# The demo is a development server: debug pages, static files from runserver, the development
# secret key (without DEBUG=true the settings refuse to start with no SECRET_KEY).
export DEBUG=${DEBUG:-true}
py=.venv/bin/python
$py manage.py migrate --noinput -v 0
$py manage.py demo_data
cat <<MSG

  Demo ready:  http://localhost:8000/admin/   API docs: http://localhost:8000/api/docs/
  Log in as 'admin' or one user per role (intake_clerk, reviewer, reviewer2, approver,
  approver2, finance, policy_admin, supervisor, school_operator, institution_operator),
  password 'demo1234'.

MSG
exec $py manage.py runserver "${DEMO_ADDR:-127.0.0.1:8000}"
