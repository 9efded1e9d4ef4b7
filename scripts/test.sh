#!/usr/bin/env bash
# Runs every test of the project. Usage: scripts/test.sh [area ...]
# Areas: core pkg proxy resolver web (default: all, in that order).
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1

areas=("$@")
[ ${#areas[@]} -gt 0 ] || areas=(core pkg proxy resolver web)
passed=0 failed=0
for area in "${areas[@]}"; do
  script="$ROOT/scripts/test-$area.sh"
  if [ ! -f "$script" ]; then
    echo "unknown test area: $area" >&2
    exit 2
  fi
  step "test area: $area"
  if bash "$script"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "test area $area FAILED" >&2
  fi
done
echo
echo "areas: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
