#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), Example 4: Check Always-On VM State.
# Verbatim; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

# Verify all always-on VMs are running correctly

echo "=== Checking Always-On VMs ==="

curl -s "http://localhost:8080/api/v1/vms?tags=always-on" | jq -r '
  .[] |
  if .status == "running" then
    "\u2705 \(.vmid): \(.name) on \(.node) - RUNNING"
  else
    "\u274c \(.vmid): \(.name) on \(.node) - \(.status) ⚠️  ALERT!"
  end
'
