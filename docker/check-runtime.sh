#!/bin/sh
# Run while the image is built: the Python tests run on must be the variant's (PYTHON_VERSION, when
# given) and Node.js must be one lambda-cd runs on (package.json engines: >= 20). A mismatch fails
# the build with one line naming both versions, rather than shipping a mislabelled image.
#   check-runtime.sh [PYTHON_VERSION]
set -eu
wanted="${1:-}"
python3 -c 'import sys' 2>/dev/null || { echo "check-runtime: no python3 in the image (RUNTIME_BASE, SYSTEM_PACKAGES)" >&2; exit 1; }
actual=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -n "$wanted" ] && [ "$actual" != "$wanted" ]; then
  echo "check-runtime: PYTHON_VERSION=$wanted, but the base's python3 is $actual (RUNTIME_BASE must carry Python $wanted)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || { echo "check-runtime: no node in the image (SYSTEM_PACKAGES needs nodejs)" >&2; exit 1; }
if [ "$node_major" -lt 20 ]; then
  echo "check-runtime: Node.js $(node -p process.versions.node) in the image; lambda-cd needs >= 20" >&2
  exit 1
fi
echo "check-runtime: python $actual, node $(node -p process.versions.node)"
