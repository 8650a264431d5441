#!/usr/bin/env bash
# make demo: start a μNet collector on embedded etcd in .run/demo and show
# where to look. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=.run/demo
PORT=${UNET_DEMO_PORT:-8080}
mkdir -p "$RUN"
export UNET_SERVER="http://127.0.0.1:$PORT"

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping the demo..."
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped; logs and data are in $RUN"
}
trap cleanup INT TERM EXIT

./bin/unet-collector --data-dir "$RUN/collector" --listen "127.0.0.1:$PORT" --log-format text \
	>"$RUN/collector.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
	curl -sf "$UNET_SERVER/healthz" >/dev/null 2>&1 && break
	if ! kill -0 "${pids[0]}" 2>/dev/null; then
		echo "the collector did not start; its log:" >&2
		cat "$RUN/collector.log" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<MSG

μNet demo is running.

  API          $UNET_SERVER/api/v1/nodes
  OpenAPI      $UNET_SERVER/api/v1/openapi.json
  metrics      $UNET_SERVER/metrics
  logs         $RUN/collector.log

Try, in another terminal (export UNET_SERVER=$UNET_SERVER):

  ./bin/unetctl location add eu --kind region
  ./bin/unetctl location add par1 --kind site --parent eu
  ./bin/unetctl snmp-profile add lab --version 2c --community public
  ./bin/unetctl node add r1 --location par1 --vendor cisco --role router --mgmt-address 127.1.0.1 --snmp-profile lab --lifecycle live
  ./bin/unetctl node list
  ./bin/unetctl location tree

Ctrl-C stops it all.
MSG

wait -n "${pids[@]}"
