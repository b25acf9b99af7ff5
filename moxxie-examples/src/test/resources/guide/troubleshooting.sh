#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), Troubleshooting.
# Verbatim but {drainId} is $DRAIN_ID and the log file commands are left out; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

DRAIN_ID="${DRAIN_ID:?set DRAIN_ID to the drain to look at}"

echo "=== Issue: Drain Stuck in Progress ==="
# Check drain status
curl http://localhost:8080/api/v1/nodes/hv7/drain/$DRAIN_ID/status | jq .

# Look for failed VMs
curl http://localhost:8080/api/v1/nodes/hv7/drain/$DRAIN_ID/status | \
  jq '.vmStatus[] | select(.status == "failed")'

# Check migration logs
# (left out: the server logs to its standard output, not to quarkus-dev.log)

echo "=== Issue: Always-On VM Found Stopped ==="
# Check if VM is running now
curl http://localhost:8080/api/v1/vms/8200 | jq '.status'

# Manually start if needed
curl -X POST http://localhost:8080/api/v1/vms/8200/power/start

echo "=== Issue: Cannot Select Target Node ==="
# Check which nodes are in maintenance
curl http://localhost:8080/api/v1/nodes | jq '.[] | select(.status == "maintenance")'

# Check available nodes
curl http://localhost:8080/api/v1/nodes | jq '.[] | select(.status != "maintenance") | .node'

# Disable maintenance on a node if needed
curl -X DELETE http://localhost:8080/api/v1/nodes/hv8/maintenance

echo "=== Issue: Maint-OK VMs Not Being Skipped ==="
# Verify VM has maint-ok tag
curl http://localhost:8080/api/v1/vms/8300 | jq '.tags'

# Should contain "maint-ok"
# If not, add it:
curl -X PUT http://localhost:8080/api/v1/vms/8300/config \
  -H "Content-Type: application/json" \
  -d '{"tags": "maint-ok,env-dev"}'
