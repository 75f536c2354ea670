#!/bin/sh
# Every Isidorus container starts here: a fresh Prometheus multiprocess directory (files
# left by an earlier run of this container would be counted again), then the command.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi
exec "$@"
