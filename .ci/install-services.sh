#!/usr/bin/env bash
# Real services for the component examples' tests: MariaDB and Redis on
# loopback, from Debian's packages. Idempotent: installs what is missing,
# starts what is not running, creates the test database and user if absent.
#
# The tests read these settings (override with the same variables):
#   WORKERMAN_MYSQL_URL  mysql://workerman:workerman@127.0.0.1:3306/workerman_test
#   WORKERMAN_REDIS_URL  redis://127.0.0.1:6379/
# The tests that need them run with `cargo test --features interop`; a
# server that is not reachable then fails them with a clear message.
set -euo pipefail

log() { echo "install-services: $*"; }

# --- packages ---------------------------------------------------------------
need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- Redis ------------------------------------------------------------------
if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  log "redis already running"
else
  log "starting redis"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes \
    --save '' --appendonly no --protected-mode yes
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG
fi

# --- MariaDB ----------------------------------------------------------------
mysql_up() { mariadb-admin --protocol=socket ping >/dev/null 2>&1; }
if mysql_up; then
  log "mariadb already running"
else
  log "starting mariadb"
  mkdir -p /run/mysqld
  chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  # service(8) works where an init system answers; mysqld_safe everywhere.
  if ! service mariadb start >/dev/null 2>&1; then
    nohup mysqld_safe --user=mysql --bind-address=127.0.0.1 >/dev/null 2>&1 &
  fi
  for _ in $(seq 1 300); do
    mysql_up && break
    sleep 0.1
  done
  mysql_up || { log "mariadb did not start"; exit 1; }
fi

# As root over the Unix socket (unix_socket authentication, Debian's default).
mariadb --protocol=socket <<'SQL'
CREATE DATABASE IF NOT EXISTS workerman_test;
CREATE USER IF NOT EXISTS 'workerman'@'127.0.0.1' IDENTIFIED BY 'workerman';
CREATE USER IF NOT EXISTS 'workerman'@'localhost' IDENTIFIED BY 'workerman';
GRANT ALL PRIVILEGES ON workerman_test.* TO 'workerman'@'127.0.0.1';
GRANT ALL PRIVILEGES ON workerman_test.* TO 'workerman'@'localhost';
FLUSH PRIVILEGES;
SQL
log "mariadb ready: database workerman_test, user workerman on 127.0.0.1:3306"
