#!/usr/bin/env bash
# Install the Debian packages depwatch builds and tests with, if any is
# missing.  Needs root (or sudo); does nothing when all are present.
set -euo pipefail

packages=(
	build-essential
	postgresql-15
	postgresql-contrib
	postgresql-server-dev-15
	libpq-dev
	libcurl4-openssl-dev
	postgresql-15-pgtap
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	python3
	libxml2-utils
	chromium
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
