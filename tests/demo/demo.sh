#!/usr/bin/env bash
# `make demo`: the retry_failed_runs playbook against the Kapacitor simulator.
#
#   1. start tests/simulator/kapacitor_sim.py with tests/demo/scenario.json (a day of runs of five tasks:
#      passing failures, one task whose retries always fail, an inactive task, a failure too old to matter)
#   2. a dry run (--check): what would be retried
#   3. the real run: retry every failed scheduled time of the last 24h
#   4. the same run again: nothing is retried twice
#   5. ask the simulator itself what happened, stop it, exit non-zero if anything went wrong
#
# The Makefile sets KAPACITOR_PY (the venv's python), PATH (venv bin first), ANSIBLE_COLLECTIONS_PATH
# (so tickstack.kapacitor resolves to this checkout) and ANSIBLE_HOME. Run by hand the same way:
#   KAPACITOR_PY=python3 ANSIBLE_COLLECTIONS_PATH=<dir with ansible_collections/tickstack/kapacitor> bash tests/demo/demo.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PY=${KAPACITOR_PY:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kapacitor-demo.XXXXXX")
SIM_PID=
START=$SECONDS

export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1}
export ANSIBLE_SHOW_CUSTOM_STATS=true
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false

stop_simulator() {
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
        echo "simulator stopped"
    fi
    rm -rf "$WORK"
}
trap stop_simulator EXIT

banner() { printf '\n=== %s\n' "$*"; }

if ! ansible-doc -t role tickstack.kapacitor.retry_failed_runs >/dev/null 2>&1; then
    echo "tickstack.kapacitor does not resolve: set ANSIBLE_COLLECTIONS_PATH (make demo does)" >&2
    exit 1
fi

banner "starting the Kapacitor simulator with tests/demo/scenario.json"
# --ready-file is written (atomically, the base URL only) once it listens; --pid-file just before it.
"$PY" tests/simulator/kapacitor_sim.py --port 0 --scenario tests/demo/scenario.json \
    --ready-file "$WORK/sim.url" --pid-file "$WORK/sim.pid" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/sim.url" ] && break
    if ! kill -0 "$SIM_PID" 2>/dev/null; then
        echo "the simulator exited before it was ready:" >&2
        cat "$WORK/sim.log" >&2
        exit 1
    fi
    sleep 0.1
done
[ -s "$WORK/sim.url" ] || { echo "the simulator wrote no ready file after 30s:" >&2; cat "$WORK/sim.log" >&2; exit 1; }
URL=$(cat "$WORK/sim.url")
SIM_PID=$(cat "$WORK/sim.pid")     # the same process as $!: what stop_simulator signals
echo "simulator ready at $URL"

# Small helper: GET/POST a /_sim route and print its JSON (standard library only).
sim() {
    "$PY" - "$URL" "$@" <<'EOF'
import json, sys, urllib.request
url, method, route = sys.argv[1], sys.argv[2], sys.argv[3]
data = b'{}' if method == 'POST' else None
req = urllib.request.Request(url + route, data=data, method=method, headers={'Content-Type': 'application/json'})
print(urllib.request.urlopen(req, timeout=10).read().decode())
EOF
}
sim GET /_sim/attempts >"$WORK/attempts-before.json"
sim POST /_sim/stats/reset >/dev/null

play() {
    local name=$1
    shift
    local t0=$SECONDS rc=0
    ansible-playbook tickstack.kapacitor.retry_failed_runs \
        -e kapacitor_url="$URL" \
        -e retry_failed_runs_report_path="$WORK/report-$name.json" \
        "$@" || rc=$?
    echo "($name: ansible-playbook exited $rc after $((SECONDS - t0))s)"
    return $rc
}

failures=0
banner "1/3 dry run (--check): what would be retried; nothing is"
play check --check || failures=$((failures + 1))

banner "2/3 retry every failed run of the last 24h (max_attempts 3, 4 at a time)"
play first || failures=$((failures + 1))

banner "3/3 the same playbook again: nothing may be retried twice"
play second || failures=$((failures + 1))

banner "what the simulator saw (not what the playbook says)"
sim GET /_sim/attempts >"$WORK/attempts-after.json"
sim GET /_sim/stats >"$WORK/stats.json"
"$PY" - "$WORK" <<'EOF' || failures=$((failures + 1))
import json, os, sys

work = sys.argv[1]
def load(name):
    with open(os.path.join(work, name)) as handle:
        return json.load(handle)

before, after, stats = load('attempts-before.json'), load('attempts-after.json'), load('stats.json')
first, second = load('report-first.json'), load('report-second.json')
problems = []

new_attempts = {}
for task_id, times in after.items():
    for scheduled_for, attempts in times.items():
        old = {a['id'] for a in before.get(task_id, {}).get(scheduled_for, [])}
        new = [a for a in attempts if a['id'] not in old]
        if new:
            new_attempts[(task_id, scheduled_for)] = new
        if len(new) > 1:
            problems.append('%s %s was retried %d times' % (task_id, scheduled_for, len(new)))

expected = {(r['task_id'], r['scheduled_for']) for r in first['runs'] if r['outcome'] in ('retried', 'retried_failed')}
if set(new_attempts) != expected:
    problems.append('new attempts %s differ from the retried scheduled times %s' % (sorted(new_attempts), sorted(expected)))
posts = stats['requests'].get('POST /api/v2/tasks/:id/runs/:rid/retry', 0)
figures1, figures2 = first['figures'], second['figures']
if posts != figures1['retried'] + figures1['retried_failed']:
    problems.append('%d retry requests, expected %d' % (posts, figures1['retried'] + figures1['retried_failed']))
if figures2['retried'] + figures2['retried_failed'] != 0:
    problems.append('the second run retried something')
if figures1['errors'] or figures2['errors']:
    problems.append('errors were reported')

print('retry requests received by the simulator: %d (the first run reported %d retries, the second 0)'
      % (posts, figures1['retried'] + figures1['retried_failed']))
print('scheduled times with a new attempt: %d, each exactly one' % len(new_attempts))
print('new attempts that succeeded: %d, failed again: %d'
      % (sum(a[-1]['status'] == 'success' for a in new_attempts.values()),
         sum(a[-1]['status'] == 'failed' for a in new_attempts.values())))
print('requests by route: %s' % json.dumps(stats['requests'], sort_keys=True))
print()
print('%-8s %7s %7s %8s %13s %10s %8s %7s %10s' % ('run', 'tasks', 'found', 'retried', 'failed again', 'given up',
                                                   'queued', 'errors', 'remaining'))
for name, report in (('first', first), ('second', second)):
    f = report['figures']
    print('%-8s %7d %7d %8d %13d %10d %8d %7d %10d' % (name, f['tasks_scanned'], f['failed_found'], f['retried'],
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
echo "demo OK: every failed run of the last 24h was retried exactly once; the broken task was given up at max_attempts"
