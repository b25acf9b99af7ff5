#!/bin/bash
# Example 1 (monthly security patching) with the rollout endpoint instead of a loop over drains: Moxxie takes the
# nodes out one at a time, checks quorum, Ceph, HA and capacity before each, and stops at the first failure with
# the node left in maintenance. This script starts the rollout, waits, does the patching of each node when the
# rollout waits for it (here only an echo: the demo cluster has no machines to ssh into), and says continue.
# It exits non-zero, printing the server's message, when the rollout is refused, fails or is cancelled.
# (Run against a server on a free port by GuideScriptsTest, which rewrites http://localhost:8080 and scales sleep.)

set -u
API=http://localhost:8080/api/v1
NODES='["hv7", "hv8", "hv9", "hv10"]'

# 1. Start the rollout: soft drains, the "continue" action (wait for us), at most one node down at a time.
response=$(curl -s -w '\n%{http_code}' -X POST "$API/rollouts" \
  -H "Content-Type: application/json" \
  -d "{\"nodes\": $NODES, \"drainMode\": \"soft\", \"action\": \"continue\", \"maxNodesDown\": 1}")
code=$(tail -n1 <<<"$response")
body=$(sed '$d' <<<"$response")
if [[ "$code" != "202" ]]; then
  echo "Rollout refused (HTTP $code): $(jq -r '.error // .' <<<"$body")" >&2
  exit 1
fi
id=$(jq -r '.rolloutId' <<<"$body")
echo "Rollout started: $id"

# 2. Follow it until it ends; patch each node when the rollout waits for it.
last=""
failures=0
while true; do
  rollout=$(curl -s -f "$API/rollouts/$id") || {
    failures=$((failures + 1))
    if (( failures >= 5 )); then echo "The server does not answer; the rollout goes on there: $API/rollouts/$id" >&2; exit 2; fi
    sleep 10
    continue
  }
  failures=0
  state=$(jq -r '.state' <<<"$rollout")
  line="$(jq -r '"[\(.completedNodes)/\(.totalNodes)] \(.state): \(.message)"' <<<"$rollout")"
  [[ "$line" != "$last" ]] && echo "$line" && last="$line"

  case "$state" in
    succeeded)
      echo "All nodes patched!"
      exit 0 ;;
    failed|cancelled)
      echo "Rollout $state: $(jq -r '.message' <<<"$rollout")" >&2
      jq -r '.steps[] | select(.state == "failed" or .state == "cancelled") | "  \(.node) at \(.phase): \(.message)"' <<<"$rollout" >&2
      exit 1 ;;
  esac

  node=$(jq -r '.awaitingContinue // empty' <<<"$rollout")
  if [[ -n "$node" ]]; then
    echo "=== Patching $node ==="
    # ssh root@$node 'apt-get update && apt-get -y dist-upgrade && reboot'   (left out in the demo)
    answer=$(curl -s -w '\n%{http_code}' -X POST "$API/rollouts/$id/continue?node=$node")
    if [[ "$(tail -n1 <<<"$answer")" != "200" ]]; then
      echo "Continue for $node refused: $(sed '$d' <<<"$answer" | jq -r '.error')" >&2
      exit 1
    fi
    echo "$node patched; Moxxie waits for it to be back, then brings its guests home"
  fi
  sleep 10
done
