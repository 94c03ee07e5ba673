#!/usr/bin/env bash
# Starts the real data stores Backstop's tests use, on 127.0.0.1 with free ports:
# PostgreSQL 15, Redis 7, ClickHouse and moto's S3 server (signature checking on).
#
#   hack/test-services.sh run -- CMD …   start all, run CMD with BACKSTOP_TEST_* exported, stop all
#   hack/test-services.sh start          start all and leave them running; prints the env file
#   hack/test-services.sh stop           stop what `start` left running
#
# Everything lives under one state directory and is stopped by PID, never by name.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${BACKSTOP_TEST_PYTHON:-$repo/.venv/bin/python}"
pg_bindir="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
persistent_state="$repo/.build-services"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
random_secret() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND…
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "test-services: $what did not start; see $state/*.log" >&2; return 1; fi
    sleep 0.2
  done
}

start_postgres() {
  local dir="$state/postgres" port; port=$(free_port)
  mkdir -p "$dir"; chown postgres:postgres "$dir" "$state"; chmod 700 "$dir"
  printf '%s\n' "$pg_password" > "$state/pgpass.tmp"; chown postgres "$state/pgpass.tmp"
  runuser -u postgres -- "$pg_bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$state/pgpass.tmp" >"$state/postgres-init.log" 2>&1
  rm -f "$state/pgpass.tmp"
  runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$dir/data" -l "$state/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  echo "BACKSTOP_TEST_PG_HOST=127.0.0.1" >>"$env_file"
  echo "BACKSTOP_TEST_PG_PORT=$port" >>"$env_file"
  echo "BACKSTOP_TEST_PG_USER=postgres" >>"$env_file"
  echo "BACKSTOP_TEST_PG_PASSWORD=$pg_password" >>"$env_file"
  echo "BACKSTOP_TEST_PG_BINDIR=$pg_bindir" >>"$env_file"
  echo "BACKSTOP_TEST_PG_SOCKET_DIR=$dir" >>"$env_file"
}

start_redis() {
  local dir="$state/redis" port; port=$(free_port); mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --requirepass "$redis_password" --dir "$dir" \
    --save '' --appendonly no --repl-diskless-sync-delay 0 --daemonize no --logfile "$state/redis.log" &
  echo $! >"$state/redis.pid"
  wait_for 20 redis env REDISCLI_AUTH="$redis_password" redis-cli -h 127.0.0.1 -p "$port" ping
  echo "BACKSTOP_TEST_REDIS_PORT=$port" >>"$env_file"
  echo "BACKSTOP_TEST_REDIS_PASSWORD=$redis_password" >>"$env_file"
  echo "BACKSTOP_TEST_REDIS_DIR=$dir" >>"$env_file"
}

start_clickhouse() {
  local dir="$state/clickhouse" http tcp inter; http=$(free_port); tcp=$(free_port); inter=$(free_port)
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  cat >"$dir/users.xml" <<XML
<yandex>
  <profiles><default/></profiles>
  <quotas><default/></quotas>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
</yandex>
XML
  cat >"$dir/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port><tcp_port>$tcp</tcp_port><interserver_http_port>$inter</interserver_http_port>
  <path>$dir/data/</path><tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path><format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
XML
  chown -R clickhouse:clickhouse "$dir"
  runuser -u clickhouse -- clickhouse-server --config-file="$dir/config.xml" >"$state/clickhouse.log" 2>&1 &
  echo $! >"$state/clickhouse.pid"
  wait_for 60 clickhouse curl -sf "http://127.0.0.1:$http/ping"
  echo "BACKSTOP_TEST_CLICKHOUSE_URL=http://127.0.0.1:$http" >>"$env_file"
  echo "BACKSTOP_TEST_CLICKHOUSE_DATA=$dir/data" >>"$env_file"
}

start_s3() {
  local port; port=$(free_port)
  # The first 3 calls are unauthenticated: they create the IAM user, its policy and key.
  # Every later call must be signed correctly (moto checks SigV4 from then on).
  INITIAL_NO_AUTH_ACTION_COUNT=3 "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$state/s3.log" 2>&1 &
  echo $! >"$state/s3.pid"
  wait_for 30 s3 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)"
  "$python" - "$port" >>"$env_file" <<'PY'
import sys, boto3
endpoint = f"http://127.0.0.1:{sys.argv[1]}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="backstop-test")
iam.put_user_policy(UserName="backstop-test", PolicyName="all",
    PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
key = iam.create_access_key(UserName="backstop-test")["AccessKey"]
print(f"BACKSTOP_TEST_S3_ENDPOINT={endpoint}")
print(f"BACKSTOP_TEST_S3_ACCESS_KEY={key['AccessKeyId']}")
print(f"BACKSTOP_TEST_S3_SECRET_KEY={key['SecretAccessKey']}")
print("BACKSTOP_TEST_S3_REGION=us-east-1")
PY
}

stop_all() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/postgres/data/postmaster.pid" ]; then
    runuser -u postgres -- "$pg_bindir/pg_ctl" -D "$dir/postgres/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  for name in redis clickhouse s3; do
    if [ -f "$dir/$name.pid" ]; then
      local pid; pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

start_all() {
  pg_password=$(random_secret); redis_password=$(random_secret)
  env_file="$state/env"; : >"$env_file"
  start_postgres & local pg=$!
  start_redis & local rd=$!
  start_clickhouse & local ch=$!
  start_s3 & local s3=$!
  local failed=0
  for pid in $pg $rd $ch $s3; do wait "$pid" || failed=1; done
  echo "BACKSTOP_TEST_PYTHON=$python" >>"$env_file"
  echo "BACKSTOP_TEST_STATE_DIR=$state" >>"$env_file"
  return $failed
}

case "${1:-}" in
  run)
    shift; [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { echo "usage: $0 run -- CMD …" >&2; exit 2; }
    state=$(mktemp -d /tmp/backstop-services.XXXXXX); chmod 755 "$state"
    trap 'stop_all "$state"' EXIT INT TERM
    start_all || exit 1
    set -a; . "$state/env"; set +a
    set +e; "$@"; status=$?; set -e
    exit $status
    ;;
  start)
    stop_all "$persistent_state"; state="$persistent_state"; mkdir -p "$state"; chmod 755 "$state"
    start_all || { stop_all "$state"; exit 1; }
    echo "$state/env"
    ;;
  stop) stop_all "$persistent_state" ;;
  *) echo "usage: $0 run -- CMD … | start | stop" >&2; exit 2 ;;
esac
