#!/usr/bin/env bash
# Refuse a Python older than the course supports, with a message that says what to do.
python=${1:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found. Install Python 3.10 or newer (Debian: apt-get install python3 python3-venv)." >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "error: $("$python" --version 2>&1) is too old; the course needs Python 3.10 or newer." >&2
  echo "       Install a newer one and run: make PYTHON=python3.11 test" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "error: $python cannot create virtual environments (Debian: apt-get install python3-venv)." >&2
  exit 1
fi
