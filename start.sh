#!/usr/bin/env bash
# Danlu launcher for Linux/macOS.
#   ./start.sh [ARGS...]            set up .venv when needed, then start the web page (ARGS go to app.py)
#   ./start.sh test [ARGS...]       set up what the tests need too, then run the whole suite (ARGS go to pytest)
#   --reinstall                     run the install steps again even when nothing changed
#   --setup-only                    set up, then stop (update_mirror.py and the tests use it)
#   --lang zh|en                    the language of these lines too (it goes on to app.py as well)
# Environment:
#   DANLU_PYTHON=/path/to/python3.11   the interpreter for a new .venv (default: the first supported one on PATH)
#   DANLU_TORCH_VARIANT=cpu|cu128      override the NVIDIA GPU detection
#   DANLU_LANG=zh|en                   the language of these lines (update_mirror.py passes its own on);
#                                      default: the first of LC_ALL, LC_MESSAGES, LANG that is set: zh* is
#                                      Chinese, others English; none set, C or POSIX: Chinese (as app.py decides)
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
PREVIOUS=
case "${DANLU_LANG:-}" in
  zh|en) ;;
  *)
    case "${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}" in
      [Zz][Hh]*|[Cc]hinese*|""|[Cc]|[Cc].*|POSIX|POSIX.*|posix|posix.*) DANLU_LANG=zh ;;
      *) DANLU_LANG=en ;;
    esac ;;
esac
for arg in "$@"; do
  case "$arg" in
    --reinstall) REINSTALL=1 ;;
    --setup-only) SETUP_ONLY=1 ;;
    *) ARGS+=("$arg") ;;
  esac
  # app.py's --lang sets the language of these lines too; it stays in ARGS for app.py.
  case "$PREVIOUS $arg" in
    "--lang zh"|*" --lang=zh") DANLU_LANG=zh ;;
    "--lang en"|*" --lang=en") DANLU_LANG=en ;;
  esac
  PREVIOUS=$arg
done
export DANLU_LANG  # update_mirror.py --reapply speaks the same language

# The lines this script prints, in Chinese and English: `text KEY` gives the printf format in
# DANLU_LANG. Both formats of a key take the same %s values in the same order (printf has no
# reordering); tests/test_start_scripts.py checks the pairs.
text() {
  local zh en
  case $1 in
    starting)        zh='启动'; en='starting' ;;
    venv_broken)     zh='%s 里的 Python 已经不能运行，或者不是 3.10-3.12：重新创建 %s'
                     en='the Python inside %s no longer runs or is not 3.10-3.12; making a new %s' ;;
    finding_python)  zh='查找 Python 3.10、3.11 或 3.12'; en='finding Python 3.10, 3.11 or 3.12' ;;
    need_python)     zh='需要 64 位的 Python 3.10、3.11 或 3.12%s。请安装一个（例如 apt install python3.11 python3.11-venv，或从 python.org 下载），然后重新运行。'
                     en='Python 3.10, 3.11 or 3.12 (64-bit) is needed%s. Install one (e.g. apt install python3.11 python3.11-venv, or from python.org) and run again.' ;;
    python_not_one)  zh='（DANLU_PYTHON=%s 不是这样的 Python）'; en=' (DANLU_PYTHON=%s is not one)' ;;
    creating_venv)   zh='创建 %s（用 %s）'; en='creating %s with %s' ;;
    venv_failed)     zh='无法创建 %s（Debian/Ubuntu 上请先 apt install python3-venv 或 python3.11-venv）。'
                     en='could not create %s (on Debian/Ubuntu: apt install python3-venv, or python3.11-venv).' ;;
    reapply_failed)  zh='无法把镜像设置写进 %s（原因见上面的输出）。'; en='could not write the mirror setting into %s (see above).' ;;
    pip_failed)      zh='pip install %s 没有成功。%s'; en='pip install %s did not succeed. %s' ;;
    mirror_hint)     zh='下载失败或超时。在国内请换成国内镜像再试：运行 python3 update_mirror.py（或加 --profile tuna），再运行 ./start.sh'
                     en='A download failed or timed out. In China, switch to a domestic mirror and retry: python3 update_mirror.py (or --profile tuna), then ./start.sh' ;;
    settings_failed) zh='读不了 settings.json（原因见上面的输出）。'; en='settings.json could not be read (see the message above).' ;;
    torch_cpu)       zh='安装 torch %s'; en='installing torch %s' ;;
    torch_gpu)       zh='安装 NVIDIA 显卡用的 torch %s+%s，来源 %s/%s'; en='installing torch %s+%s for the NVIDIA GPU from %s/%s' ;;
    runtime_reqs)    zh='安装运行所需的依赖（%s）'; en='installing the runtime requirements (%s)' ;;
    test_reqs)       zh='安装测试所需的依赖（%s）'; en='installing the test requirements (%s)' ;;
    chromium)        zh='为浏览器测试安装 Debian 的 chromium（apt-get）'; en="installing Debian's chromium for the browser tests (apt-get)" ;;
    chromium_failed) zh='apt-get install chromium 没有成功（请检查 apt 软件源，或者自己安装它）。'
                     en='apt-get install chromium did not succeed (check the apt sources, or install it yourself).' ;;
    chromium_note)   zh='提示：浏览器测试需要 /usr/bin/chromium（Debian/Ubuntu：sudo apt-get install chromium）'
                     en='note: the browser tests need /usr/bin/chromium (Debian/Ubuntu: sudo apt-get install chromium)' ;;
    up_to_date)      zh='%s 已是最新，没有要安装的（./start.sh --reinstall 可以重新安装）'
                     en='%s is up to date (nothing to install; ./start.sh --reinstall installs again)' ;;
    setup_done)      zh='安装完成'; en='setup done' ;;
    running_tests)   zh='运行测试'; en='running the test suite' ;;
    no_tests)        zh='失败：pytest 一个测试也没有找到'; en='FAILED: pytest collected no tests' ;;
    no_app)          zh='还没有网页界面（缺少 app.py）；请用命令行训练：'; en='the web page is not built yet; train from the command line:' ;;
    starting_app)    zh='启动丹炉（app.py）'; en='starting Danlu (app.py)' ;;
    app_stopped)     zh='app.py 退出了，退出码 %s；原因见上面的输出（README：常见问题）。'
                     en='app.py stopped with exit status %s; its message is above (README: troubleshooting).' ;;
    failed_while)    zh='这一步失败了：%s'; en='FAILED while %s:' ;;
    failed_at_line)  zh='这一步失败了：%s（start.sh 第 %s 行）'; en='FAILED while %s (start.sh line %s)' ;;
    *)               zh=$1; en=$1 ;;
  esac
  if [ "$DANLU_LANG" = zh ]; then printf '%s' "$zh"; else printf '%s' "$en"; fi
}
# say KEY [VALUES...]: the sentence with its values filled in (no newline).
# shellcheck disable=SC2059  # the format is ours, from `text`
say() { local key=$1; shift; printf "$(text "$key")" "$@"; }

CURRENT_STEP=$(say starting)
step() { CURRENT_STEP=$1; printf '\n[danlu] %s\n' "$1"; }
fail() {
  printf '\n[danlu] %s\n[danlu] %s\n' "$(say failed_while "$CURRENT_STEP")" "$1" >&2
  exit 1
}
# Any other command that fails under `set -e` still says which step it was in.
trap 'FAILED_LINE=$LINENO; printf "\n[danlu] %s\n" "$(say failed_at_line "$CURRENT_STEP" "$FAILED_LINE")" >&2' ERR

MIRROR_HINT=$(say mirror_hint)

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
  "$VENV_PY" -m pip install "$@" || fail "$(say pip_failed "$*" "$MIRROR_HINT")"
}

read_setting() {
  # settings.json is written by update_mirror.py; trainer/settings.py is stdlib-only.
  "$VENV_PY" trainer/settings.py "$1" || fail "$(say settings_failed)"
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
    step "$(say torch_cpu "$TORCH_VERSION")"
    pip_install "torch==$TORCH_VERSION"
  else
    # NVIDIA GPU: the CUDA build exists only on the PyTorch wheel index (or a mirror of it chosen
    # with update_mirror.py); PyPI's Windows torch is CPU-only. The +cu tag makes pip refuse any
    # other build instead of silently taking a CPU wheel.
    index=$(read_setting torch_index); index=${index:-$OFFICIAL_TORCH_INDEX}
    style=$(read_setting torch_index_style)
    step "$(say torch_gpu "$TORCH_VERSION" "$variant" "$index" "$variant")"
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
  step "$(say venv_broken "$VENV" "$VENV")"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV_PY" ]; then
  step "$(say finding_python)"
  PY=$(find_python) || fail "$(say need_python "${DANLU_PYTHON:+$(say python_not_one "$DANLU_PYTHON")}")"
  step "$(say creating_venv "$VENV" "$("$PY" --version 2>&1)")"
  "$PY" -m venv "$VENV" || fail "$(say venv_failed "$VENV")"
  # A new venv has no pip config: write the mirror chosen earlier (settings.json) into it.
  "$VENV_PY" update_mirror.py --reapply || fail "$(say reapply_failed "$VENV")"
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
  local key=$1 file=$2 stamp=$3
  # The stamp is a copy of the requirements file as last installed: any edit (a git pull) reinstalls.
  if [ "$REINSTALL" = 1 ] || ! cmp -s "$file" "$stamp"; then
    step "$(say "$key" "$file")"
    # Naming torch's pin again keeps pip from swapping the build installed above.
    pip_install -r "$file" "$TORCH_SPEC"
    cp "$file" "$stamp"
    INSTALLED_SOMETHING=1
  fi
}
install_requirements runtime_reqs requirements.txt "$RUNTIME_STAMP"
if [ "$MODE" = test ]; then
  install_requirements test_reqs requirements-test.txt "$TEST_STAMP"
  if [ ! -x /usr/bin/chromium ]; then
    # The browser tests drive Debian's chromium through the playwright Python package. Never
    # `playwright install`: it downloads a browser from a CDN that is unreachable here and in China.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      step "$(say chromium)"
      export DEBIAN_FRONTEND=noninteractive
      # fonts-wqy-microhei: without a CJK font the Chinese page's screenshots show boxes.
      if ! { apt-get update -q && apt-get install -y -q chromium fonts-wqy-microhei; }; then
        fail "$(say chromium_failed)"
      fi
    else
      printf '\n[danlu] %s\n' "$(say chromium_note)"
    fi
  fi
fi
if [ "$INSTALLED_SOMETHING" = 0 ]; then
  printf '[danlu] %s\n' "$(say up_to_date "$VENV")"
fi

# -- 3. run ------------------------------------------------------------------------------------
if [ "$SETUP_ONLY" = 1 ]; then
  step "$(say setup_done)"
  exit 0
fi
if [ "$MODE" = test ]; then
  step "$(say running_tests)"
  # One torch thread: tiny test models run much faster on a shared 2-core machine (docs/NOTES.md);
  # offline hub and no Gradio analytics: the tests must never reach the internet.
  export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
  set +e
  "$VENV_PY" -m pytest ${ARGS[@]+"${ARGS[@]}"}
  status=$?
  set -e
  # pytest's 5 means "no tests collected": a broken test folder must not look like a pass.
  [ "$status" = 5 ] && printf '\n[danlu] %s\n' "$(say no_tests)" >&2
  exit "$status"
fi
if [ ! -f app.py ]; then
  step "$(say no_app)"
  echo "  $VENV_PY -m trainer --config my_run.toml"
  exit 0
fi
step "$(say starting_app)"
set +e
"$VENV_PY" app.py ${ARGS[@]+"${ARGS[@]}"}
status=$?
set -e
# 130 is Ctrl+C, the normal way to stop the page.
if [ "$status" != 0 ] && [ "$status" != 130 ]; then
  printf '\n[danlu] %s\n' "$(say app_stopped "$status")" >&2
fi
exit "$status"
