#!/usr/bin/env bash
# Compiles (`bicep build`) and lints (`bicep lint`, rules raised in infra/bicepconfig.json) every .bicep and
# .bicepparam file under infra/ with the real Bicep compiler, restored from the configured NuGet source as the
# package Azure.Bicep.CommandLine.linux-x64. Fails on any error. Build output goes to a temporary folder.
#
# When the package source does not hold that package, the restore output is printed and a fallback runs:
# infra/bicep-syntax-check.cjs (tree-sitter-bicep). That fallback is a syntax and symbol check, NOT a compilation.
#
# Environment: BICEP_VERSION (default 0.37.4) picks the package version; BICEP_NUGET_SOURCE (optional) restores
# from that feed instead of the configured sources (e.g. an internal mirror).
set -euo pipefail

infra="$(cd "$(dirname "$0")" && pwd)"
tool="$infra/bicep-tool"
packages="$tool/obj/packages"
version="${BICEP_VERSION:-0.37.4}"
started=$(date +%s)

mapfile -t templates < <(find "$infra" -type f \( -name '*.bicep' -o -name '*.bicepparam' \) -not -path "$tool/*" | sort)
if [ "${#templates[@]}" -eq 0 ]; then
  echo "bicep.sh: no .bicep files under $infra" >&2
  exit 1
fi

restore_log="$(mktemp)"
out="$(mktemp -d)"
trap 'rm -rf "$out" "$restore_log"' EXIT

echo "bicep.sh: restoring Azure.Bicep.CommandLine.linux-x64 $version (dotnet restore)"
source_args=()
if [ -n "${BICEP_NUGET_SOURCE:-}" ]; then source_args=(--source "$BICEP_NUGET_SOURCE"); fi
if dotnet restore "$tool/bicep-tool.csproj" --packages "$packages" -p:BicepVersion="$version" "${source_args[@]}" >"$restore_log" 2>&1; then
  bicep="$(find "$packages/azure.bicep.commandline.linux-x64/$version" -type f -name bicep 2>/dev/null | head -n 1)"
  if [ -z "$bicep" ]; then
    cat "$restore_log"
    echo "bicep.sh: the package restored but holds no 'bicep' executable" >&2
    exit 1
  fi
  chmod +x "$bicep"
  echo "bicep.sh: $("$bicep" --version) ($(($(date +%s) - started)) s to restore)"
  failed=0
  for f in "${templates[@]}"; do
    rel="${f#"$infra"/}"
    mkdir -p "$out/$(dirname "$rel")"
    case "$f" in
      *.bicepparam) "$bicep" build-params "$f" --outfile "$out/${rel%.bicepparam}.parameters.json" || failed=1 ;;
      *) "$bicep" build "$f" --outdir "$out/$(dirname "$rel")" || failed=1
         "$bicep" lint "$f" || failed=1 ;;
    esac
  done
  echo "bicep.sh: build and lint of ${#templates[@]} files took $(($(date +%s) - started)) s in total"
  if [ "$failed" -ne 0 ]; then
    echo "bicep.sh: FAILED (see the errors above)" >&2
    exit 1
  fi
  echo "bicep.sh: every template compiles and lints clean"
  exit 0
fi

echo "bicep.sh: restore failed; its output:"
cat "$restore_log"
echo
echo "bicep.sh: ================================================================================"
echo "bicep.sh: FALLBACK: tree-sitter-bicep syntax and symbol check. THIS IS NOT A COMPILATION."
echo "bicep.sh: ================================================================================"
node "$infra/bicep-syntax-check.cjs" "$infra"
echo "bicep.sh: fallback took $(($(date +%s) - started)) s"
