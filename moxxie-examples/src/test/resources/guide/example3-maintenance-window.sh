#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), Example 3: Planned Maintenance Window.
# Verbatim; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

# Maintenance window with undrain

NODE="hv7"

echo "=== Maintenance Window for $NODE ==="

# 1. Soft drain with maintenance mode
curl -X POST "http://localhost:8080/api/v1/nodes/$NODE/maintenance?drain=true&reason=Planned%20maintenance"

# 2. Wait for drain
# (drain is triggered automatically by maintenance mode with drain=true)

# 3. Perform maintenance
echo "Performing maintenance on $NODE..."
sleep 60  # Your maintenance tasks here

# 4. Disable maintenance and undrain
curl -X DELETE "http://localhost:8080/api/v1/nodes/$NODE/maintenance?undrain=true"

echo "Maintenance complete. VMs migrating back to $NODE."
