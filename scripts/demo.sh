#!/usr/bin/env bash
# Set up and start the demo: SQLite, Celery eager, reference data, demo users, and the server
# on DEMO_ADDR (default 127.0.0.1:8000; e.g. DEMO_ADDR=8001 or DEMO_ADDR=0.0.0.0:8001).
set -euo pipefail
cd "$(dirname "$0")/.."
addr=${DEMO_ADDR:-127.0.0.1:8000}
case "$addr" in
  *:*) host=${addr%:*}; port=${addr##*:} ;;
  *)   host=127.0.0.1; port=$addr ;;
esac
host=${host#[}; host=${host%]}
if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "DEMO_ADDR=$addr: expected [HOST:]PORT, e.g. 127.0.0.1:8000 or 8001" >&2; exit 2
fi
# A busy port fails here, before any setup and before "Demo ready" (runserver would fail after it).
port_free() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as s:
    try:
        s.bind((host, port))
    except OSError as exc:
        sys.exit(f"{host}:{port} is not available ({exc.strerror}): stop what uses it, or choose another "
                 f"address, e.g. DEMO_ADDR=127.0.0.1:{port + 1} make demo")
PY
}
port_free "$host" "$port"
case "$host" in 0.0.0.0|::) shown=localhost ;; *:*) shown="[$host]" ;; *) shown=$host ;; esac
url="http://$shown:$port"
bash scripts/venv.sh requirements.txt
# The demo is a development server: debug pages, static files from runserver, the development
# secret key (without DEBUG=true the settings refuse to start with no SECRET_KEY).
export DEBUG=${DEBUG:-true}
py=.venv/bin/python
$py manage.py migrate --noinput -v 0
$py manage.py demo_data
port_free "$host" "$port"  # again: something may have taken it during the setup
cat <<MSG

  Demo ready:  $url/admin/   API docs: $url/api/docs/   school portal: $url/portal/login/
  Log in as 'admin' or one user per role (intake_clerk, reviewer, reviewer2, approver,
  approver2, finance, policy_admin, supervisor, supervisor2, school_operator, institution_operator),
  password 'demo1234'.

MSG
exec $py manage.py runserver "$addr"
