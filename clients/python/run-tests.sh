#!/usr/bin/env bash
# Runs the Python SDK's tests and the examples' tests against real `plexus serve` nodes.
#
#   clients/python/run-tests.sh [pytest arguments...]
#
# Creates (or reuses) a virtualenv under ${TMPDIR:-/tmp}/plexus-python-sdk-venv, installs
# the SDK (./clients/python) and pytest into it from PyPI, and runs pytest on
# clients/python/tests and examples/tests from the repository root. The node binary is
# $PLEXUS_BINARY (default: .build/debug/plexus of this repository). The exit status is
# pytest's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${TMPDIR:-/tmp}/plexus-python-sdk-venv"
PYTHON="${PYTHON:-python3}"
export PLEXUS_BINARY="${PLEXUS_BINARY:-$ROOT/.build/debug/plexus}"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

cd "$ROOT"
# setuptools builds in the source tree; a build/ left from an earlier run could carry stale files.
rm -rf clients/python/build
# The SDK is reinstalled every run (it changes with the repository); pytest is kept.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python pytest

# A hung test fails the run instead of blocking it: the stacks of a test running over 120 s
# are dumped, and the whole run is stopped after 10 minutes (its nodes die with it).
watchdog=()
if command -v timeout >/dev/null 2>&1; then watchdog=(timeout --kill-after=30 600); fi
set +e
${watchdog[@]+"${watchdog[@]}"} "$VENV/bin/python" -m pytest -q -p no:cacheprovider -o faulthandler_timeout=120 \
    clients/python/tests examples/tests "$@"
status=$?
set -e
exit "$status"
