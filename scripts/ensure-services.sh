#!/usr/bin/env bash
# Install the servers the test suite starts for itself: PostgreSQL (the request log's
# shared store) and Redis (the shared ledger). Idempotent: installs only what is missing,
# and only as root with apt-get; elsewhere it says what is missing (those tests then skip,
# saying why) and exits 0.
set -euo pipefail

missing=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
    missing+=(postgresql)
fi
if ! command -v redis-server >/dev/null; then
    missing+=(redis-server)
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "ensure-services: postgresql and redis-server are installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "ensure-services: missing ${missing[*]}; not root with apt-get, so not installing" \
         "(the tests that need them will skip)" >&2
    exit 0
fi

echo "ensure-services: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "ensure-services: installed ${missing[*]}"
