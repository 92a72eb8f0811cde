#!/usr/bin/env bash
# `make demo`: the retry_failed_runs playbook over a mixed inventory, one Kapacitor and one InfluxDB 2 server.
#
#   1. start tests/simulator/kapacitor_sim.py twice with tests/demo/scenario.json (a day of runs of five tasks:
#      passing failures, one task whose retries always fail, an inactive task, a failure too old to matter),
#      once as Kapacitor and once as InfluxDB 2 (--flavor influxdb2), and write an inventory with both in the
#      group `kapacitor`: the InfluxDB host with its token and org, neither with a server type (detected)
#   2. a dry run (--check): what would be retried
#   3. the real run: retry every failed scheduled time of the last 24h, on both servers in one play
#   4. the same run again: nothing is retried twice
#   5. ask each simulator itself what happened, stop them, exit non-zero if anything went wrong
#
# The Makefile sets KAPACITOR_PY (the venv's python), PATH (venv bin first), ANSIBLE_COLLECTIONS_PATH
# (so tickstack.kapacitor resolves to this checkout) and ANSIBLE_HOME. Run by hand the same way:
#   KAPACITOR_PY=python3 ANSIBLE_COLLECTIONS_PATH=<dir with ansible_collections/tickstack/kapacitor> bash tests/demo/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${KAPACITOR_PY:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kapacitor-demo.XXXXXX")
SERVERS=(kapacitor influxdb2)   # the simulators, by flavor; each is one host of the inventory
SIM_PIDS=()
START=$SECONDS

export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export ANSIBLE_SHOW_CUSTOM_STATS=true
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false

stop_simulators() {
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
            echo "simulator $pid stopped"
        fi
    done
    rm -rf "$WORK"
}
trap stop_simulators EXIT

banner() { printf '\n=== %s\n' "$*"; }

if ! ansible-doc -t role tickstack.kapacitor.retry_failed_runs >/dev/null 2>&1; then
    echo "tickstack.kapacitor does not resolve: set ANSIBLE_COLLECTIONS_PATH (make demo does)" >&2
    exit 1
fi

# start_simulator FLAVOR: one simulator of that flavor with the demo scenario; its base URL in $WORK/FLAVOR.url.
# --ready-file is written (atomically, the base URL only) once it listens; --pid-file just before it.
start_simulator() {
    local flavor=$1 pid
    "$PY" tests/simulator/kapacitor_sim.py --port 0 --flavor "$flavor" --scenario tests/demo/scenario.json \
        --ready-file "$WORK/$flavor.url" --pid-file "$WORK/$flavor.pid" >"$WORK/$flavor.log" 2>&1 &
    pid=$!
    SIM_PIDS+=("$pid")   # the same process as the pid file's: what stop_simulators signals
    for _ in $(seq 1 300); do
        [ -s "$WORK/$flavor.url" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the $flavor simulator exited before it was ready:" >&2
            cat "$WORK/$flavor.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [ ! -s "$WORK/$flavor.url" ]; then
        echo "the $flavor simulator wrote no ready file after 30s:" >&2
        cat "$WORK/$flavor.log" >&2
        exit 1
    fi
    echo "$flavor simulator ready at $(cat "$WORK/$flavor.url")"
}

banner "starting a Kapacitor and an InfluxDB 2 simulator, each with tests/demo/scenario.json"
for server in "${SERVERS[@]}"; do
    start_simulator "$server"
done

# One inventory, two kinds of server. The InfluxDB host gets the simulator's all-access token and its org (the
# simulator's defaults, sim-token and sim-org); no host says which kind it is: the modules ask (server_type auto).
cat >"$WORK/inventory.yml" <<EOF
kapacitor:
  hosts:
    kapacitor-1:
      kapacitor_url: "$(cat "$WORK/kapacitor.url")"
    influxdb-1:
      kapacitor_url: "$(cat "$WORK/influxdb2.url")"
      kapacitor_token: sim-token
      kapacitor_org: sim-org
EOF
echo "inventory:"
sed 's/^/    /' "$WORK/inventory.yml"

# Small helper: GET/POST a /_sim route of one simulator (by flavor) and print its JSON (standard library only).
sim() {
    "$PY" - "$(cat "$WORK/$1.url")" "$2" "$3" <<'EOF'
import json, sys, urllib.request
url, method, route = sys.argv[1], sys.argv[2], sys.argv[3]
data = b'{}' if method == 'POST' else None
req = urllib.request.Request(url + route, data=data, method=method, headers={'Content-Type': 'application/json'})
print(urllib.request.urlopen(req, timeout=10).read().decode())
EOF
}
for server in "${SERVERS[@]}"; do
    sim "$server" GET /_sim/attempts >"$WORK/attempts-before-$server.json"
    sim "$server" POST /_sim/stats/reset >/dev/null
done

play() {
    local name=$1
    shift
    local t0=$SECONDS rc=0
    ansible-playbook tickstack.kapacitor.retry_failed_runs -i "$WORK/inventory.yml" \
        -e retry_failed_runs_report_path="$WORK/report-$name-{{ inventory_hostname }}.json" \
        "$@" || rc=$?
    echo "($name: ansible-playbook exited $rc after $((SECONDS - t0))s)"
    return $rc
}

failures=0
banner "1/3 dry run (--check): what would be retried; nothing is"
play check --check || failures=$((failures + 1))

banner "2/3 retry every failed run of the last 24h on both servers (max_attempts 3, 4 at a time per server)"
play first || failures=$((failures + 1))

banner "3/3 the same playbook again: nothing may be retried twice"
play second || failures=$((failures + 1))

banner "what the simulators saw (not what the playbook says)"
for server in "${SERVERS[@]}"; do
    sim "$server" GET /_sim/attempts >"$WORK/attempts-after-$server.json"
    sim "$server" GET /_sim/stats >"$WORK/stats-$server.json"
done
"$PY" - "$WORK" <<'EOF' || failures=$((failures + 1))
import json, os, sys

work = sys.argv[1]
HOSTS = {'kapacitor': 'kapacitor-1', 'influxdb2': 'influxdb-1'}   # simulator flavor -> inventory host
RETRY_ROUTE = 'POST /api/v2/tasks/:id/runs/:rid/retry'


def load(name):
    with open(os.path.join(work, name)) as handle:
        return json.load(handle)


problems, table = [], []
for server, host in HOSTS.items():
    before, after = load('attempts-before-%s.json' % server), load('attempts-after-%s.json' % server)
    stats = load('stats-%s.json' % server)
    first, second = load('report-first-%s.json' % host), load('report-second-%s.json' % host)
    new_attempts = {}
    for task_id, times in after.items():
        for scheduled_for, attempts in times.items():
            old = {a['id'] for a in before.get(task_id, {}).get(scheduled_for, [])}
            new = [a for a in attempts if a['id'] not in old]
            if new:
                new_attempts[(task_id, scheduled_for)] = new
            if len(new) > 1:
                problems.append('%s: %s %s was retried %d times' % (host, task_id, scheduled_for, len(new)))

    expected = {(r['task_id'], r['scheduled_for']) for r in first['runs'] if r['outcome'] in ('retried', 'retried_failed')}
    if set(new_attempts) != expected:
        problems.append('%s: new attempts %s differ from the retried scheduled times %s'
                        % (host, sorted(new_attempts), sorted(expected)))
    posts = stats['requests'].get(RETRY_ROUTE, 0)
    figures1, figures2 = first['figures'], second['figures']
    if posts != figures1['retried'] + figures1['retried_failed']:
        problems.append('%s: %d retry requests, expected %d' % (host, posts, figures1['retried'] + figures1['retried_failed']))
    if figures2['retried'] + figures2['retried_failed'] != 0:
        problems.append('%s: the second run retried something' % host)
    if figures1['errors'] or figures2['errors']:
        problems.append('%s: errors were reported' % host)
    if (first['server'] or {}).get('type') != server:
        problems.append('%s: the report says server type %r, the simulator is %s' % (host, (first['server'] or {}).get('type'), server))

    print('%s (%s, as the report says: %s):' % (host, server, (first['server'] or {}).get('type')))
    print('  retry requests received by the simulator: %d (the first run reported %d retries, the second 0)'
          % (posts, figures1['retried'] + figures1['retried_failed']))
    print('  scheduled times with a new attempt: %d, each exactly one' % len(new_attempts))
    print('  new attempts that succeeded: %d, failed again: %d'
          % (sum(a[-1]['status'] == 'success' for a in new_attempts.values()),
             sum(a[-1]['status'] == 'failed' for a in new_attempts.values())))
    print('  requests by route: %s' % json.dumps(stats['requests'], sort_keys=True))
    table.extend((host, name, report) for name, report in (('first', first), ('second', second)))

print()
print('%-12s %-8s %7s %7s %8s %13s %10s %8s %7s %10s' % ('host', 'run', 'tasks', 'found', 'retried', 'failed again',
                                                         'given up', 'queued', 'errors', 'remaining'))
for host, name, report in table:
    f = report['figures']
    print('%-12s %-8s %7d %7d %8d %13d %10d %8d %7d %10d' % (host, name, f['tasks_scanned'], f['failed_found'], f['retried'],
                                                             f['retried_failed'], f['given_up'], f['already_queued'],
                                                             f['errors'], f['remaining']))
for problem in problems:
    print('PROBLEM: ' + problem)
sys.exit(1 if problems else 0)
EOF

banner "done in $((SECONDS - START))s"
if [ "$failures" -ne 0 ]; then
    echo "demo FAILED ($failures step(s) went wrong)"
    exit 1
fi
echo "demo OK: on Kapacitor and on InfluxDB 2, every failed run of the last 24h was retried exactly once;" \
    "the broken task was given up at max_attempts"
