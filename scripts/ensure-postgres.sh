#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers. The tests create
# (and drop) a database of their own on postgresql://postgres@127.0.0.1:5432
# as user postgres, without a password. On a fresh Debian/Ubuntu machine (CI)
# this installs Debian's PostgreSQL, creates and starts its cluster, and lets
# postgres in over loopback TCP without a password. Safe to run again: when
# the server already answers it changes nothing.
#   PF_TEST_POSTGRES_URL   test on another server: only checked, never provisioned
#   PF_POSTGRES_CLUSTER    the local cluster to provision (default main)
#   PF_POSTGRES_PORT       its port (default 5432)
set -euo pipefail

cluster="${PF_POSTGRES_CLUSTER:-main}"
port="${PF_POSTGRES_PORT:-5432}"
url="${PF_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:${port}/postgres}"

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
say() { echo "postgres: $*"; }

answers() {
  command -v psql >/dev/null &&
    PGCONNECT_TIMEOUT=5 psql "$url" -XAtqc 'SELECT 1' >/dev/null 2>&1
}

if answers; then
  # Never print the URL itself: it may hold a password.
  if [[ -n "${PF_TEST_POSTGRES_URL:-}" ]]; then
    say "the server in \$PF_TEST_POSTGRES_URL answers"
  else
    say "a server answers on 127.0.0.1:${port}"
  fi
  exit 0
fi
if [[ -n "${PF_TEST_POSTGRES_URL:-}" ]]; then
  say "cannot connect to \$PF_TEST_POSTGRES_URL; start that server or unset the variable" >&2
  exit 1
fi

# Debian's packages: the server, the client and pg_ctlcluster & co.
if ! command -v pg_ctlcluster >/dev/null || ! command -v psql >/dev/null; then
  say "installing PostgreSQL from the distribution's packages"
  as_root apt-get update -qq
  # A container's policy-rc.d may forbid starting services during install;
  # the cluster is started below either way.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if [[ ! -d "/etc/postgresql/${version}/${cluster}" ]]; then
  say "creating cluster ${version}/${cluster} on port ${port}"
  as_root pg_createcluster "${version}" "${cluster}" --port "${port}" >/dev/null
fi
configured_port=$(pg_conftool -s "${version}" "${cluster}" show port 2>/dev/null || echo 5432)
if [[ "${configured_port}" != "${port}" ]]; then
  say "cluster ${version}/${cluster} listens on port ${configured_port}, not ${port}" >&2
  exit 1
fi

# pg_ctlcluster, not systemctl, where systemd does not run (containers);
# this is how the development machine starts its cluster too.
ctl() {
  if [[ -d /run/systemd/system ]]; then
    as_root pg_ctlcluster "${version}" "${cluster}" "$1"
  else
    as_root pg_ctlcluster --skip-systemctl-redirect "${version}" "${cluster}" "$1"
  fi
}

if ! pg_isready -q -h 127.0.0.1 -p "${port}"; then
  say "starting cluster ${version}/${cluster}"
  ctl start
  for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p "${port}" && break; sleep 0.5; done
fi

# Debian's pg_hba.conf asks TCP clients for a password (scram-sha-256) and
# its first matching line wins, so ours goes before every rule. Only the
# user postgres, only from this machine: fine on CI and development
# machines, not on a shared server (point PF_TEST_POSTGRES_URL elsewhere).
hba="/etc/postgresql/${version}/${cluster}/pg_hba.conf"
marker="# printfleet-tests: scripts/ensure-postgres.sh"
if ! answers && ! as_root grep -qF "${marker}" "${hba}"; then
  say "letting postgres connect from 127.0.0.1 and ::1 without a password (${hba})"
  rules="${marker}\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust"
  as_root awk -v rules="${rules}" '
    !done && /^[[:space:]]*[^#[:space:]]/ { print rules; done = 1 }
    { print }
    END { if (!done) print rules }' "${hba}" | as_root tee "${hba}.printfleet" >/dev/null
  # cat, not mv: the file keeps its owner (postgres) and mode.
  as_root sh -c "cat '${hba}.printfleet' > '${hba}' && rm '${hba}.printfleet'"
  ctl reload
fi

for _ in $(seq 20); do answers && break; sleep 0.5; done
if ! answers; then
  say "cannot connect to 127.0.0.1:${port} as postgres" \
      "(see /var/log/postgresql/postgresql-${version}-${cluster}.log)" >&2
  exit 1
fi
say "ready on port ${port} (cluster ${version}/${cluster})"
