#!/usr/bin/env bash
# Danlu launcher for Linux/macOS.
#   ./start.sh          set up .venv on first run, then start the web page
#   ./start.sh test     set up what the tests need too, then run the whole test suite
#   ./start.sh --reinstall ...   reinstall the requirements first
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION=2.13.0
VENV=.venv
MODE=run
REINSTALL=0
ARGS=()
for arg in "$@"; do
  case "$arg" in
    test) MODE=test ;;
    --reinstall) REINSTALL=1 ;;
    *) ARGS+=("$arg") ;;
  esac
done

step() { printf '\n[danlu] %s\n' "$*"; }
fail() { printf '\n[danlu] FAILED: %s\n' "$*" >&2; exit 1; }

find_python() {
  # 3.10-3.12: the versions torch 2.13 and the pinned packages ship wheels for.
  for candidate in python3.11 python3.12 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
      if "$candidate" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)'; then
        echo "$candidate"; return 0
      fi
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_python) || fail "Python 3.10, 3.11 or 3.12 is needed. Install one (e.g. apt install python3.11 python3.11-venv) and run again."
  step "creating $VENV with $($PY --version)"
  "$PY" -m venv "$VENV" || fail "could not create $VENV (on Debian/Ubuntu: apt install python3-venv)"
fi
PIP=("$VENV/bin/python" -m pip)

stamp_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
install_if_changed() {
  local name=$1; shift
  local stamp_file="$VENV/.danlu-$name.stamp" stamp
  stamp=$(stamp_of "$@")
  if [ "$REINSTALL" = 1 ] || [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
    step "installing $name requirements ($*)"
    for f in "$@"; do
      "${PIP[@]}" install -r "$f" || fail "installing $f failed. Check the network, or switch to a domestic mirror and retry."
    done
    echo "$stamp" > "$stamp_file"
  fi
}

if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  step "installing torch $TORCH_VERSION (first, so no other package pulls a different build)"
  "${PIP[@]}" install "torch==$TORCH_VERSION" || fail "installing torch failed. Check the network, or switch to a domestic mirror and retry."
fi
install_if_changed runtime requirements.txt

if [ "$MODE" = test ]; then
  install_if_changed test requirements-test.txt
  step "running the test suite"
  # One torch thread: tiny test models run much faster on a shared 2-core machine (NOTES.md).
  export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
  exec "$VENV/bin/python" -m pytest "${ARGS[@]}"
fi

if [ -f app.py ]; then
  exec "$VENV/bin/python" app.py "${ARGS[@]}"
fi
step "the web page is not built yet; train from the command line:"
echo "  $VENV/bin/python -m trainer --config my_run.toml"
