#!/usr/bin/env bash
# A newcomer's first steps, proven: clone this repository's HEAD into an empty temporary folder (no
# sibling folders or anything else beside it), put a developer's hostile local settings into the clone
# (.dev.vars, .env, .edgeflags/config.json, EDGEFLAGS_* variables), hide every browser, leave CI
# unset, then run `npm ci && npm test` there. Fails when that fails, or when the browser suites did
# not say they were skipped. Commit first: uncommitted changes are not part of the clone.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/edgeflags-clean-clone-XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet "$repo" "$work/edgeflags"
cd "$work/edgeflags"
echo "clean clone: $(git log -1 --format='%h %s') in $work/edgeflags"

# What a developer who followed the README (cross-site front-end, a real deployment exported in the
# shell) has lying around. None of it may change a test's outcome.
cat > .dev.vars <<'VARS'
CORS_ORIGINS='https://app.example.com'
ANON_COOKIE_SAMESITE='None'
EDGEFLAGS_ENV='production'
GEO_HEADER_FALLBACK='true'
GATEWAY='true'
MAX_BODY_BYTES='10'
REFRESH_INTERVAL_SECONDS='3600'
VARS
cp .dev.vars .env
mkdir -p .edgeflags
cat > .edgeflags/config.json <<'JSON'
{ "url": "http://127.0.0.1:9", "environment": "production", "publishToken": "hostile", "target": "kv-api" }
JSON

# A machine with only Node (and git, which the publisher asks for the actor): no browser on PATH.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx git sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done

log="$work/npm-test.log"
status=0
env -u CI -u EDGEFLAGS_CHROMIUM -u CLOUDFLARE_INCLUDE_PROCESS_ENV \
  PATH="$bin" \
  EDGEFLAGS_URL=http://127.0.0.1:9 EDGEFLAGS_ENV=production EDGEFLAGS_TARGET=kv-api \
  EDGEFLAGS_PUBLISH_TOKEN=hostile EDGEFLAGS_PRIVATE_KEY_FILE=/nonexistent/key.jwk \
  "$(command -v bash)" -c 'npm ci --no-audit --no-fund && npm test' 2>&1 | tee "$log" || status=$?

if [ "$status" -ne 0 ]; then
  echo "clean clone: npm ci && npm test FAILED (exit $status)" >&2
  exit "$status"
fi
if ! grep -q "browser tests skipped: no Chromium on PATH" "$log"; then
  echo "clean clone: the browser suites did not report that they were skipped" >&2
  exit 1
fi
echo "clean clone: npm ci && npm test passed with no browser and hostile local settings"
