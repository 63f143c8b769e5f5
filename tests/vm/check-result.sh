#!/bin/bash
# check-result.sh NAME RESULTS_FILE
# Turn one body's line in the results file written by run-all.sh into a ctest verdict:
#   exit 0 on PASS, 77 on SKIP (the reason is printed), 1 on FAIL or when there is no result
#   (then the body's part of the console log, the lines prefixed "[NAME] ", is printed).
set -uo pipefail
[ $# = 2 ] || { echo "usage: check-result.sh NAME RESULTS_FILE" >&2; exit 2; }
name=$1; results=$2; log=$results.log

show_log() {
  if [ ! -f "$log" ]; then echo "(no console log $log)"; return; fi
  local slice
  slice=$(awk -v p="[$name] " -v t="TEST $name: " 'index($0, p) == 1 || index($0, t) == 1' "$log")
  if [ -n "$slice" ]; then
    echo "--- console output of $name (from $log):"; printf '%s\n' "$slice"
  else
    echo "--- no console output from $name; last 40 lines of $log:"; tail -n 40 "$log"
  fi
}

if [ ! -f "$results" ]; then
  echo "FAIL: no results file $results (did vm-boot run?)"; show_log; exit 1
fi
line=$(awk -v p="$name " 'index($0, p) == 1' "$results" | tail -1)
if [ -z "$line" ]; then
  g=$(awk 'index($0, "SKIP ") == 1' "$results" | head -1)
  if [ -n "$g" ]; then echo "SKIP: ${g#SKIP }"; exit 77; fi
  echo "FAIL: no result for $name in $results (body added after the boot ran?)"; show_log; exit 1
fi
rest=${line#"$name "}; verdict=${rest%% *}; detail=${rest#"$verdict"}; detail=${detail# }
case "$verdict" in
  PASS) echo "PASS: $name ($detail)"; exit 0 ;;
  SKIP) echo "SKIP: $detail"; exit 77 ;;
  *)    echo "FAIL: $name: $detail"; show_log; exit 1 ;;
esac
