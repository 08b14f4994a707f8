#!/usr/bin/env bash
# Prints (last stdout line) the path of a yaml-language-server, the YAML
# language server editors run (VS Code's YAML extension, Helix, Neovim's
# yamlls), installed from npm once under the test cache, then reused.
# tests/it/schema.rs talks to it over LSP through tests/tools/yamlls-check.py.
#
#   server="$(bash tests/tools/yaml-language-server.sh)"
set -euo pipefail
# shellcheck source=tests/tools/common.sh
. "$(dirname "$0")/common.sh"

# 2.x needs node 22.13 or later; Debian's nodejs is older.
VERSION=1.25.0
dir="${SUPERVISORCTL_TEST_CACHE:-$HOME/.cache/supervisorctl-tests}/yaml-language-server-$VERSION"
server="$dir/node_modules/.bin/yaml-language-server"

if [ -x "$server" ] && command -v node >/dev/null 2>&1; then
  echo "$server"
  exit 0
fi
command -v npm >/dev/null 2>&1 || need_debs npm
mkdir -p "$dir"
exec 8>"$dir.lock"
flock 8
if [ ! -x "$server" ]; then
  log "npm install yaml-language-server@$VERSION into $dir"
  npm install --prefix "$dir" --no-audit --no-fund "yaml-language-server@$VERSION" >&2
fi
echo "$server"
