#!/usr/bin/env bash
# make demo: judges the solutions of examples/sum (batch) and examples/guess
# (interactive) with the language profiles, through `mini-isolate spec
# --profile`, `mini-isolate run --meta` and `mini-isolate interact`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/mini-isolate}
go build -o bin/demo ./hack/demo
exec bin/demo -bin "$bin"
