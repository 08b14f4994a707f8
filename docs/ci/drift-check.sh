#!/usr/bin/env bash
# A drift check for CI: compare hosts/ with an observer's world directory and
# act on supervisorctl's exit code. Copy it into your pipeline; every
# variable has a default.
#
#   HOSTS=hosts WORLD=world-fixtures/sample/world NOW=2026-11-23T12:00:00Z ./drift-check.sh
#
# NOW: the time of a checked-in snapshot (leave it unset for a live
# observer's world). OUT: where the events go (default: a temporary file,
# removed at the end; nothing is written in the working directory).
#
# Exit: 0 nominal; 0 with a warning when degraded or reconciling (2), unless
# FAIL_ON_DEGRADED=1; 1 when unstable (3) or on an error (1): a typo in a
# path is an error, never "drift".
set -uo pipefail   # pipefail: `check … | tee` must not hide check's exit code

HOSTS=${HOSTS:-hosts}
WORLD=${WORLD:-world}
if [ -z "${OUT:-}" ]; then
  OUT=$(mktemp) || exit 1
  trap 'rm -f "$OUT"' EXIT
fi
SUPERVISORCTL=${SUPERVISORCTL:-supervisorctl}
args=(--hosts "$HOSTS" --world "$WORLD")
if [ -n "${NOW:-}" ]; then args+=(--now "$NOW"); fi
shard=()
if [ -n "${SHARD:-}" ]; then shard=(--shard "$SHARD"); fi   # K/N of a CI matrix

"$SUPERVISORCTL" "${args[@]}" check "${shard[@]}" --output json | tee "$OUT" >/dev/null
code=$?

# What needs a person, one line each (events are JSON lines; jq works too).
grep -E '"type":"reconcile_(required|blocked)"' "$OUT" | sed 's/^/drift: /' || true

case "$code" in
  0) echo "nominal"; exit 0 ;;
  2) echo "degraded or reconciling (exit 2)"
     if [ "${FAIL_ON_DEGRADED:-0}" = 1 ]; then exit 1; fi
     exit 0 ;;
  3) echo "unstable (exit 3)"; exit 1 ;;
  *) echo "error (exit $code): see the message above"; exit 1 ;;
esac
