#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), Example 2: Hardware Failure Recovery.
# Verbatim; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

# Emergency evacuation of failing node

FAULTY_NODE="hv7"

echo "=== EMERGENCY: Evacuating $FAULTY_NODE ==="

# 1. Hard drain - evacuate ALL VMs immediately
drain_response=$(curl -s -X POST http://localhost:8080/api/v1/nodes/$FAULTY_NODE/drain \
  -H "Content-Type: application/json" \
  -d '{
    "drainMode": "hard",
    "parallel": true,
    "maxConcurrent": 5
  }')

drain_id=$(echo $drain_response | jq -r '.drainId')
echo "Emergency drain started: $drain_id"

# 2. Monitor progress
while true; do
  status_response=$(curl -s http://localhost:8080/api/v1/nodes/$FAULTY_NODE/drain/$drain_id/status)
  status=$(echo $status_response | jq -r '.status')
  completed=$(echo $status_response | jq -r '.completedVMs')
  failed=$(echo $status_response | jq -r '.failedVMs')
  total=$(echo $status_response | jq -r '.totalVMs')

  echo "Progress: $completed/$total completed, $failed failed ($status)"

  # Show individual VM status
  echo $status_response | jq -r '.vmStatus[] | "\(.vmid): \(.status) -> \(.targetNode)"'

  if [[ "$status" == "completed" || "$status" == "failed" ]]; then
    break
  fi
  sleep 5
done

# 3. Mark as maintenance
curl -X POST "http://localhost:8080/api/v1/nodes/$FAULTY_NODE/maintenance?reason=Hardware%20failure"

# 4. Verify all critical VMs are running
echo "Verifying always-on VMs..."
curl -s "http://localhost:8080/api/v1/vms?tags=always-on" | \
  jq -r '.[] | select(.node != "'$FAULTY_NODE'") | "\(.vmid): \(.name) on \(.node) - \(.status)"'

echo "Evacuation complete. Node $FAULTY_NODE is now empty."
