#!/bin/sh
# The kill -9 soak of issue 9: test/e2e/crash.test.ts with 20 trials each of a killed `up`
# and a killed `down` (npm test runs 3). Needs `npm run build` and `dstack setup` first.
# DSTACK_SOAK_TRIALS overrides the count; DSTACK_CRASH_DELAYS=ms,ms,… replays given moments.
set -e
cd "$(dirname "$0")/.."
export DSTACK_SOAK_TRIALS="${DSTACK_SOAK_TRIALS:-20}"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec npx jest --selectProjects e2e --runTestsByPath test/e2e/crash.test.ts "$@"
