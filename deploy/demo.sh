#!/usr/bin/env bash
# make demo: a collector on embedded etcd, a simulator of 1,000 SNMP devices
# (imported into the collector) and three agents sharing them, all on loopback,
# with data and logs in .run/demo. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=.run/demo
PORT=${UNET_DEMO_PORT:-8080}
SNMP_PORT=${UNET_DEMO_SNMP_PORT:-161}
DEVICES=${UNET_DEMO_DEVICES:-1000}
CH_TCP=${UNET_DEMO_CLICKHOUSE_PORT:-19000}
CH_HTTP=${UNET_DEMO_CLICKHOUSE_HTTP_PORT:-18123}
SITE=sim-site
mkdir -p "$RUN"
export UNET_SERVER="http://127.0.0.1:$PORT"

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping the demo..."
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	./deploy/clickhouse/run.sh --stop "$RUN/clickhouse" >/dev/null 2>&1 || true
	echo "stopped; logs and data are in $RUN"
}
trap cleanup INT TERM EXIT

# start NAME LOG CMD...: run CMD in the background, its output in LOG.
start() {
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	pids+=($!)
	echo "started $name (pid $!, log $log)"
}

# wait_for WHAT PID CHECK...: wait until CHECK succeeds, or fail with the log.
wait_for() {
	local what=$1 pid=$2 log=$3
	shift 3
	for _ in $(seq 1 300); do
		"$@" >/dev/null 2>&1 && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$what did not start; its log:" >&2
			cat "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "$what not ready after 30 s; its log:" >&2
	cat "$log" >&2
	exit 1
}

# Policies: the example DSL file and the hand-written Go modules (make wasm),
# copied into one directory the collector watches: edit a file there and the
# verdicts follow within seconds.
POLICIES=$RUN/policies
make --no-print-directory wasm >/dev/null
rm -rf "$POLICIES"
mkdir -p "$POLICIES"
cp policies-wasm/examples/*.unet policies-wasm/build/*.wasm "$POLICIES"/

# History: a ClickHouse server of the demo's own (the OS package's binary,
# our config, data under $RUN/clickhouse), stopped with the demo.
echo "starting ClickHouse (native port $CH_TCP, data in $RUN/clickhouse)..."
./deploy/clickhouse/run.sh "$RUN/clickhouse" "$CH_TCP" "$CH_HTTP" >/dev/null

start collector "$RUN/collector.log" \
	./bin/unet-collector --data-dir "$RUN/collector" --listen "127.0.0.1:$PORT" --log-format text \
	--policies "$POLICIES" --clickhouse "127.0.0.1:$CH_TCP"
wait_for "the collector" "${pids[-1]}" "$RUN/collector.log" curl -sf "$UNET_SERVER/readyz"

rm -f "$RUN/devices.csv"
start "simulator ($DEVICES devices on 127.1.0.1…, UDP $SNMP_PORT)" "$RUN/snmpsim.log" \
	./bin/unet-snmpsim --devices "$DEVICES" --base 127.1.0.1 --port "$SNMP_PORT" --site "$SITE" \
	--csv "$RUN/devices.csv" --flap-every 2m --log-format text
wait_for "the simulator" "${pids[-1]}" "$RUN/snmpsim.log" test -s "$RUN/devices.csv"
./bin/unetctl import "$RUN/devices.csv"
# Poll every 10 s, so that a minute after start there are rates to plot.
./bin/unetctl snmp-profile update "$SITE-snmp" --interval 10s >/dev/null

# Three agents share the site: they gossip on 127.0.0.1:7946-7948 and
# split the nodes by consistent hashing; kill one and the others take its
# nodes over.
agent_pids=()
for i in 1 2 3; do
	start "agent-$i" "$RUN/agent-$i.log" \
		./bin/unet-agent --collector "$UNET_SERVER" --site "$SITE" --data-dir "$RUN/agent-$i" \
		--name "agent-$i" --listen "127.0.0.1:918$i" --log-format text \
		--gossip "127.0.0.1:794$((5 + i))" --join 127.0.0.1:7946,127.0.0.1:7947,127.0.0.1:7948
	agent_pids+=("${pids[-1]}")
done
for i in 1 2 3; do
	wait_for "agent-$i" "${agent_pids[i - 1]}" "$RUN/agent-$i.log" curl -sf "http://127.0.0.1:918$i/readyz"
done

cat <<MSG

μNet demo is running: $DEVICES simulated devices in site $SITE, shared by agent-1, agent-2 and agent-3.

  API          $UNET_SERVER/api/v1/nodes
  OpenAPI      $UNET_SERVER/api/v1/openapi.json
  metrics      $UNET_SERVER/metrics (collector)   http://127.0.0.1:9181/metrics (agent-1; 9182, 9183)
  logs         $RUN/*.log

Try, in another terminal (export UNET_SERVER=$UNET_SERVER):

  ./bin/unetctl node list --location $SITE --limit 10
  ./bin/unetctl node show sim-00001 -o yaml
  ./bin/unetctl location tree
  ./bin/unetctl agents                          # who polls how many nodes
  ./bin/unetctl node status sim-00001           # polled by, last poll, observed state
  ./bin/unetctl history interface sim-00001 Gi1/0/1 --since 15m   # rates, with a plot
  ./bin/unetctl events sim-00001 --since 1h     # flaps, reboots, reachability
  ./bin/unetctl policy list                     # the policy files in $POLICIES
  ./bin/unetctl compliance --failing | head -20  # verdicts per node and rule
  ./bin/unetctl compliance --rule junos-edge-version -o json | head -30
  ./bin/unetctl policy eval $POLICIES/site-standards.unet --node sim-00001
  ./bin/unet-agent --collector \$UNET_SERVER --site $SITE --data-dir /tmp/unet-once --once -o json | head -50
  grep -c 'interface' $RUN/agent-*.log        # events the agents derived (5 % of the interfaces flap every 2 min)
  kill \$(pgrep -f 'name agent-3')            # the others take its nodes over (unetctl agents)

Ctrl-C stops it all.
MSG

wait -n "${pids[@]}"
