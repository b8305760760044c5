#!/usr/bin/env bash
# Retake the villagers' portal screenshots of docs/portal.md (docs/img/portal-*.png): each page at
# 1280×720 in Chinese and English, the home screen at 1920×1080, and each page on a phone; the emergency
# overlay (a drill and an actual alert) at 1280×720 in Chinese and English. Runs the render test of
# ruralcast/portal/tests/test_portal_browser.py against a demo server of its own and the overlay test of
# ruralcast/push/tests/test_overlay_browser.py (real mosquitto and dispatcher).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
RURALCAST_PORTAL_SCREENSHOTS="$PWD/docs/img" .venv/bin/pytest -q -n 0 -p no:cacheprovider -m browser \
  "ruralcast/portal/tests/test_portal_browser.py::test_pages_render_at_720p_1080p_and_on_a_phone" \
  "ruralcast/push/tests/test_overlay_browser.py::test_the_overlay_of_a_drill_and_of_an_actual_alert_at_720p"
ls docs/img/portal-*.png
