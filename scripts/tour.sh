#!/bin/bash
# Runs the README's tour on fresh data directories under /tmp and prints it as the
# console transcripts the README shows. Needs `plexus` on PATH
# (scripts/build-release plexus && export PATH=$PWD/.build/release:$PATH).
set -u
command -v plexus >/dev/null || { echo "plexus is not on PATH" >&2; exit 1; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT
rm -rf /tmp/tour /tmp/tn /tmp/sm; mkdir -p /tmp/tour /tmp/tn /tmp/sm
run() { echo "\$ $*"; eval "$@"; echo; }
waitfile() { for _ in $(seq 100); do [ -f "$1" ] && return; sleep 0.1; done; }
export PLEXUS_HOME=/tmp/tour/node
run plexus init
echo '$ plexus serve --api 127.0.0.1:0 --listen 127.0.0.1:0 &'
plexus serve --api 127.0.0.1:0 --listen 127.0.0.1:0 > /tmp/tour/serve.log 2>&1 & pids+=($!)
waitfile /tmp/tour/node/api.addr; sleep 0.3
grep 'API listening' /tmp/tour/serve.log; echo
run plexus pubkey
run "plexus publish --topic research --tag sqlite --tag wal \\
    '{\"title\":\"WAL mode\",\"text\":\"Readers never block the writer in SQLite WAL mode\"}'"
out=$(plexus publish --topic research '{"text":"Group commit amortises fsync across concurrent writers"}')
echo "\$ plexus publish --topic research '{\"text\":\"Group commit amortises fsync across concurrent writers\"}'"; echo "$out"; echo
R=$(echo "$out" | awk '{print $2}')
run "echo '{\"text\":\"Measured: one fsync per batch of 512\"}' | plexus publish --type response --ref $R -"
run plexus feed
run plexus search fsync
run plexus status
echo "\$ plexus publish '[1,2]'; echo \"exit \$?\""; plexus publish '[1,2]' 2>&1; echo "exit $?"
unset PLEXUS_HOME
echo -----
plexus init --data /tmp/tn/a >/dev/null; plexus init --data /tmp/tn/b >/dev/null
plexus serve --data /tmp/tn/a --api 127.0.0.1:0 --listen 127.0.0.1:0 > /tmp/tn/a.log 2>&1 & pids+=($!)
waitfile /tmp/tn/a/mesh.addr
echo "\$ plexus serve --data /tmp/tn/b --api 127.0.0.1:0 --listen 127.0.0.1:0 --peer \$(cat /tmp/tn/a/mesh.addr) &"
plexus serve --data /tmp/tn/b --api 127.0.0.1:0 --listen 127.0.0.1:0 --peer $(cat /tmp/tn/a/mesh.addr) > /tmp/tn/b.log 2>&1 & pids+=($!)
waitfile /tmp/tn/b/api.addr
for _ in $(seq 100); do plexus peers --data /tmp/tn/a 2>/dev/null | grep -q inbound && break; sleep 0.1; done
run plexus peers --data /tmp/tn/a
run "plexus status --data /tmp/tn/b | tail -1"
run plexus connect --data /tmp/tn/b 127.0.0.1:1
echo -----
plexus init --data /tmp/sm/a >/dev/null; plexus init --data /tmp/sm/b >/dev/null
plexus serve --data /tmp/sm/a --api 127.0.0.1:0 --listen 127.0.0.1:0 > /tmp/sm/a.log 2>&1 & pids+=($!)
waitfile /tmp/sm/a/api.addr
for i in $(seq 30); do plexus publish --data /tmp/sm/a "{\"text\":\"note $i\"}" >/dev/null; done
plexus publish --data /tmp/sm/a --topic research '{"text":"a finding"}' >/dev/null
plexus serve --data /tmp/sm/b --api 127.0.0.1:0 --listen 127.0.0.1:0 --peer $(cat /tmp/sm/a/mesh.addr) > /tmp/sm/b.log 2>&1 & pids+=($!)
waitfile /tmp/sm/b/api.addr
for _ in $(seq 100); do plexus sync --data /tmp/sm/b 2>/dev/null | grep -q 'rounds [1-9].*received 30' && break; sleep 0.2; done
run plexus sync --data /tmp/sm/b
run plexus subscribe --data /tmp/sm/b research
for _ in $(seq 100); do plexus topics --data /tmp/sm/b 2>/dev/null | grep -q 'research  1 entries' && break; sleep 0.1; done
run "plexus topics --data /tmp/sm/b"
run plexus unsubscribe --data /tmp/sm/b mesh
echo -----
echo "\$ plexus worker --data /tmp/tn/a --capability echo --exec cat &"
plexus worker --data /tmp/tn/a --capability echo --exec cat > /tmp/tn/w.log 2>&1 & pids+=($!)
for _ in $(seq 100); do plexus find --data /tmp/tn/b --capability echo >/dev/null 2>&1 && break; sleep 0.1; done
run plexus find --data /tmp/tn/b --capability echo
run "plexus task send --data /tmp/tn/b --capability echo '{\"text\":\"hello\"}'"
echo "\$ plexus task send --data /tmp/tn/b --capability translate 'hola'; echo \"exit \$?\""; plexus task send --data /tmp/tn/b --capability translate 'hola' 2>&1; echo "exit $?"
echo -----
run plexus group create --data /tmp/tn/a lab
B=$(plexus id --data /tmp/tn/b)
echo "\$ plexus group add --data /tmp/tn/a lab \$(plexus id --data /tmp/tn/b)"; plexus group add --data /tmp/tn/a lab $B; echo
run "plexus publish --data /tmp/tn/a --group lab --type claim --tag sqlite '{\"text\":\"WAL readers never block the writer\"}'"
for _ in $(seq 100); do plexus feed --data /tmp/tn/b --group lab 2>/dev/null | grep WAL | grep -vq unlinked && break; sleep 0.1; done
run plexus feed --data /tmp/tn/b --group lab
ID=$(plexus feed --data /tmp/tn/b --group lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["id"])')
run plexus get --data /tmp/tn/b $ID
echo "\$ grep -rl 'WAL readers' /tmp/tn/b; echo \"exit \$?\""; grep -rl 'WAL readers' /tmp/tn/b; echo "exit $?"; echo
C=$(plexus feed --data /tmp/tn/a --group lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["id"])')
run "plexus publish --data /tmp/tn/a --group lab --type claim --tag sqlite --supersedes $C \\
    '{\"text\":\"WAL readers never block the writer, but a long reader can stall checkpoints\"}'"
for _ in $(seq 100); do plexus feed --data /tmp/tn/b --group lab 2>/dev/null | grep -q checkpoints && break; sleep 0.1; done
run "plexus context --data /tmp/tn/b --group lab --budget 200 what blocks the SQLite writer"
out=$(plexus board create --data /tmp/tn/a lab 'measure checkpoint stalls' --assignee $B)
echo "\$ plexus board create --data /tmp/tn/a lab 'measure checkpoint stalls' --assignee \$(plexus id --data /tmp/tn/b)"; echo "$out"; echo
T=$(echo "$out" | head -1 | awk '{print $1}')
T=$(plexus board --data /tmp/tn/a lab --json | python3 -c "import json,sys; print([t['id'] for t in json.load(sys.stdin)['tasks'] if t['id'].startswith('$T')][0])")
for _ in $(seq 100); do plexus board --data /tmp/tn/b lab 2>/dev/null | grep -q checkpoint && break; sleep 0.1; done
echo "\$ plexus board start --data /tmp/tn/a lab $T; echo \"exit \$?\""; plexus board start --data /tmp/tn/a lab $T 2>&1; echo "exit $?"; echo
run plexus board start --data /tmp/tn/b lab $T
run "plexus presence set --data /tmp/tn/b lab busy --text 'measuring checkpoints'"
for _ in $(seq 100); do plexus presence --data /tmp/tn/a lab 2>/dev/null | grep -q busy && break; sleep 0.1; done
run plexus presence --data /tmp/tn/a lab

