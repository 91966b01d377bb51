#!/bin/sh
# Screenshot an asyncflow report.html with headless Chromium (Debian's `chromium`).
#
#   tools/screenshot_report.sh REPORT_HTML OUT_PNG
#
# The page needs no network; the flags keep Chromium from reaching out on its
# own (component updates, sync, first-run pages). A throw-away profile is used
# and removed afterwards. Window: 1280x2000 CSS pixels.
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: $0 REPORT_HTML OUT_PNG" >&2
    exit 2
fi
html=$1
out=$2
[ -f "$html" ] || { echo "error: $html is not a file" >&2; exit 2; }

browser=${CHROMIUM:-chromium}
command -v "$browser" >/dev/null 2>&1 || { echo "error: $browser not found on PATH" >&2; exit 3; }

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
case "$out" in
    /*) out_abs=$out ;;
    *) out_abs=$(pwd)/$out ;;
esac

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT INT TERM

"$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$out_abs" --window-size=${WINDOW_SIZE:-1280,2000} "file://$abs" \
    >/dev/null 2>&1 || true

if [ ! -s "$out_abs" ]; then
    echo "error: chromium wrote no screenshot to $out_abs" >&2
    exit 1
fi
