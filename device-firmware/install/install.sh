#!/usr/bin/env bash
# Install the Printfleet agent on a Raspberry Pi (or any Debian-like machine).
#
#   sudo device-firmware/install/install.sh [--server URL] [--broker HOST[:PORT]]
#
# Creates an unprivileged user, a virtualenv under /opt/printfleet-agent, a
# commented config in /etc/printfleet-agent/agent.toml and a systemd unit
# that restarts the agent on failure. Safe to run again (it upgrades).
# For packaging and tests: --destdir DIR installs below DIR and skips the
# user, permissions and systemctl steps.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/.." && pwd)"
user="printfleet-agent"
prefix="/opt/printfleet-agent"
config_dir="/etc/printfleet-agent"
data_dir="/var/lib/printfleet-agent"
destdir=""
server_url=""
broker=""

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --server) server_url="$2"; shift 2 ;;
    --broker) broker="$2"; shift 2 ;;
    --destdir) destdir="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

if [[ -z "$destdir" && $(id -u) -ne 0 ]]; then
  echo "install.sh: run as root (sudo), or use --destdir for a staged install" >&2
  exit 2
fi

step() { echo "printfleet-agent install: $*"; }

if [[ -z "$destdir" ]]; then
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || \
     ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    step "installing Python 3.11+ and venv"
    apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  if ! id "$user" >/dev/null 2>&1; then
    step "creating the system user $user"
    useradd --system --home-dir "$data_dir" --shell /usr/sbin/nologin "$user"
  fi
fi

root="${destdir}"
step "installing into ${root}${prefix}/venv"
mkdir -p "${root}${prefix}" "${root}${config_dir}" "${root}${data_dir}"
[[ -x "${root}${prefix}/venv/bin/python" ]] || python3 -m venv "${root}${prefix}/venv"
"${root}${prefix}/venv/bin/python" -m pip install -q --upgrade pip
"${root}${prefix}/venv/bin/python" -m pip install -q --upgrade "$source_dir"

config="${root}${config_dir}/agent.toml"
if [[ ! -e "$config" ]]; then
  step "writing $config (edit it, then: systemctl restart printfleet-agent)"
  sed -e "s#^data_dir = .*#data_dir = \"${data_dir}\"#" "$source_dir/agent.sample.toml" > "$config"
  if [[ -n "$server_url" ]]; then
    sed -i "s#^url = \"http://127.0.0.1:8080\"#url = \"${server_url}\"#" "$config"
  fi
  if [[ -n "$broker" ]]; then
    host="${broker%%:*}"; port="${broker##*:}"; [[ "$port" == "$broker" ]] && port=1884
    sed -i -e "0,/^host = .*/s##host = \"${host}\"#" -e "0,/^port = .*/s##port = ${port}#" "$config"
  fi
fi

unit="${root}/etc/systemd/system/printfleet-agent.service"
mkdir -p "$(dirname "$unit")"
sed -e "s#@USER@#${user}#g" -e "s#@PREFIX@#${prefix}#g" -e "s#@CONFIG_DIR@#${config_dir}#g" \
    -e "s#@DATA_DIR@#${data_dir}#g" "$here/printfleet-agent.service" > "$unit"

"${root}${prefix}/venv/bin/printfleet-agent" --config "$config" --check-config || {
  echo "printfleet-agent install: fix $config (see the errors above), then start the service"
}

if [[ -z "$destdir" ]]; then
  chown -R "$user:$user" "$data_dir"
  chmod 0700 "$data_dir"
  chown root:"$user" "$config"
  chmod 0640 "$config"
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl enable --now printfleet-agent
    step "running; pair it with: journalctl -u printfleet-agent -f (it shows the code)"
  else
    step "systemd is not running here; start the agent with: sudo -u $user ${prefix}/venv/bin/printfleet-agent --config $config"
  fi
fi
step "done"
