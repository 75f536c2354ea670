#!/usr/bin/env bash
# The application processes of `make run`: the API server, one Celery worker per queue,
# celery beat (reaper and dead-letter drainer) and the demo site on 127.0.0.1:8765.
#
#   scripts/services.sh up      start them (idempotent), wait until the API answers /health/
#   scripts/services.sh down    stop exactly the processes this script started, by PID
#   scripts/services.sh restart down, then up (`make run` restarts so code changes apply)
#
# Every process's environment comes from the caller (the Makefile's run settings).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STACK_DIR="$REPO_ROOT/.stack"
VENV_PY="$REPO_ROOT/.venv/bin/python"
API_HOST=127.0.0.1
API_PORT="${API_PORT:-8000}"
STAGES=(scraper writer image-extractor page-summarizer webhooks)

say() { printf 'services: %s\n' "$*"; }

alive() {
  local file="$STACK_DIR/$1.pid"
  [[ -s $file ]] && kill -0 "$(cat "$file")" 2>/dev/null
}

launch() {
  local name=$1
  shift
  if alive "$name"; then
    say "$name already running (pid $(cat "$STACK_DIR/$name.pid"))"
    return
  fi
  # setsid: each service gets its own process group, so `down` stops its children too.
  setsid "$@" >"$STACK_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$STACK_DIR/$name.pid"
  say "started $name (pid $!, log .stack/$name.log)"
}

up() {
  mkdir -p "$STACK_DIR"
  cd "$REPO_ROOT"
  ISIDORUS_API_BIND="$API_HOST:$API_PORT" launch run-api "$REPO_ROOT/.venv/bin/gunicorn" \
    config.wsgi:application -c "$REPO_ROOT/config/gunicorn.conf.py"
  local namespace="${ISIDORUS_NAMESPACE:-isidorus}" stage
  for stage in "${STAGES[@]}"; do
    launch "run-worker-$stage" "$VENV_PY" -m celery -A config worker \
      -Q "$namespace-$stage" -n "$stage@%h" -c "${WORKER_CONCURRENCY:-2}" \
      --without-heartbeat --without-mingle --without-gossip -l INFO
  done
  launch run-beat "$VENV_PY" -m celery -A config beat -l INFO
  launch run-demo-site "$VENV_PY" "$REPO_ROOT/scripts/demo_site.py" --port "${DEMO_PORT:-8765}"
  local deadline=$((SECONDS + 60))
  until curl -fsS "http://$API_HOST:$API_PORT/health/" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      say "API not healthy after 60s:"
      curl -sS "http://$API_HOST:$API_PORT/health/" || tail -20 "$STACK_DIR/run-api.log"
      exit 1
    fi
    sleep 0.5
  done
  say "API healthy on http://$API_HOST:$API_PORT/health/"
}

stop_one() {
  local name=$1 file="$STACK_DIR/$1.pid" pid
  [[ -s $file ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    say "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

down() {
  local file
  shopt -s nullglob
  for file in "$STACK_DIR"/run-*.pid; do
    stop_one "$(basename "$file" .pid)"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart)
    down
    up
    ;;
  *)
    echo "usage: $0 up|down|restart" >&2
    exit 2
    ;;
esac
