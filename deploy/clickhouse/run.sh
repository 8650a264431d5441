#!/usr/bin/env bash
# Starts a ClickHouse server for one machine (the demo, the tests, CI) with
# the project's own configuration (config.xml, users.xml beside this
# script): loopback only, data and logs under DIR, timezone UTC.
#
#   run.sh DIR [TCP_PORT [HTTP_PORT]]   start in the background, wait until
#                                       it answers /ping, write DIR/clickhouse.pid
#   run.sh --exec DIR [TCP [HTTP]]      replace this shell with the server (for
#                                       a supervisor that waits on /ping itself:
#                                       internal/testsupport, systemd)
#   run.sh --stop DIR                   stop the server started in DIR
#
# Ports default to $UNET_CLICKHOUSE_TCP_PORT and $UNET_CLICKHOUSE_HTTP_PORT,
# else 9000 and 8123. The collector needs the TCP (native) port.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage() {
	echo "usage: $0 [--exec] DIR [TCP_PORT [HTTP_PORT]] | $0 --stop DIR" >&2
	exit 2
}

mode=background
case "${1:-}" in
--exec) mode=exec; shift ;;
--stop) mode=stop; shift ;;
-h | --help | "") usage ;;
esac
[ $# -ge 1 ] || usage
dir=$1
tcp=${2:-${UNET_CLICKHOUSE_TCP_PORT:-9000}}
http=${3:-${UNET_CLICKHOUSE_HTTP_PORT:-8123}}
pidfile=$dir/clickhouse.pid

if [ "$mode" = stop ]; then
	[ -s "$pidfile" ] || { echo "no ClickHouse started in $dir" >&2; exit 0; }
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile"
	exit 0
fi

for p in "$tcp" "$http"; do
	case $p in '' | *[!0-9]*) echo "port must be a number, got '$p'" >&2; usage ;; esac
done
bin=$(command -v clickhouse-server || true)
# Debian installs it in /usr/sbin, which a user's PATH may lack.
[ -n "$bin" ] || [ ! -x /usr/sbin/clickhouse-server ] || bin=/usr/sbin/clickhouse-server
if [ -z "$bin" ]; then
	echo "clickhouse-server not found: run deploy/install-deps.sh (apt-get install clickhouse-server)" >&2
	exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Keys after "--" override config.xml: one configuration for any number of
# servers side by side.
args=(
	--config-file="$here/config.xml" --
	--path="$dir/data/" --tmp_path="$dir/tmp/"
	--user_files_path="$dir/user_files/" --format_schema_path="$dir/format_schemas/"
	--tcp_port="$tcp" --http_port="$http"
	--logger.log="$dir/clickhouse.log" --logger.errorlog="$dir/clickhouse.err.log"
)

if [ "$mode" = exec ]; then
	exec "$bin" "${args[@]}"
fi

if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
	curl -sf "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
	echo "ClickHouse already running in $dir (pid $(cat "$pidfile"), tcp 127.0.0.1:$tcp)"
	exit 0
fi

nohup "$bin" "${args[@]}" >"$dir/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"
# Ready in 0.15-0.4 s on a warm machine; a first start can take seconds.
for _ in $(seq 1 600); do
	if curl -sf "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
		echo "ClickHouse ready on tcp 127.0.0.1:$tcp, http 127.0.0.1:$http (pid $pid, data and logs in $dir)"
		exit 0
	fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "ClickHouse exited during start; its logs:" >&2
		tail -n 30 "$dir/stdout.log" "$dir/clickhouse.err.log" 2>/dev/null >&2 || true
		rm -f "$pidfile"
		exit 1
	fi
	sleep 0.05
done
echo "ClickHouse not ready after 30 s; its logs:" >&2
tail -n 30 "$dir/stdout.log" "$dir/clickhouse.err.log" 2>/dev/null >&2 || true
kill -TERM "$pid" 2>/dev/null || true
rm -f "$pidfile"
exit 1
