#!/usr/bin/env bash
# dev/deps.sh -- install the Debian packages listed in dev/apt-packages.txt that are missing.
# Runs apt-get only when something is missing, so a warm machine pays nothing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(grep -v '^[[:space:]]*#' "$HERE/apt-packages.txt" | awk 'NF {print $1}')
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=()
  if [[ $(id -u) != 0 ]]; then SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
