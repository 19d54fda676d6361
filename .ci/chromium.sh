#!/usr/bin/env bash
# .ci/chromium.sh: Debian's Chromium for the console's browser tests (Playwright drives it
# through `executablePath`; no browser is downloaded by npm). Installs the `chromium`
# package when /usr/bin/chromium is missing (`apt-get update` only if the install fails
# without it), then prints the browser's path on stdout. Messages go to stderr.
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$bin" ]]; then
    echo "chromium.sh: installing Debian's chromium package" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends chromium >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends chromium >&2
    fi
fi
if [[ ! -x "$bin" ]]; then
    echo "chromium.sh: $bin is still missing after installing the chromium package" >&2
    exit 1
fi
echo "chromium.sh: $("$bin" --version 2>/dev/null || echo "$bin")" >&2
printf '%s\n' "$bin"
