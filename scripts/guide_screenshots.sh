#!/usr/bin/env bash
# Retake the user guide's screenshots (docs/user-guide.md, docs/img/<page>-zh.png and -en.png): each
# page the guide shows, in Chinese and in English, 1280 wide, as the demo users who use it. Runs
# ruralcast/web/tests/test_guide_screenshots_browser.py against a demo server of its own. The
# pictures of an alert's approval and receipts come from the alerts browser tests (docs/img/alert-*).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
RURALCAST_GUIDE_SCREENSHOTS="$PWD/docs/img" .venv/bin/pytest -q -n 0 -p no:cacheprovider -m browser \
  ruralcast/web/tests/test_guide_screenshots_browser.py
ls docs/img/*-zh.png docs/img/*-en.png
