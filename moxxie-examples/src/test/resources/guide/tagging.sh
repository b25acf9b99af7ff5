#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), "VM Tag Behavior" examples.
# Verbatim; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

# Tag a critical VM as always-on
curl -X PUT http://localhost:8080/api/v1/vms/8200/config \
  -H "Content-Type: application/json" \
  -d '{"tags": "always-on,env-prod,client-acme"}'

# Tag a dev VM as maint-ok
curl -X PUT http://localhost:8080/api/v1/vms/8300/config \
  -H "Content-Type: application/json" \
  -d '{"tags": "maint-ok,env-dev,client-acme"}'
