#!/usr/bin/env bash
# Set up a virtual environment and run the test suite.
#   bash scripts/test.sh [VENV_DIR] [URLLIB3_SPEC] [PYTHON]
# Defaults: .venv, the newest urllib3 allowed by setup.cfg, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
urllib3_spec=${2:-}
python=${3:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]" ${urllib3_spec:+"$urllib3_spec"}
"$venv/bin/python" -c 'import sys, urllib3; print(f"python {sys.version.split()[0]}, urllib3 {urllib3.__version__}")'
exec "$venv/bin/python" -m pytest -p no:cacheprovider
