#!/bin/bash
# From the user guide Moxxie implements (its workflows are in docs/user-guide.md), "Hard Drain (Faulty Machine)" example.
# Verbatim; the test runs it against a server on a free port (its curl rewrites http://localhost:8080)
# and scales its sleeps to the demo cluster's speed (see GuideScriptsTest).

curl -X POST http://localhost:8080/api/v1/nodes/hv7/drain \
  -H "Content-Type: application/json" \
  -d '{
    "drainMode": "hard",
    "parallel": true,
    "maxConcurrent": 5
  }'
