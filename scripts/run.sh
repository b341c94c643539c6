#!/usr/bin/env bash
# The main job: set up and build, then generate text and classify a sentence
# pair with the bundled models (assets/), on the first Vulkan device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== vkinfer generate (bundled KJV GPT-2, default prompt)"
build/vkinfer generate "$@"
echo "== vkinfer classify (bundled KJV next-verse BERT, default pair)"
build/vkinfer classify
