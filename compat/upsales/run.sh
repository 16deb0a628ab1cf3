#!/usr/bin/env bash
# Upsales has no client library on a registry: its users call the API from their own code, and
# its official Postman collection is the reference. This suite replays that collection with
# newman (pinned in package.json) and runs a full integration sync in Python. Needs KITH_URL,
# KITH_BIN and KITH_DATA (compat/run sets them) and the collection, read from the vendor specs
# folder (`../shared/specs/` beside the repository, or KITH_VENDOR_SPECS). It makes an account
# of its own.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SPECS="${KITH_VENDOR_SPECS:-$HERE/../../../shared/specs}"
COLLECTION="$SPECS/upsales-v2.postman-collection.json"
if [[ ! -f "$COLLECTION" ]]; then
    echo "FAIL: the Upsales Postman collection is needed: no $COLLECTION (set KITH_VENDOR_SPECS)" >&2
    exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

account() {
    "$KITH_BIN" --data-dir "$KITH_DATA" account create --name "$1" --owner-email "$2" --json \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])'
}

cp "$HERE/package.json" "$WORK/"
(cd "$WORK" && npm install --silent --no-audit --no-fund > /dev/null)
KITH_API_KEY="$(account Upsales upsales@example.test)" \
    NODE_PATH="$WORK/node_modules" node "$HERE/collection.js" "$COLLECTION"
KITH_API_KEY="$(account UpsalesSync sync@example.test)" python3 "$HERE/sync.py"
