#!/usr/bin/env bash
# Retake the villagers' portal screenshots of docs/portal.md (docs/img/portal-*.png): each page at
# 1280×720 in Chinese and English, the home screen at 1920×1080, and each page on a phone. Runs the
# render test of ruralcast/portal/tests/test_portal_browser.py against a demo server of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
RURALCAST_PORTAL_SCREENSHOTS="$PWD/docs/img" .venv/bin/pytest -q -n 0 -p no:cacheprovider -m browser \
  "ruralcast/portal/tests/test_portal_browser.py::test_pages_render_at_720p_1080p_and_on_a_phone"
ls docs/img/portal-*.png
