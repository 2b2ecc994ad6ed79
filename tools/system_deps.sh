#!/usr/bin/env bash
# What `make test` needs beyond Python packages: Chromium for the browser tests and redis-server
# for the event log's Redis backend. Installs them with apt-get where it can (root, or sudo
# without a password, on Debian or Ubuntu); otherwise says in one line what to install.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0

sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo_="sudo"; else sudo_="none"; fi
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$sudo_" = "none" ]; then
  echo "make test needs ${need[*]}: install them (on Debian: sudo apt-get install ${need[*]}) and run make test again" >&2
  exit 1
fi
echo "== installing ${need[*]} with apt-get"
$sudo_ apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
for cmd in "${need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "apt-get installed ${cmd} but it is not on PATH" >&2; exit 1; }
done
