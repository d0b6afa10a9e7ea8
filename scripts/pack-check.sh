#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, installed globally into an empty prefix without dev dependencies, run
# from `/`. `arcmon check` asks a DNS port on loopback where nothing listens, so no traffic leaves the machine; it must
# end with exit 1 (required endpoints blocked), not 2 (usage) or 4 (internal error).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm pack --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/*.tgz)"
(cd / && npm install -g --prefix "$work/prefix" --omit=dev --prefer-offline --no-audit --no-fund "$tarball" >/dev/null)
if [ -d "$work/prefix/lib/node_modules/arc-connectivity-monitor/node_modules/esbuild" ]; then
  echo "pack-check: a dev dependency (esbuild) was installed" >&2
  exit 1
fi
arcmon="$work/prefix/bin/arcmon"
(cd / && "$arcmon" --version)
set +e
(cd / && "$arcmon" check --region eastus --dns-server 127.0.0.1:9 --no-allowlist --timeout-ms 500 --quiet)
code=$?
set -e
[ "$code" -eq 1 ] || { echo "pack-check: arcmon check exited $code, expected 1" >&2; exit 1; }
(cd / && "$arcmon" run --site pack-check --region eastus --dns-server 127.0.0.1:9 --cycles 1 --data-dir "$work/data" | tail -1)
echo "pack-check: installed globally with --omit=dev and ran from /"
