#!/usr/bin/env bash
# Runs one step function in a fresh shell: run.sh starts it under
# `timeout`, which stops the step and every process it started at once.
# Usage: step.sh FUNCTION [ARGS...]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=load.sh
. "$here/load.sh"
"$@"
