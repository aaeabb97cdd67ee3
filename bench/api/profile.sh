#!/bin/sh
# A py-spy profile of FlowViz under load, for a target `make bench-api` reports as not met:
#   bench/api/profile.sh ENDPOINT [api|celery]     (or: make bench-profile ENDPOINT=... TARGET=...)
# Serves the app as bench/api/run.py does (same environment variables), warms ENDPOINT up, then
# records the API workers (api, the default) or the Celery worker (celery) with py-spy for
# BENCH_DURATION seconds while wrk drives ENDPOINT at the highest of BENCH_CONNECTIONS.
# Writes test-artifacts/profile-ENDPOINT-TARGET.svg (a flame graph; open it in a browser).
# BENCH_PROFILE_RATE: samples per second (50).
# py-spy comes from PyPI into the project's .venv the first time (it needs ptrace: root, or
# CAP_SYS_PTRACE in a container).
set -eu
cd "$(dirname "$0")/../.."
endpoint=${1:?usage: bench/api/profile.sh ENDPOINT [api|celery]}
target=${2:-api}
if [ ! -x .venv/bin/py-spy ]; then
  .venv/bin/python -m pip install --quiet 'py-spy>=0.4,<1'
fi
exec .venv/bin/python bench/api/run.py --profile "$endpoint" --profile-target "$target"
