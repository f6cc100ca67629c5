#!/usr/bin/env bash
# make demo: judges examples/sum's solutions with the language profiles,
# through `mini-isolate spec --profile` and `mini-isolate run --meta`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/mini-isolate}
go build -o bin/demo ./hack/demo
exec bin/demo -bin "$bin"
