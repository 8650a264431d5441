#!/usr/bin/env bash
# Installs the OS packages that the tests and the demo need, when missing:
#   snmpd    Net-SNMP's agent, an independent SNMPv3 peer for the poller's tests
#   snmp     Net-SNMP's tools (snmpget), an independent v3 client for the simulator's tests
#   snmpsim  real devices' recorded walks (its examples), replayed by the simulator's tests
#   clickhouse-server, clickhouse-client  the history store (18.16 in Debian 12),
#            started by deploy/clickhouse/run.sh for the tests and the demo
# Fails loudly when one cannot be installed: tests must not skip for lack of it.
set -euo pipefail

need=()
command -v snmpd >/dev/null 2>&1 || [ -x /usr/sbin/snmpd ] || need+=(snmpd)
command -v snmpget >/dev/null 2>&1 || need+=(snmp)
[ -e /usr/share/doc/snmpsim/examples/data/public.snmprec.gz ] || need+=(snmpsim)
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
command -v curl >/dev/null 2>&1 || need+=(curl) # deploy/clickhouse/run.sh waits on /ping with it

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}" >&2
	exit 1
fi
echo "installing ${need[*]} from the OS package archive..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package starts a system snmpd on UDP 161; the tests run their own on
# free ports, and the simulator may want 161 on 127.x addresses.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now snmpd >/dev/null 2>&1 || true; fi
pkill -x snmpd 2>/dev/null || true
# Same for the system ClickHouse (ports 9000/8123): ours run from
# deploy/clickhouse/run.sh with their own config, ports and data.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now clickhouse-server >/dev/null 2>&1 || true; fi
echo "installed ${need[*]}"
