#!/usr/bin/env bash
# make demo: walks through the lifecycle of a sandbox with the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/mini-isolate}
go build -o bin/demo ./hack/demo
exec bin/demo -bin "$bin"
