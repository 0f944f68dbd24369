#!/usr/bin/env bash
# Renders an HTML page (the leaderboard) in headless Chromium and writes a PNG screenshot of it.
#
#   bench/screenshot.sh HTML_FILE PNG_FILE
#
# The flags keep Chromium off the network (this machine's is closed: no QUIC, no background
# fetches, no component updates) and away from the user's profile. The window is tall so the
# screenshot shows most of the page; SCREENSHOT_WINDOW=W,H overrides it.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 HTML_FILE PNG_FILE" >&2
  exit 2
fi
html=$1
png=$2
chromium=${CHROMIUM:-/usr/bin/chromium}
window=${SCREENSHOT_WINDOW:-1400,4000}

if [[ ! -f $html ]]; then
  echo "$0: no such file: $html" >&2
  exit 2
fi

if [[ ! -x $chromium ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "$0: installing chromium" >&2
    apt-get install -y --no-install-recommends chromium >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends chromium >&2; }
  else
    echo "$0: $chromium not found; install it with: sudo apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
fi

abs_html=$(realpath "$html")
abs_png=$(realpath -m "$png")
mkdir -p "$(dirname "$abs_png")"
rm -f "$abs_png"
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT

"$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size="$window" \
  --screenshot="$abs_png" "file://$abs_html" >"$log" 2>&1 || true

if [[ ! -s $abs_png ]]; then
  echo "$0: chromium wrote no screenshot to $abs_png; its output:" >&2
  cat "$log" >&2
  exit 1
fi
echo "$abs_png"
