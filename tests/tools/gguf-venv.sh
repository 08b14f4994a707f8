#!/usr/bin/env bash
# Prints (last stdout line) the python of a virtualenv that has the `gguf`
# package (for tiny-gguf.py) and the build tools llama-server.sh uses (cmake,
# ninja, setuptools-scm). Made once under the test cache, then reused.
#
#   python="$(bash tests/tools/gguf-venv.sh)"
#   "$python" tests/tools/tiny-gguf.py /tmp/tiny.gguf
set -euo pipefail
# shellcheck source=tests/tools/common.sh
. "$(dirname "$0")/common.sh"

venv="$TOOLS_CACHE/venv"
python="$venv/bin/python"
# Everything from binary wheels: nothing here is compiled.
requirements=(
  "gguf==$GGUF_VERSION"
  "numpy"
  "cmake>=3.18"
  "ninja"
  "setuptools>=77"
  "setuptools-scm>=8"
  "wheel"
)
stamp="$venv/.ready-$(printf '%s\n' "${requirements[@]}" | sha256sum | cut -c1-16)"

if [ -f "$stamp" ] && "$python" -c 'import gguf' >/dev/null 2>&1; then
  echo "$python"
  exit 0
fi

mkdir -p "$TOOLS_CACHE"
exec 8>"$TOOLS_CACHE/venv.lock"
flock 8
if [ ! -f "$stamp" ] || ! "$python" -c 'import gguf' >/dev/null 2>&1; then
  log "creating $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >&2; then
    need_debs python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
  fi
  "$python" -m pip install -q --disable-pip-version-check --only-binary :all: "${requirements[@]}" >&2
  "$python" -c 'import gguf, numpy' >&2
  touch "$stamp"
fi
echo "$python"
