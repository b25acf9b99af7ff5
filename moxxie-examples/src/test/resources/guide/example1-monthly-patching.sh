#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), Example 1: Monthly Security Patching.
# Verbatim but for step 4 and 5 (ssh, sleep 300); the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

# Patch all hypervisors with rolling maintenance

NODES="hv7 hv8 hv9 hv10"

for node in $NODES; do
  echo "=== Patching $node ==="

  # 1. Soft drain (skips maint-ok VMs)
  drain_response=$(curl -s -X POST http://localhost:8080/api/v1/nodes/$node/drain \
    -H "Content-Type: application/json" \
    -d '{"drainMode": "soft"}')

  drain_id=$(echo $drain_response | jq -r '.drainId')
  echo "Drain started: $drain_id"

  # 2. Wait for drain to complete
  while true; do
    status=$(curl -s http://localhost:8080/api/v1/nodes/$node/drain/$drain_id/status | jq -r '.status')
    completed=$(curl -s http://localhost:8080/api/v1/nodes/$node/drain/$drain_id/status | jq -r '.completedVMs')
    total=$(curl -s http://localhost:8080/api/v1/nodes/$node/drain/$drain_id/status | jq -r '.totalVMs')

    echo "Progress: $completed/$total ($status)"

    if [[ "$status" == "completed" ]]; then
      break
    fi
    sleep 10
  done

  # 3. Enable maintenance mode
  curl -X POST "http://localhost:8080/api/v1/nodes/$node/maintenance?reason=Security%20patching"

  # 4. Apply patches and reboot (via SSH)
  # (left out: the demo cluster has no machines to ssh into)
  echo "Rebooting $node..."

  # 5. Wait for node to come back online
  # (left out: sleep 300 and the ssh uptime loop)

  # 6. Disable maintenance mode
  curl -X DELETE http://localhost:8080/api/v1/nodes/$node/maintenance

  echo "$node patched successfully!"
  echo ""
done

echo "All nodes patched!"
