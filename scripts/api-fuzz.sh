#!/usr/bin/env bash
# API fuzzing: starts `stratbox serve` on loopback (temporary SQLite database and state,
# a random admin token), runs schemathesis against its /openapi.json with a bounded
# number of examples per operation, and fails on any 5xx or any response that does not
# match the document (status code, content type, headers, body schema).
#
#   scripts/api-fuzz.sh [STRATBOX_BINARY]
#
# STRATBOX_BINARY defaults to $CARGO_TARGET_DIR/debug/stratbox (or target/debug/stratbox).
# API_FUZZ_EXAMPLES (default 10) bounds the examples per operation, API_FUZZ_SEED makes a
# run reproducible. SCHEMATHESIS names the schemathesis command; by default the pinned
# version is installed (once) with pip into a virtual environment under the target
# directory, after installing Debian's python3-venv if `python3 -m venv` is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
bin="${1:-$target/debug/stratbox}"
examples="${API_FUZZ_EXAMPLES:-10}"
seed="${API_FUZZ_SEED:-1}"
version=4.32.5
if [[ -n "${SCHEMATHESIS:-}" ]]; then
  st="$SCHEMATHESIS"
else
  venv="$target/schemathesis-venv"
  st="$venv/bin/schemathesis"
  if [[ ! -x "$st" ]] || [[ "$("$st" --version 2>/dev/null)" != *"$version"* ]]; then
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      echo "api-fuzz: installing Debian's python3-venv (python3 -m venv is missing)" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -q python3-venv >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-venv >&2; }
    fi
    echo "api-fuzz: installing schemathesis $version into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  fi
fi
if ! command -v "$st" >/dev/null 2>&1; then
  echo "api-fuzz: schemathesis not found ('$st'); install it with: pip install schemathesis==$version" >&2
  exit 2
fi
if [[ ! -x "$bin" ]]; then
  echo "api-fuzz: no stratbox binary at $bin; build it with: cargo build -p stratbox --bin stratbox" >&2
  exit 2
fi
tmp="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
token="sbx_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$tmp/data"
# schemathesis also sends requests without the token (to check they are refused); a
# high failure budget keeps those at 401 so the rest of the run is not answered 429.
printf 'auth_failures_per_window = 1000000\n' >"$tmp/serve.toml"
STRATBOX_ADMIN_TOKEN="$token" "$bin" serve --config "$tmp/serve.toml" --listen 127.0.0.1:0 \
  --database-url "sqlite://$tmp/fuzz.db" --state-dir "$tmp/state" --data-dir "$tmp/data" \
  >"$tmp/server.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 300); do
  base="$(sed -n 's/^stratbox service listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$tmp/server.log" | head -n1)"
  [[ -n "$base" ]] && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "api-fuzz: the server did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$base" ]]; then
  echo "api-fuzz: the server did not report its address within 30 s" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
echo "api-fuzz: schemathesis ($("$st" --version)) against $base, $examples examples per operation, seed $seed"
status=0
fuzz() {
  local name="$1"
  shift
  # From the temporary folder: schemathesis keeps a cache (.schemathesis/) in its cwd.
  (cd "$tmp" && exec "$st" run "$base/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" --seed "$seed" --workers 1 \
    --request-timeout 30 --no-color \
    --report junit,har --report-junit-path "$tmp/junit-$name.xml" \
    --report-har-path "${API_FUZZ_HAR:-$tmp}/fuzz-$name.har" "$@") || status=$?
}
# Revoking tokens last: schemathesis learns the admin token's name from responses and
# would revoke it, leaving every later operation answered 401.
fuzz main --exclude-path-regex '^/v1/tokens/\{name\}/revoke$'
fuzz revoke --include-path-regex '^/v1/tokens/\{name\}/revoke$'
if grep -q "panicked" "$tmp/server.log"; then
  echo "api-fuzz: the server panicked:" >&2
  grep -A5 "panicked" "$tmp/server.log" >&2
  status=1
fi
python3 - "$tmp"/junit-*.xml <<'PY' || true
import sys, xml.etree.ElementTree as ET
t = f = 0
for path in sys.argv[1:]:
    r = ET.parse(path).getroot()
    for s in [r] if r.tag == "testsuite" else list(r):
        t += int(s.get("tests", 0))
        f += int(s.get("failures", 0)) + int(s.get("errors", 0))
print(f"api-fuzz: {t} operations tested, {f} with failures or errors")
PY
if [[ $status -ne 0 ]]; then
  echo "api-fuzz: FAILED (schemathesis exit $status; server log: see above)" >&2
  tail -n 20 "$tmp/server.log" >&2
  exit 1
fi
echo "api-fuzz: passed"
