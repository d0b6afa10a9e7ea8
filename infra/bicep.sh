#!/usr/bin/env bash
# Compiles and lints every .bicep and .bicepparam file under infra/ with the real Bicep compiler, and fails on any
# error or warning. There is no fallback: when the compiler cannot be restored, this fails, because a template
# that was not compiled is not known to deploy.
#
# The compiler is the NuGet package Azure.Bicep.CommandLine.linux-x64 (a self-contained `bicep` executable), pinned
# below and restored with `dotnet restore` through infra/bicep-tool/bicep-tool.csproj from the configured NuGet
# sources. A pinned compiler carries a pinned set of resource types, so `use-recent-api-versions` only moves when
# the pin does.
#
#   bash infra/bicep.sh                 build + lint every template; prints where the compiler is
#   bash infra/bicep.sh --print-path    restore if needed, then print the compiler's path only (used by the tests)
#
# Environment: BICEP_NUGET_SOURCE (optional) restores from that feed instead of the configured sources.
set -euo pipefail

BICEP_VERSION=0.49.2
infra="$(cd "$(dirname "$0")" && pwd)"
tool="$infra/bicep-tool"
packages="$tool/obj/packages"
started=$(date +%s)

restore() {
  local bin="$packages/azure.bicep.commandline.linux-x64/$BICEP_VERSION/tools/bicep"
  if [ ! -x "$bin" ]; then
    local log source_args=()
    log="$(mktemp)"
    if [ -n "${BICEP_NUGET_SOURCE:-}" ]; then source_args=(--source "$BICEP_NUGET_SOURCE"); fi
    if ! dotnet restore "$tool/bicep-tool.csproj" --packages "$packages" -p:BicepVersion="$BICEP_VERSION" \
      "${source_args[@]}" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      echo "bicep.sh: FAILED: could not restore Azure.Bicep.CommandLine.linux-x64 $BICEP_VERSION (dotnet restore, output above)" >&2
      exit 1
    fi
    rm -f "$log"
    if [ ! -f "$bin" ]; then
      echo "bicep.sh: FAILED: the package restored but holds no executable at $bin" >&2
      exit 1
    fi
    chmod +x "$bin"
  fi
  printf '%s\n' "$bin"
}

bicep="$(restore)"
if [ "${1:-}" = "--print-path" ]; then
  printf '%s\n' "$bicep"
  exit 0
fi

mapfile -t templates < <(find "$infra" -type f \( -name '*.bicep' -o -name '*.bicepparam' \) -not -path "$tool/*" | sort)
if [ "${#templates[@]}" -eq 0 ]; then
  echo "bicep.sh: FAILED: no .bicep files under $infra" >&2
  exit 1
fi

echo "bicep.sh: $("$bicep" --version) at $bicep"
out="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$out" "$log"' EXIT

# `bicep lint` reports the linter and compiler diagnostics of every file (a module's once more for each file that
# uses it); `build` and `build-params` prove that each file turns into a deployable JSON document. Every printed line
# that names a file and a position is a diagnostic: any of them fails the check, whatever its level (the exit code
# alone would let warnings through).
failed=0
cd "$infra"
{
  "$bicep" lint --pattern '**/*.bicep' || failed=1
  "$bicep" lint --pattern '**/*.bicepparam' || failed=1
  "$bicep" build --pattern '**/*.bicep' --outdir "$out" || failed=1
  "$bicep" build-params --pattern '**/*.bicepparam' --outdir "$out" || failed=1
} >>"$log" 2>&1
# A module's diagnostics are printed once for every file that uses it: show each once.
diagnostics="$(grep -E '\([0-9]+,[0-9]+\) : (Error|Warning|Info)' "$log" | sort -u || true)"
if [ -n "$diagnostics" ]; then
  printf '%s\n' "$diagnostics"
  failed=1
fi
# Every template must have been compiled: a pattern that matched less would pass by checking nothing.
built="$(find "$out" -type f -name '*.json' | wc -l)"
if [ "$built" -ne "${#templates[@]}" ]; then
  echo "bicep.sh: compiled $built of ${#templates[@]} files" >&2
  failed=1
fi
if [ "$failed" -ne 0 ]; then
  grep -vE '\([0-9]+,[0-9]+\) : (Error|Warning|Info)' "$log" >&2 || true
  count=$(printf '%s' "$diagnostics" | grep -c . || true)
  echo "bicep.sh: FAILED: $count diagnostic(s) in ${#templates[@]} files (errors and warnings both fail)" >&2
  exit 1
fi
echo "bicep.sh: ${#templates[@]} files compile and lint with 0 errors and 0 warnings ($(($(date +%s) - started)) s)"
