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
	prometheus
	python3-prometheus-client
	python3-jsonschema
	python3-psycopg2
	valgrind
	prometheus-alertmanager
	prometheus-sql-exporter
)

# "deps.sh fuzz" adds what only make fuzz needs: clang and its libFuzzer.
[ "${1:-}" = fuzz ] && packages+=(clang libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
# The prometheus and prometheus-alertmanager packages would start their servers:
# forbid service starts while installing, unless a policy is already there.
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod +x "$policy"
	own_policy=true
fi
rc=0
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
if $own_policy; then $sudo rm -f "$policy"; fi
exit $rc
