#!/usr/bin/env bash
# Local stack for Isidorus: LocalStack (SQS, S3), moto (DynamoDB), PostgreSQL, Redis.
#
#   scripts/stack.sh up       start what is not running, wait until all of it answers
#   scripts/stack.sh down     stop exactly what this checkout started
#   scripts/stack.sh status   show each component and whether it answers
#   scripts/stack.sh restart  down, then up
#
# Every server binds 127.0.0.1 and nothing here talks to real AWS. State lives in
# .stack/ (pid files, logs, LocalStack's files); virtualenvs in .venvs/. PostgreSQL and
# Redis already running on the machine are used as they are and never stopped.
# Ports: LOCALSTACK_PORT (4566), MOTO_PORT (4569), POSTGRES_PORT (5432), REDIS_PORT (6379);
# POSTGRES_CLUSTER (main) names the Debian cluster to start when PostgreSQL does not answer.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SCRIPTS_DIR="$REPO_ROOT/scripts"
STACK_DIR="$REPO_ROOT/.stack"
VENVS_DIR="$REPO_ROOT/.venvs"
PYTHON="${PYTHON:-python3}"

LOCALSTACK_VERSION=4.13.1
LOCALSTACK_PORT="${LOCALSTACK_PORT:-4566}"
MOTO_PORT="${MOTO_PORT:-4569}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
POSTGRES_CLUSTER="${POSTGRES_CLUSTER:-main}"
READY_TIMEOUT="${STACK_READY_TIMEOUT:-120}"
STOP_GRACE="${STACK_STOP_GRACE:-10}"

# Nothing may reach real AWS: fixed test credentials, no EC2 metadata probe, no
# profile or stray endpoint from the caller's shell, and no proxy for loopback.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SQS \
  AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_DYNAMODB
export NO_PROXY="127.0.0.1,localhost,.localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

say() { printf 'stack: %s\n' "$*"; }
warn() { printf 'stack: warning: %s\n' "$*" >&2; }
die() {
  printf 'stack: error: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- pid files and processes

pid_file() { printf '%s/%s.pid' "$STACK_DIR" "$1"; }

read_pid() {
  local file
  file="$(pid_file "$1")"
  if [[ -s $file ]]; then tr -dc '0-9' <"$file"; fi
}

# What a recorded PID's command line must contain to still be ours (PIDs get reused).
cmd_pattern() {
  case $1 in
    localstack) printf 'localstack.runtime.main' ;;
    moto) printf 'moto_server' ;;
    redis) printf 'redis-server' ;;
    postgres) printf 'postgres' ;;
    *) die "unknown component $1" ;;
  esac
}

# Prints the PID if the pid file names a live process of ours; fails otherwise.
owned_pid() {
  local name=$1 pid
  pid="$(read_pid "$name")"
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then return 1; fi
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(cmd_pattern "$name")" || return 1
  printf '%s' "$pid"
}

# The process, all its descendants and its process group (orphans lose their parent link).
process_tree() {
  local pid=$1 child
  printf '%s\n' "$pid"
  pgrep -g "$pid" 2>/dev/null || true
  for child in $(pgrep -P "$pid" 2>/dev/null || true); do
    process_tree "$child"
  done
}

outside_group() {
  local pgid=$1 pid
  shift
  for pid in "$@"; do
    if [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" != "$pgid" ]]; then
      printf '%s\n' "$pid"
    fi
  done
}

alive_among() {
  local pid
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then printf '%s\n' "$pid"; fi
  done
}

wait_gone() {
  local seconds=$1 tick
  shift
  for ((tick = 0; tick < seconds * 5; tick++)); do
    [[ -z "$(alive_among "$@")" ]] && return 0
    sleep 0.2
  done
  [[ -z "$(alive_among "$@")" ]]
}

# TERM the whole tree, KILL what is left after the grace period, then check it is gone.
kill_tree() {
  local name=$1 pid=$2
  local -a pids
  local -a strays
  mapfile -t pids < <(process_tree "$pid" | sort -un)
  # One TERM each: the group signal, then whatever left the group.
  kill -TERM -- "-$pid" 2>/dev/null || true
  mapfile -t strays < <(outside_group "$pid" "${pids[@]}")
  if ((${#strays[@]})); then kill -TERM "${strays[@]}" 2>/dev/null || true; fi
  if ! wait_gone "$STOP_GRACE" "${pids[@]}"; then
    warn "$name: still running after ${STOP_GRACE}s; sending SIGKILL"
    mapfile -t pids < <({ printf '%s\n' "${pids[@]}"; pgrep -g "$pid" 2>/dev/null || true; } | sort -un)
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 5 "${pids[@]}" || die "$name: processes $(alive_among "${pids[@]}" | xargs) survived SIGKILL"
  fi
  say "$name: stopped (${#pids[@]} process(es): ${pids[*]})"
}

# Starts a command detached in its own session and process group, logging to .stack.
spawn() {
  local name=$1 log="$STACK_DIR/$1.log"
  shift
  if [[ -e $log ]]; then mv -f "$log" "$log.1"; fi
  # The lock's descriptor must not leak into a server, or the next `up` would wait forever.
  setsid "$@" </dev/null >"$log" 2>&1 9>&- &
  printf '%s\n' "$!" >"$(pid_file "$name")"
}

tail_log() {
  local log="$STACK_DIR/$1.log"
  if [[ -r $log ]]; then
    printf -- '--- last lines of %s ---\n' "$log" >&2
    tail -n 40 "$log" >&2
  fi
}

# ---------------------------------------------------------------- probes

port_answers() {
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

postgres_answers() {
  if have pg_isready; then
    pg_isready -q -t 3 -h 127.0.0.1 -p "$POSTGRES_PORT"
  else
    port_answers "$POSTGRES_PORT"
  fi
}

redis_answers() {
  if have redis-cli; then
    [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else
    port_answers "$REDIS_PORT"
  fi
}

# Waits until an AWS emulator really serves requests: `ready_probe MODE PORT TIMEOUT [PID]`.
# localstack: health shows sqs and s3, then a real SQS call (the first one loads the
# provider and takes seconds) and an S3 call. moto: DynamoDB ListTables succeeds.
ready_probe() {
  local mode=$1 port=$2 timeout=$3 pid=${4:-}
  "$VENVS_DIR/$mode/bin/python" - "$mode" "$port" "$timeout" "$pid" <<'PY'
import json, os, sys, time, urllib.request

import boto3
from botocore.config import Config

mode, port, timeout, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
endpoint = f"http://127.0.0.1:{port}"
config = Config(
    connect_timeout=5, read_timeout=60, retries={"max_attempts": 1},
    s3={"addressing_style": "path"},
)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def client(service):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test", config=config,
    )


def localstack_ready():
    with opener.open(f"{endpoint}/_localstack/health", timeout=5) as response:
        services = json.load(response).get("services", {})
    states = {name: services.get(name) for name in ("sqs", "s3")}
    if not all(state in ("available", "running") for state in states.values()):
        raise RuntimeError(f"health: {states}")
    client("sqs").list_queues()
    client("s3").list_buckets()


def moto_ready():
    client("dynamodb").list_tables()


def alive():
    if not pid:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


check = {"localstack": localstack_ready, "moto": moto_ready}[mode]
deadline = time.monotonic() + timeout
while True:
    try:
        check()
        sys.exit(0)
    except Exception as exc:  # any failure means "not yet"; the last one is reported
        last = f"{type(exc).__name__}: {exc}"
    if not alive():
        sys.exit(f"process {pid} exited; last error: {last}")
    if time.monotonic() >= deadline:
        sys.exit(f"not ready after {timeout:.0f}s; last error: {last}")
    time.sleep(0.5)
PY
}

# ---------------------------------------------------------------- virtualenvs

localstack_constraints() {
  local shared="$REPO_ROOT/../shared/localstack/constraints-$LOCALSTACK_VERSION.txt"
  local copy="$SCRIPTS_DIR/localstack-constraints-$LOCALSTACK_VERSION.txt"
  if [[ -r $shared ]]; then
    printf '%s' "$shared"
  elif [[ -r $copy ]]; then
    printf '%s' "$copy"
  else
    die "no LocalStack constraints file: neither $shared nor $copy"
  fi
}

# Hash of everything a venv is built from; the venv is rebuilt when it changes.
inputs_hash() {
  {
    "$PYTHON" -c 'import sys; print(sys.version)'
    cat "$@"
  } | sha256sum | cut -d' ' -f1
}

# ensure_venv NAME REQUIREMENTS [CONSTRAINTS]
ensure_venv() {
  local name=$1 requirements=$2 constraints=${3:-}
  local venv="$VENVS_DIR/$name" log="$STACK_DIR/pip-$name.log" want have=""
  local marker="$venv/.stack-inputs.sha256"
  local -a hashed=("$requirements") pip_args=(install --no-input -r "$requirements")
  if [[ -n $constraints ]]; then
    hashed+=("$constraints")
    pip_args+=(-c "$constraints")
  fi
  want="$(inputs_hash "${hashed[@]}")"
  if [[ -r $marker ]]; then have="$(<"$marker")"; fi
  if [[ $have == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
    return 0
  fi
  # A server must not keep running from a venv that is being replaced.
  stop_component "$name"
  say "$name: building $venv (pip log: $log)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  if ! "$venv/bin/python" -m pip "${pip_args[@]}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "$name: pip install failed; full log in $log"
  fi
  printf '%s\n' "$want" >"$marker"
}

# ---------------------------------------------------------------- system packages

install_packages() {
  if [[ $(id -u) -ne 0 ]] || ! have apt-get; then
    die "$* not installed. Install it (e.g. sudo apt-get install -y $*) or start it on 127.0.0.1 yourself, then rerun."
  fi
  say "installing $* with apt-get"
  # Waits for the dpkg lock: `make test` may install the browser beside the stack.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@"
}

wait_for() {
  local name=$1 probe=$2 tick
  for ((tick = 0; tick < READY_TIMEOUT; tick++)); do
    "$probe" && return 0
    sleep 1
  done
  tail_log "$name"
  die "$name: no answer after ${READY_TIMEOUT}s"
}

# ---------------------------------------------------------------- PostgreSQL

postgres_version() {
  local dirs
  dirs="$(find /etc/postgresql -mindepth 2 -maxdepth 2 -name "$POSTGRES_CLUSTER" -type d 2>/dev/null || true)"
  [[ -n $dirs ]] || die "postgres: no cluster '$POSTGRES_CLUSTER' under /etc/postgresql"
  basename "$(dirname "$(sort -V <<<"$dirs" | tail -n 1)")"
}

# pg_hba for a cluster we start ourselves: trust on loopback, as on the project's machines.
write_pg_hba() {
  local hba="$STACK_DIR/pg_hba.conf"
  printf '%s\n' \
    '# Written by scripts/stack.sh for a cluster it started: loopback only, trust.' \
    'local all all trust' \
    'host all all 127.0.0.1/32 trust' >"$hba"
  chmod 644 "$hba"
  printf '%s' "$hba"
}

start_postgres() {
  local version hba data
  version="$(postgres_version)"
  hba="$(write_pg_hba)"
  say "postgres: starting cluster $version/$POSTGRES_CLUSTER"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$POSTGRES_CLUSTER" start -- \
    -o "-c listen_addresses=127.0.0.1 -c port=$POSTGRES_PORT -c hba_file=$hba" \
    </dev/null 9>&-
  data="$(pg_lsclusters -h | awk -v v="$version" -v c="$POSTGRES_CLUSTER" '$1 == v && $2 == c {print $6}')"
  head -n 1 "$data/postmaster.pid" >"$(pid_file postgres)"
  printf '%s %s\n' "$version" "$POSTGRES_CLUSTER" >"$STACK_DIR/postgres.cluster"
}

ensure_postgres() {
  if postgres_answers; then
    say "postgres: 127.0.0.1:$POSTGRES_PORT answers; using it"
    return 0
  fi
  if ! have pg_ctlcluster; then
    install_packages postgresql
    postgres_answers && return 0
  fi
  start_postgres
  wait_for postgres postgres_answers
  say "postgres: started (pid $(read_pid postgres))"
}

stop_postgres() {
  local pid=$1 version cluster
  read -r version cluster <"$STACK_DIR/postgres.cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop || true
  if ! wait_gone "$STOP_GRACE" "$pid"; then kill_tree postgres "$pid"; fi
  rm -f "$STACK_DIR/postgres.cluster"
  say "postgres: stopped cluster $version/$cluster (pid $pid)"
}

# ---------------------------------------------------------------- Redis

start_redis() {
  local tick
  rm -f "$(pid_file redis)"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save "" --appendonly no --dir "$STACK_DIR" \
    --pidfile "$(pid_file redis)" --logfile "$STACK_DIR/redis.log" \
    </dev/null 9>&-
  for ((tick = 0; tick < 50; tick++)); do
    [[ -s "$(pid_file redis)" ]] && return 0
    sleep 0.1
  done
  tail_log redis
  die "redis: no pid file after start"
}

ensure_redis() {
  if redis_answers; then
    say "redis: 127.0.0.1:$REDIS_PORT answers; using it"
    return 0
  fi
  if ! have redis-server; then
    install_packages redis-server
    redis_answers && return 0
  fi
  start_redis
  wait_for redis redis_answers
  say "redis: started (pid $(read_pid redis))"
}

# ---------------------------------------------------------------- LocalStack and moto

start_localstack() {
  mkdir -p "$STACK_DIR/localstack-fs"
  spawn localstack env \
    SERVICES=sqs,s3 \
    GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" \
    GATEWAY_SERVER=hypercorn \
    DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 \
    SKIP_SSL_CERT_DOWNLOAD=1 \
    OVERRIDE_IN_DOCKER=0 \
    FILESYSTEM_ROOT="$STACK_DIR/localstack-fs" \
    SQS_ENDPOINT_STRATEGY=path \
    LOCALSTACK_HOST="localhost:$LOCALSTACK_PORT" \
    PYTHONPATH="$SCRIPTS_DIR/localstack_sitecustomize" \
    "$VENVS_DIR/localstack/bin/python" -m localstack.runtime.main
}

start_moto() {
  # One request at a time: moto's conditional writes are not atomic under concurrency
  # (scripts/moto_server_serialized.py).
  spawn moto "$VENVS_DIR/moto/bin/python" "$SCRIPTS_DIR/moto_server_serialized.py" \
    -H 127.0.0.1 -p "$MOTO_PORT"
}

# launch NAME PORT: start unless ours already runs or someone else serves the port.
launch() {
  local name=$1 port=$2 pid port_file="$STACK_DIR/$1.port"
  if pid="$(owned_pid "$name")"; then
    if [[ "$(cat "$port_file" 2>/dev/null)" == "$port" ]]; then
      say "$name: already running (pid $pid)"
      return 0
    fi
    say "$name: ours runs on another port; restarting it on $port"
    stop_component "$name"
  fi
  rm -f "$(pid_file "$name")"
  if port_answers "$port"; then
    say "$name: 127.0.0.1:$port answers but was not started by this checkout; reusing it"
    return 0
  fi
  "start_$name"
  printf '%s\n' "$port" >"$port_file"
  say "$name: starting (pid $(read_pid "$name"), log $STACK_DIR/$name.log)"
}

await() {
  local name=$1 port=$2 pid
  pid="$(owned_pid "$name" || true)"
  if ! ready_probe "$name" "$port" "$READY_TIMEOUT" "$pid"; then
    if [[ -z $pid ]]; then
      die "$name: 127.0.0.1:$port is held by a process not started here that does not work as $name; stop it or choose another port"
    fi
    tail_log "$name"
    die "$name: not ready on 127.0.0.1:$port (log: $STACK_DIR/$name.log)"
  fi
  say "$name: ready on http://127.0.0.1:$port"
}

# ---------------------------------------------------------------- loopback check

# Fails if any process of ours listens anywhere but 127.0.0.1.
check_loopback_only() {
  local name pid line bad=0
  local -a ours=()
  have ss || {
    warn "ss not found; skipped the loopback-only check"
    return 0
  }
  for name in localstack moto postgres redis; do
    if pid="$(owned_pid "$name")"; then
      mapfile -t -O "${#ours[@]}" ours < <(process_tree "$pid" | sort -un)
    fi
  done
  ((${#ours[@]})) || return 0
  while read -r line; do
    for pid in "${ours[@]}"; do
      [[ $line == *"pid=$pid,"* ]] || continue
      if [[ $(awk '{print $4}' <<<"$line") != 127.0.0.1:* ]]; then
        warn "not loopback-only: $line"
        bad=1
      fi
    done
  done < <(ss -Hltnp)
  ((bad == 0)) || die "a server of ours listens beyond 127.0.0.1"
}

# ---------------------------------------------------------------- commands

take_lock() {
  mkdir -p "$STACK_DIR" "$VENVS_DIR"
  # fd 9 holds the lock until this script exits; servers are started with 9>&-.
  exec 9>"$STACK_DIR/lock"
  flock -w 900 9 || die "another scripts/stack.sh holds $STACK_DIR/lock"
}

stop_component() {
  local name=$1 pid
  if ! pid="$(owned_pid "$name")"; then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  if [[ $name == postgres ]]; then
    stop_postgres "$pid"
  else
    kill_tree "$name" "$pid"
  fi
  rm -f "$(pid_file "$name")" "$STACK_DIR/$name.port"
}

check_ports() {
  local var
  for var in LOCALSTACK_PORT MOTO_PORT POSTGRES_PORT REDIS_PORT; do
    if ! [[ ${!var} =~ ^[0-9]{1,5}$ ]] || ((10#${!var} < 1 || 10#${!var} > 65535)); then
      die "$var=${!var} is not a TCP port"
    fi
  done
}

cmd_up() {
  local constraints
  check_ports
  take_lock
  ensure_postgres
  ensure_redis
  constraints="$(localstack_constraints)"
  ensure_venv localstack "$SCRIPTS_DIR/requirements-localstack.txt" "$constraints"
  # LocalStack takes a while to boot: build moto's venv meanwhile.
  launch localstack "$LOCALSTACK_PORT"
  ensure_venv moto "$SCRIPTS_DIR/requirements-moto.txt"
  launch moto "$MOTO_PORT"
  await moto "$MOTO_PORT"
  await localstack "$LOCALSTACK_PORT"
  check_loopback_only
  say "up in ${SECONDS}s: postgres 127.0.0.1:$POSTGRES_PORT, redis 127.0.0.1:$REDIS_PORT," \
    "sqs+s3 http://127.0.0.1:$LOCALSTACK_PORT, dynamodb http://127.0.0.1:$MOTO_PORT"
}

# The dashboard's browser test drives Debian's chromium through chromium-driver.
cmd_browser() {
  if have chromium && have chromedriver; then
    say "browser: $(chromium --version 2>/dev/null | head -n 1), chromedriver present"
    return 0
  fi
  install_packages chromium chromium-driver
  have chromium && have chromedriver || die "browser: chromium or chromedriver still missing"
}

cmd_down() {
  local name
  take_lock
  for name in moto localstack redis postgres; do
    if [[ -n "$(read_pid "$name")" ]] && ! owned_pid "$name" >/dev/null; then
      say "$name: recorded pid $(read_pid "$name") is gone; removing its pid file"
    fi
    stop_component "$name"
  done
  say "down: nothing started by this checkout is running"
}

status_line() {
  local name=$1 port=$2 probe=$3 state=DOWN owner="not started here" pid
  if "$probe"; then state=up; fi
  if pid="$(owned_pid "$name")"; then owner="started here, pid $pid"; fi
  printf '%-10s 127.0.0.1:%-5s %-4s (%s)\n' "$name" "$port" "$state" "$owner"
  [[ $state == up ]]
}

emulator_answers() {
  if [[ -x "$VENVS_DIR/$1/bin/python" ]]; then
    ready_probe "$1" "$2" 3 2>/dev/null
  else
    port_answers "$2"
  fi
}
localstack_answers() { emulator_answers localstack "$LOCALSTACK_PORT"; }
moto_answers() { emulator_answers moto "$MOTO_PORT"; }

cmd_status() {
  local rc=0
  status_line postgres "$POSTGRES_PORT" postgres_answers || rc=1
  status_line redis "$REDIS_PORT" redis_answers || rc=1
  status_line localstack "$LOCALSTACK_PORT" localstack_answers || rc=1
  status_line moto "$MOTO_PORT" moto_answers || rc=1
  return "$rc"
}

main() {
  cd "$REPO_ROOT"
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    browser) cmd_browser ;;
    restart)
      cmd_down
      cmd_up
      ;;
    *)
      printf 'usage: %s up|down|status|restart|browser\n' "$0" >&2
      exit 2
      ;;
  esac
}

main "$@"
