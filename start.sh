#!/usr/bin/env bash
# Danlu launcher for Linux/macOS.
#   ./start.sh [ARGS...]            set up .venv when needed, then start the web page (ARGS go to app.py)
#   ./start.sh test [ARGS...]       set up what the tests need too, then run the whole suite (ARGS go to pytest)
#   --reinstall                     run the install steps again even when nothing changed
#   --setup-only                    set up, then stop (update_mirror.py and the tests use it)
# Environment:
#   DANLU_PYTHON=/path/to/python3.11   the interpreter for a new .venv (default: the first supported one on PATH)
#   DANLU_TORCH_VARIANT=cpu|cu128      override the NVIDIA GPU detection
set -euo pipefail
cd "$(dirname "$0")"

TORCH_VERSION=2.13.0
# The CUDA build for torch 2.13.0 (PyTorch's wheel folder name). Keep in step with start.bat
# and update_mirror.py (tests/test_start_scripts.py checks that they agree).
TORCH_CUDA_TAG=cu128
OFFICIAL_TORCH_INDEX=https://download.pytorch.org/whl
VENV=.venv
VENV_PY=$VENV/bin/python
TORCH_STAMP=$VENV/danlu-torch.stamp
RUNTIME_STAMP=$VENV/danlu-runtime.stamp
TEST_STAMP=$VENV/danlu-test.stamp

MODE=run
if [ "${1:-}" = test ]; then MODE="test"; shift; fi
REINSTALL=0
SETUP_ONLY=0
ARGS=()
for arg in "$@"; do
  case "$arg" in
    --reinstall) REINSTALL=1 ;;
    --setup-only) SETUP_ONLY=1 ;;
    *) ARGS+=("$arg") ;;
  esac
done

CURRENT_STEP="starting"
step() { CURRENT_STEP=$1; printf '\n[danlu] %s\n' "$1"; }
fail() {
  printf '\n[danlu] FAILED while %s:\n[danlu] %s\n' "$CURRENT_STEP" "$1" >&2
  exit 1
}
# Any other command that fails under `set -e` still says which step it was in.
trap 'printf "\n[danlu] FAILED while %s (start.sh line %s)\n" "$CURRENT_STEP" "$LINENO" >&2' ERR

MIRROR_HINT="A download failed or timed out. In China, switch to a domestic mirror and retry: python3 update_mirror.py (or --profile tuna), then ./start.sh"

is_supported_python() {
  # 3.10-3.12: torch 2.13 and the pinned packages (bitsandbytes, tokenizers, ...) ship wheels for
  # these; 64-bit only, since there are no 32-bit torch wheels.
  "$1" -c 'import struct, sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) and struct.calcsize("P") == 8 else 1)' \
    >/dev/null 2>&1
}

find_python() {
  local candidate
  if [ -n "${DANLU_PYTHON:-}" ]; then
    is_supported_python "$DANLU_PYTHON" && { echo "$DANLU_PYTHON"; return 0; }
    return 1
  fi
  for candidate in python3.11 python3.12 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_supported_python "$candidate"; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

pip_install() {
  "$VENV_PY" -m pip install "$@" || fail "pip install $* did not succeed. $MIRROR_HINT"
}

read_setting() {
  # settings.json is written by update_mirror.py; trainer/settings.py is stdlib-only.
  "$VENV_PY" trainer/settings.py "$1" || fail "settings.json could not be read (see the message above)."
}

torch_variant() {
  if [ -n "${DANLU_TORCH_VARIANT:-}" ]; then echo "$DANLU_TORCH_VARIANT"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then echo "$TORCH_CUDA_TAG"
  else echo cpu
  fi
}

install_torch() {
  local variant=$1 index style
  if [ "$variant" = cpu ]; then
    # No NVIDIA GPU: plain torch through pip's configured index (the mirror in .venv/pip.conf, or
    # PyPI): the CPU build on Windows and macOS; on Linux PyPI's default build, which bundles the
    # CUDA libraries and runs on the CPU too; a machine whose pip is pointed at a CPU wheel gets
    # that. download.pytorch.org is not asked: it is unreachable from China and from machines
    # that only reach a package registry, where this plain install is what works.
    step "installing torch $TORCH_VERSION"
    pip_install "torch==$TORCH_VERSION"
  else
    # NVIDIA GPU: the CUDA build exists only on the PyTorch wheel index (or a mirror of it chosen
    # with update_mirror.py); PyPI's Windows torch is CPU-only. The +cu tag makes pip refuse any
    # other build instead of silently taking a CPU wheel.
    index=$(read_setting torch_index); index=${index:-$OFFICIAL_TORCH_INDEX}
    style=$(read_setting torch_index_style)
    step "installing torch $TORCH_VERSION+$variant for the NVIDIA GPU from $index/$variant"
    if [ "$style" = find-links ]; then
      pip_install "torch==$TORCH_VERSION+$variant" --find-links "$index/$variant"
    else
      pip_install "torch==$TORCH_VERSION+$variant" --index-url "$index/$variant"
    fi
  fi
}

# -- 1. Python and .venv -----------------------------------------------------------------------
if [ -e "$VENV_PY" ] && ! is_supported_python "$VENV_PY"; then
  # A venv whose Python was removed or upgraded (e.g. by Homebrew) cannot be repaired in place.
  step "the Python inside $VENV no longer runs or is not 3.10-3.12; making a new $VENV"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV_PY" ]; then
  step "finding Python 3.10, 3.11 or 3.12"
  PY=$(find_python) || fail "Python 3.10, 3.11 or 3.12 (64-bit) is needed${DANLU_PYTHON:+ (DANLU_PYTHON=$DANLU_PYTHON is not one)}. Install one (e.g. apt install python3.11 python3.11-venv, or from python.org) and run again."
  step "creating $VENV with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV" || fail "could not create $VENV (on Debian/Ubuntu: apt install python3-venv, or python3.11-venv)."
  # A new venv has no pip config: write the mirror chosen earlier (settings.json) into it.
  "$VENV_PY" update_mirror.py --reapply || fail "could not write the mirror setting into $VENV (see above)."
fi

# -- 2. torch, then the pinned requirements ----------------------------------------------------
# torch first and pinned: the requirements that depend on it (peft, accelerate, ...) would otherwise
# let pip choose a torch itself, a multi-GB CUDA build or a version the pins were not tested with.
VARIANT=$(torch_variant)
TORCH_WANTED="torch-$TORCH_VERSION-$VARIANT"
if [ "$VARIANT" = cpu ]; then TORCH_SPEC="torch==$TORCH_VERSION"; else TORCH_SPEC="torch==$TORCH_VERSION+$VARIANT"; fi
INSTALLED_SOMETHING=0
if [ "$REINSTALL" = 1 ] || [ "$(cat "$TORCH_STAMP" 2>/dev/null)" != "$TORCH_WANTED" ]; then
  install_torch "$VARIANT"
  echo "$TORCH_WANTED" > "$TORCH_STAMP"
  INSTALLED_SOMETHING=1
fi

install_requirements() {
  local name=$1 file=$2 stamp=$3
  # The stamp is a copy of the requirements file as last installed: any edit (a git pull) reinstalls.
  if [ "$REINSTALL" = 1 ] || ! cmp -s "$file" "$stamp"; then
    step "installing the $name requirements ($file)"
    # Naming torch's pin again keeps pip from swapping the build installed above.
    pip_install -r "$file" "$TORCH_SPEC"
    cp "$file" "$stamp"
    INSTALLED_SOMETHING=1
  fi
}
install_requirements runtime requirements.txt "$RUNTIME_STAMP"
if [ "$MODE" = test ]; then
  install_requirements test requirements-test.txt "$TEST_STAMP"
  if [ ! -x /usr/bin/chromium ]; then
    # The browser tests drive Debian's chromium through the playwright Python package. Never
    # `playwright install`: it downloads a browser from a CDN that is unreachable here and in China.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "installing Debian's chromium for the browser tests (apt-get)"
      export DEBIAN_FRONTEND=noninteractive
      # fonts-wqy-microhei: without a CJK font the Chinese page's screenshots show boxes.
      if ! { apt-get update -q && apt-get install -y -q chromium fonts-wqy-microhei; }; then
        fail "apt-get install chromium did not succeed (check the apt sources, or install it yourself)."
      fi
    else
      printf '\n[danlu] note: the browser tests need /usr/bin/chromium (Debian/Ubuntu: sudo apt-get install chromium)\n'
    fi
  fi
fi
if [ "$INSTALLED_SOMETHING" = 0 ]; then
  printf '[danlu] %s is up to date (nothing to install; ./start.sh --reinstall installs again)\n' "$VENV"
fi

# -- 3. run ------------------------------------------------------------------------------------
if [ "$SETUP_ONLY" = 1 ]; then
  step "setup done"
  exit 0
fi
if [ "$MODE" = test ]; then
  step "running the test suite"
  # One torch thread: tiny test models run much faster on a shared 2-core machine (NOTES.md);
  # offline hub and no Gradio analytics: the tests must never reach the internet.
  export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
  set +e
  "$VENV_PY" -m pytest ${ARGS[@]+"${ARGS[@]}"}
  status=$?
  set -e
  # pytest's 5 means "no tests collected": a broken test folder must not look like a pass.
  [ "$status" = 5 ] && printf '\n[danlu] FAILED: pytest collected no tests\n' >&2
  exit "$status"
fi
if [ ! -f app.py ]; then
  step "the web page is not built yet; train from the command line:"
  echo "  $VENV_PY -m trainer --config my_run.toml"
  exit 0
fi
step "starting Danlu (app.py)"
set +e
"$VENV_PY" app.py ${ARGS[@]+"${ARGS[@]}"}
status=$?
set -e
# 130 is Ctrl+C, the normal way to stop the page.
if [ "$status" != 0 ] && [ "$status" != 130 ]; then
  printf '\n[danlu] app.py stopped with exit status %s; its message is above (README: troubleshooting).\n' "$status" >&2
fi
exit "$status"
