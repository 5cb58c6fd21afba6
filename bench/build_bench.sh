#!/usr/bin/env bash
# No-op image build, side by side: `deployer build` (content hash, then one image
# lookup; Docker's builder is not called) against a fully cached `docker build` of the
# same context (the legacy builder, as here). Both images exist before timing starts.
set -euo pipefail
cd "$(dirname "$0")/.."
deployer=".venv/bin/deployer"
peer="env DOCKER_BUILDKIT=0 docker build -q -t deployer-bench/website-peer website"

"$deployer" build >/dev/null 2>&1
$peer >/dev/null 2>&1
hyperfine --warmup 3 --runs "${RUNS:-20}" -N "$deployer build" "$peer" "$@"
docker rmi deployer-bench/website-peer >/dev/null
