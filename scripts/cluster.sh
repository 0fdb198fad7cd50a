#!/usr/bin/env bash
# cluster.sh start|stop DIR PORT [extra postgresql.conf lines...]
#
# A throwaway PostgreSQL cluster in DIR (under ./tmp), run by a non-root OS
# user because postgres refuses to run as root, listening on 127.0.0.1:PORT
# and on a socket in DIR, with depwatch preloaded.  Prints nothing but
# errors; "start" is idempotent.
set -euo pipefail

action=$1 dir=$2 port=$3
shift 3
bindir=$(pg_config --bindir)
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)

# The OS user that runs the server: ourselves unless root, else "postgres".
if [ "$(id -u)" -eq 0 ]; then
	runas=(runuser -u postgres --)
	id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
	chown postgres "$dir"
	# the server user must be able to reach DIR
	p=$dir
	while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
else
	runas=()
fi

case $action in
start)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		"${runas[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
			--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
		{
			echo "port = $port"
			echo "listen_addresses = '127.0.0.1'"
			echo "unix_socket_directories = '$dir'"
			echo "shared_preload_libraries = 'depwatch'"
			echo "fsync = off"
			for line in "$@"; do echo "$line"; done
		} >>"$dir/data/postgresql.conf"
	fi
	if ! "${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		# DEPWATCH_POSTGRES: another server executable (make valgrind's
		# test/valgrind/postgres), which may start much more slowly
		"${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
			${DEPWATCH_POSTGRES:+-p "$DEPWATCH_POSTGRES" -t 600} -t 60 start >/dev/null
	fi
	;;
stop)
	if [ -f "$dir/data/PG_VERSION" ]; then
		"${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	;;
*)
	echo "usage: $0 start|stop DIR PORT" >&2
	exit 2
	;;
esac
