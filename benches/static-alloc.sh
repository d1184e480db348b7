#!/usr/bin/env bash
# A quick look at an idora binary's allocator (benches/RESULTS.md, "The static
# binary"): `idora serve --demo`, then `ab -k -c 32` (apt: apache2-utils) as the
# demo's director against the task list and the company report, then the
# resident memory. Usage: benches/static-alloc.sh BIN PORT LABEL (N=requests).
set -uo pipefail
BIN=$1; PORT=$2; LABEL=$3
D=$(mktemp -d /tmp/idora-alloc-XXXX)
URL=http://127.0.0.1:$PORT
start=$(date +%s.%N)
IDORA_LOG=warn IDORA_LOGIN_PER_MINUTE=100000 "$BIN" serve --demo --data "$D/data" --listen 127.0.0.1:$PORT > "$D/out" 2>&1 &
PID=$!
until grep -q 'http://' "$D/out" 2>/dev/null; do sleep 0.05; kill -0 $PID || { cat $D/out; exit 1; }; done
seeded=$(date +%s.%N)
tok=$(curl -s -X POST -H 'content-type: application/json' -d '{"username":"director","password":"idora-demo"}' $URL/c/demo/api/v1/auth/login | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
for path in "/c/demo/api/v1/tasks" "/c/demo/api/v1/reports/company"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$URL$path")
  ab -q -k -c 32 -n ${N:-3000} -H "Authorization: Bearer $tok" "$URL$path" > "$D/ab" 2>&1
  rps=$(awk '/Requests per second/{print $4}' $D/ab)
  p50=$(awk '/^  50%/{print $2}' $D/ab); p99=$(awk '/^  99%/{print $2}' $D/ab)
  fails=$(awk '/Failed requests/{print $3}' $D/ab); non2xx=$(awk '/Non-2xx/{print $3}' $D/ab)
  echo "$LABEL $path (status $code): $rps req/s, p50 $p50 ms, p99 $p99 ms, failed $fails non2xx ${non2xx:-0}"
done
rss=$(awk '/VmRSS/{print $2/1024}' /proc/$PID/status); hwm=$(awk '/VmHWM/{print $2/1024}' /proc/$PID/status)
echo "$LABEL demo seeded (90 days) in $(echo "$seeded - $start" | bc) s; RSS after load ${rss} MB (peak ${hwm} MB)"
kill $PID; wait $PID 2>/dev/null
rm -rf "$D"
