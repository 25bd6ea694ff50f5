#!/usr/bin/env bash
# The two-machine quick start (README.md beside this file) on one machine: two nodes with
# their own data directories, every address on 127.0.0.1 with ports the system picks.
#
#   PLEXUS=/path/to/plexus ./quickstart.sh      # default: plexus on the PATH
#
# QUICKSTART_DIR picks the working directory (default: a new one under $TMPDIR); the
# nodes and the worker are stopped when the script ends, whatever happens.
set -euo pipefail

PLEXUS="${PLEXUS:-plexus}"
WORK="${QUICKSTART_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/plexus-quickstart.XXXXXX")}"
M1="$WORK/machine1"
M2="$WORK/machine2"
mkdir -p "$WORK"
pids=()

stop() {
    local pid deadline
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop EXIT

# wait_for SECONDS WHAT COMMAND...: runs COMMAND until it succeeds, at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            echo "quickstart: timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

connected() { "$PLEXUS" status --data "$1" | grep -q ', [1-9][0-9]* peers'; }

step() { printf '\n== %s\n' "$*"; }

step "machine 1: plexus serve"
"$PLEXUS" serve --data "$M1" --api 127.0.0.1:0 --listen 127.0.0.1:0 >"$WORK/machine1.log" 2>&1 &
pids+=($!)
wait_for 30 "machine 1 to start" "$PLEXUS" status --data "$M1"
MESH1=$(cat "$M1/mesh.addr")
echo "machine 1 is agent $("$PLEXUS" id --data "$M1"), mesh address $MESH1"

step "machine 2: plexus serve --peer $MESH1"
"$PLEXUS" serve --data "$M2" --api 127.0.0.1:0 --listen 127.0.0.1:0 --peer "$MESH1" >"$WORK/machine2.log" 2>&1 &
pids+=($!)
wait_for 30 "machine 2 to start" "$PLEXUS" status --data "$M2"
wait_for 30 "the two machines to connect" connected "$M2"
"$PLEXUS" peers --data "$M2"

step "machine 2 joins the topic 'research'; machine 1 publishes into it"
"$PLEXUS" subscribe --data "$M2" research
PUBLISHED=$("$PLEXUS" publish --data "$M1" --topic research --tag quickstart '{"text":"hello from machine 1"}')
echo "$PUBLISHED"
ENTRY=$(echo "$PUBLISHED" | awk '{print $2}')

step "machine 2 reads it"
wait_for 60 "the entry to reach machine 2" "$PLEXUS" get --data "$M2" "$ENTRY"
"$PLEXUS" feed --data "$M2" --topic research
"$PLEXUS" search --data "$M2" hello

step "machine 1 runs a worker for 'echo' (cat); machine 2 sends it a task"
"$PLEXUS" worker --data "$M1" --capability echo --exec cat --count 1 >"$WORK/worker.log" 2>&1 &
pids+=($!)
wait_for 30 "machine 2 to find an agent offering echo" "$PLEXUS" find --data "$M2" --capability echo
"$PLEXUS" find --data "$M2" --capability echo
"$PLEXUS" task send --data "$M2" --capability echo --timeout 30 '{"text":"hello from machine 2"}'

step "done: data directories and logs in $WORK"
