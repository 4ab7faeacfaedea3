#!/usr/bin/env bash
# Installs the Debian packages deno task package built and starts their
# programs by hand (CI has no systemd): the coordinator, the master on a fresh
# embedded database, and a worker, which must come online. Stops them by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/packages}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
# --reinstall: packages of the version already installed are the ones just built, not to be skipped.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --reinstall $(realpath "$OUT")/basalt-*.deb >/dev/null
D=$(mktemp -d /tmp/basalt-smoke.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(free_port); ZMQ=$(free_port); EVENTS=$(free_port); COORD=$(free_port)
basalt-coordinator --port "$COORD" --state-dir "$D/coordinator" >"$D/coordinator.out" 2>"$D/coordinator.log" & PIDS+=($!)
basalt-master --data-dir "$D/master" --lab-dir "$D/lab" --http "127.0.0.1:$HTTP" --zmq "tcp://127.0.0.1:$ZMQ" \
  --events "tcp://127.0.0.1:$EVENTS" --coordinator "127.0.0.1:$COORD" >"$D/master.out" 2>"$D/master.log" & PIDS+=($!)
for _ in $(seq 1 150); do grep -q '"ready"' "$D/master.out" 2>/dev/null && break; sleep 0.2; done
grep -q '"ready"' "$D/master.out" || { cat "$D/master.log"; echo "smoke: the master did not start"; exit 1; }
basalt-worker --name smoke-worker --master "tcp://127.0.0.1:$ZMQ" --state-dir "$D/worker" 2>"$D/worker.log" & PIDS+=($!)
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$HTTP/api/v1/workers/smoke-worker" 2>/dev/null | grep -q '"state":"Online"' && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$HTTP/api/v1/workers/smoke-worker" | grep -q '"state":"Online"' \
  || { cat "$D/worker.log" "$D/master.log"; echo "smoke: the worker did not come online"; exit 1; }
curl -fs "http://127.0.0.1:$HTTP/" | grep -q "smoke-worker" || { echo "smoke: the web UI does not show the worker"; exit 1; }
grep -q '"ready"' "$D/coordinator.out" || { cat "$D/coordinator.log"; echo "smoke: the coordinator did not start"; exit 1; }
echo "smoke: packages installed; coordinator, master (web UI, API) and worker run and talk"
