@echo off
rem Danlu launcher for Windows: double-click it, or run it from cmd.
rem   start.bat [ARGS...]          set up .venv when needed, then start the web page (ARGS go to app.py)
rem   start.bat test [ARGS...]     set up what the tests need too, then run the whole suite (ARGS go to pytest)
rem   --reinstall                  run the install steps again even when nothing changed
rem   --setup-only                 set up, then stop (update_mirror.py uses it)
rem   --lang zh or en              the language of these lines too (it goes on to app.py as well)
rem Environment: DANLU_PYTHON=C:\path\python.exe picks the Python for a new .venv;
rem   DANLU_TORCH_VARIANT=cpu or cu128 overrides the NVIDIA GPU detection;
rem   DANLU_NO_PAUSE=1 stops the pause after a failure (for scripts that call this one);
rem   DANLU_LANG=zh or en: the language of these lines (update_mirror.py passes its own on).
rem
rem Why it looks like this:
rem - ASCII with CRLF line endings, but for the Chinese lines of :say at the very end. cmd reads
rem   a .bat in the console's code page (GBK on Chinese Windows), so a non-ASCII byte read before
rem   the chcp 65001 below would be misread; the Chinese lines are UTF-8, read only after it, and
rem   no label follows them. LF-only files make cmd's goto/call land on the wrong lines. No
rem   PowerShell, so no execution policy is involved.
rem - Every path after the pushd is relative and has no spaces; the one absolute path, %~dp0,
rem   is quoted, so a folder like "D:\AI tools\dan lu" works.
rem - No delayed expansion: a "!" in a folder name would otherwise vanish.
setlocal EnableExtensions DisableDelayedExpansion
rem The language of this script's lines (:say at the end): DANLU_LANG when it says zh or en; else
rem Chinese when the console code page is 936 (GBK, Simplified Chinese Windows) or the user's
rem locale is zh-*, English otherwise. Read here, before the code page becomes UTF-8.
if /i "%DANLU_LANG%"=="zh" set "DANLU_LANG=zh"
if /i "%DANLU_LANG%"=="zh" goto :lang_known
if /i "%DANLU_LANG%"=="en" set "DANLU_LANG=en"
if /i "%DANLU_LANG%"=="en" goto :lang_known
set "DANLU_LANG=zh"
chcp | findstr /c:"936" >nul 2>nul
if not errorlevel 1 goto :lang_known
reg query "HKCU\Control Panel\International" /v LocaleName 2>nul | findstr /i /c:"zh-" >nul 2>nul
if not errorlevel 1 goto :lang_known
set "DANLU_LANG=en"
:lang_known
rem UTF-8 console, so Python's messages, Chinese paths and the Chinese lines of :say show as written.
chcp 65001 >nul
set "PYTHONUTF8=1"
set "PYTHONIOENCODING=utf-8"
rem pushd rather than cd: it also works when the folder is on a network share (UNC path).
pushd "%~dp0" || goto :fail_folder

set "TORCH_VERSION=2.13.0"
rem The CUDA build for torch 2.13.0 (PyTorch's wheel folder name). Keep in step with start.sh
rem and update_mirror.py (tests\test_start_scripts.py checks that they agree).
set "TORCH_CUDA_TAG=cu128"
set "OFFICIAL_TORCH_INDEX=https://download.pytorch.org/whl"
set "VENV=.venv"
set "VENV_PY=.venv\Scripts\python.exe"
set "MODE=run"
set "REINSTALL=0"
set "SETUP_ONLY=0"
set "ARGS="
set "PY="
set "STEP="
set "INSTALLED_SOMETHING=0"
call :say step_starting

if /i "%~1"=="test" set "MODE=test"
if /i "%~1"=="test" shift
:parse_args
if "%~1"=="" goto :args_done
if /i "%~1"=="--reinstall" set "REINSTALL=1"
if /i "%~1"=="--reinstall" goto :next_arg
if /i "%~1"=="--setup-only" set "SETUP_ONLY=1"
if /i "%~1"=="--setup-only" goto :next_arg
rem app.py's --lang sets the language of these lines too; it stays in ARGS for app.py.
if /i "%~1"=="--lang" if /i "%~2"=="zh" set "DANLU_LANG=zh"
if /i "%~1"=="--lang" if /i "%~2"=="en" set "DANLU_LANG=en"
set "ARGS=%ARGS% %1"
:next_arg
shift
goto :parse_args
:args_done

rem ---- 1. Python and .venv ----------------------------------------------------------------
call :say step_checking_venv
if not exist "%VENV_PY%" goto :make_venv
call :is_supported_python "%VENV_PY%"
if not errorlevel 1 goto :venv_ready
rem A venv whose Python was uninstalled or upgraded cannot be repaired in place.
call :say venv_broken
rmdir /s /q "%VENV%"
:make_venv
call :say step_finding_python
call :find_python
if not defined PY goto :fail_python
call :say step_creating_venv
echo.
call :say creating_venv
%PY% -m venv "%VENV%"
if errorlevel 1 goto :fail
rem A new venv has no pip config: write the mirror chosen earlier (settings.json) into it.
call :say step_reapply
"%VENV_PY%" update_mirror.py --reapply
if errorlevel 1 goto :fail
:venv_ready

rem ---- 2. torch, then the pinned requirements -----------------------------------------------
rem torch first and pinned: the requirements that depend on it (peft, accelerate, ...) would
rem otherwise let pip choose a torch itself, a version the pins were not tested with.
set "VARIANT=cpu"
if defined DANLU_TORCH_VARIANT set "VARIANT=%DANLU_TORCH_VARIANT%"
if defined DANLU_TORCH_VARIANT goto :variant_known
where nvidia-smi >nul 2>nul
if errorlevel 1 goto :variant_known
nvidia-smi -L >nul 2>nul
if errorlevel 1 goto :variant_known
set "VARIANT=%TORCH_CUDA_TAG%"
:variant_known
set "TORCH_WANTED=torch-%TORCH_VERSION%-%VARIANT%"
set "TORCH_SPEC=torch==%TORCH_VERSION%"
if not "%VARIANT%"=="cpu" set "TORCH_SPEC=torch==%TORCH_VERSION%+%VARIANT%"

set "TORCH_INSTALLED="
if exist "%VENV%\danlu-torch.stamp" set /p TORCH_INSTALLED=<"%VENV%\danlu-torch.stamp"
if "%REINSTALL%"=="1" goto :install_torch
if "%TORCH_INSTALLED%"=="%TORCH_WANTED%" goto :torch_ready
:install_torch
if "%VARIANT%"=="cpu" goto :install_torch_cpu
rem NVIDIA GPU: the CUDA build exists only on the PyTorch wheel index (or the mirror of it chosen
rem with update_mirror.bat); PyPI's Windows torch is CPU-only. The +cu tag makes pip refuse any
rem other build instead of silently taking a CPU wheel.
call :say step_reading_settings
call :read_setting torch_index TORCH_INDEX
if errorlevel 1 goto :fail
call :read_setting torch_index_style TORCH_INDEX_STYLE
if errorlevel 1 goto :fail
if not defined TORCH_INDEX set "TORCH_INDEX=%OFFICIAL_TORCH_INDEX%"
call :say step_torch_gpu
echo.
echo [danlu] %STEP%
set "TORCH_SOURCE_OPTION=--index-url"
if /i "%TORCH_INDEX_STYLE%"=="find-links" set "TORCH_SOURCE_OPTION=--find-links"
"%VENV_PY%" -m pip install "%TORCH_SPEC%" %TORCH_SOURCE_OPTION% "%TORCH_INDEX%/%VARIANT%"
if errorlevel 1 goto :fail_download
goto :torch_installed
:install_torch_cpu
rem No NVIDIA GPU: plain torch through pip's configured index (the mirror in .venv\pip.ini, or
rem PyPI), which is the CPU build on Windows. download.pytorch.org may be unreachable (China).
call :say step_torch_cpu
echo.
echo [danlu] %STEP%
"%VENV_PY%" -m pip install "%TORCH_SPEC%"
if errorlevel 1 goto :fail_download
:torch_installed
>"%VENV%\danlu-torch.stamp" echo %TORCH_WANTED%
set "INSTALLED_SOMETHING=1"
:torch_ready

call :install_requirements runtime requirements.txt danlu-runtime.stamp
if errorlevel 1 goto :fail_download
if not "%MODE%"=="test" goto :requirements_done
call :install_requirements test requirements-test.txt danlu-test.stamp
if errorlevel 1 goto :fail_download
:requirements_done
if "%INSTALLED_SOMETHING%"=="0" call :say up_to_date

rem ---- 3. run ---------------------------------------------------------------------------------
if "%SETUP_ONLY%"=="1" goto :setup_done
if "%MODE%"=="test" goto :run_tests
if not exist "app.py" goto :no_app
call :say step_running_app
echo.
call :say starting_app
"%VENV_PY%" app.py %ARGS%
set "STATUS=%errorlevel%"
if "%STATUS%"=="0" goto :end
echo.
call :say app_stopped
goto :pause_then_exit

:run_tests
call :say step_running_tests
echo.
echo [danlu] %STEP%
rem One torch thread: tiny test models run much faster on a small shared CPU; offline hub and no
rem Gradio analytics: the tests must never reach the internet.
set "OMP_NUM_THREADS=1"
set "HF_HUB_OFFLINE=1"
set "GRADIO_ANALYTICS_ENABLED=False"
"%VENV_PY%" -m pytest %ARGS%
set "STATUS=%errorlevel%"
rem pytest's 5 means "no tests collected": a broken test folder must not look like a pass.
if "%STATUS%"=="5" call :say no_tests
if "%STATUS%"=="0" goto :end
goto :pause_then_exit

:setup_done
echo.
call :say setup_done
set "STATUS=0"
goto :end

:no_app
echo.
call :say no_app
echo   .venv\Scripts\python.exe -m trainer --config my_run.toml
set "STATUS=0"
goto :end

rem ---- failures: say which step and what to try, then wait so a double-clicked window stays --
:fail_folder
call :say folder_failed
echo [danlu] "%~dp0"
set "STATUS=1"
goto :pause_then_exit
:fail_python
echo.
call :say failed_while
call :say need_python
set "STATUS=1"
goto :pause_then_exit
:fail_download
echo.
call :say failed_while
call :say mirror_hint
set "STATUS=1"
goto :pause_then_exit
:fail
echo.
call :say failed_see_above
set "STATUS=1"
goto :pause_then_exit

:pause_then_exit
if not defined DANLU_NO_PAUSE pause
:end
popd
exit /b %STATUS%

rem ---- subroutines --------------------------------------------------------------------------
:is_supported_python
rem errorlevel 0 when the command given (e.g. py -3.11) runs Python 3.10-3.12, 64-bit: torch 2.13
rem and the pinned packages ship wheels for those, and there are no 32-bit torch wheels.
%* -c "import struct, sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) and struct.calcsize('P') == 8 else 1)" >nul 2>nul
exit /b %errorlevel%

:find_python
rem DANLU_PYTHON first; then the py launcher's 3.11, 3.12, 3.10; then python on PATH.
if not defined DANLU_PYTHON goto :find_python_launcher
call :is_supported_python "%DANLU_PYTHON%"
if not errorlevel 1 set "PY="%DANLU_PYTHON%""
exit /b 0
:find_python_launcher
call :is_supported_python py -3.11
if not errorlevel 1 set "PY=py -3.11"
if defined PY exit /b 0
call :is_supported_python py -3.12
if not errorlevel 1 set "PY=py -3.12"
if defined PY exit /b 0
call :is_supported_python py -3.10
if not errorlevel 1 set "PY=py -3.10"
if defined PY exit /b 0
call :is_supported_python python
if not errorlevel 1 set "PY=python"
exit /b 0

:read_setting
rem %1 = key in settings.json, %2 = variable to set (empty when unset). trainer\settings.py is
rem stdlib-only; a file in between avoids for /f, whose quoting breaks on paths with spaces.
set "%2="
"%VENV_PY%" trainer\settings.py %1 >"%VENV%\danlu-setting.txt"
if errorlevel 1 exit /b 1
set /p %2=<"%VENV%\danlu-setting.txt"
del "%VENV%\danlu-setting.txt" >nul 2>nul
exit /b 0

:install_requirements
rem %1 = name, %2 = requirements file, %3 = stamp in .venv: a copy of the file as last installed,
rem so any edit (a git pull) reinstalls and an unchanged file costs nothing.
if "%REINSTALL%"=="1" goto :install_requirements_now
fc /b "%~2" "%VENV%\%~3" >nul 2>nul
if not errorlevel 1 exit /b 0
:install_requirements_now
set "REQ_FILE=%~2"
call :say step_%~1_requirements
echo.
echo [danlu] %STEP%
rem Naming torch's pin again keeps pip from swapping the build installed above.
"%VENV_PY%" -m pip install -r "%~2" "%TORCH_SPEC%"
if errorlevel 1 exit /b 1
copy /y "%~2" "%VENV%\%~3" >nul
set "INSTALLED_SOMETHING=1"
exit /b 0

rem ---- the lines this script prints, in English and in Chinese ----------------------------------
:say
rem %1 = a key: echo its line(s), or for step_* keys set STEP (what a failure names) to its text,
rem in DANLU_LANG. Values come from variables (STEP, STATUS, PY, TORCH_SPEC, REQ_FILE, ...).
rem Keep this the last part of the file, and the Chinese lines below the last label: they are the
rem only non-ASCII bytes, UTF-8, read only after chcp 65001 (tests\test_start_scripts.py checks it).
rem No & | < > ^ in the texts: cmd would read them as commands.
if "%DANLU_LANG%"=="zh" goto :say_zh
if "%~1"=="step_starting" set "STEP=starting"
if "%~1"=="step_checking_venv" set "STEP=checking .venv"
if "%~1"=="step_finding_python" set "STEP=finding Python 3.10, 3.11 or 3.12"
if "%~1"=="step_creating_venv" set "STEP=creating .venv"
if "%~1"=="step_reapply" set "STEP=writing the mirror setting into .venv"
if "%~1"=="step_reading_settings" set "STEP=reading settings.json"
if "%~1"=="step_torch_gpu" set "STEP=installing torch %TORCH_SPEC% for the NVIDIA GPU from %TORCH_INDEX%/%VARIANT%"
if "%~1"=="step_torch_cpu" set "STEP=installing torch %TORCH_VERSION%"
if "%~1"=="step_runtime_requirements" set "STEP=installing the runtime requirements from %REQ_FILE%"
if "%~1"=="step_test_requirements" set "STEP=installing the test requirements from %REQ_FILE%"
if "%~1"=="step_running_app" set "STEP=running app.py"
if "%~1"=="step_running_tests" set "STEP=running the test suite"
if "%~1"=="venv_broken" echo [danlu] the Python inside .venv no longer runs or is not 3.10-3.12; making a new .venv
if "%~1"=="creating_venv" echo [danlu] creating .venv with %PY%
if "%~1"=="up_to_date" echo [danlu] .venv is up to date - nothing to install; start.bat --reinstall installs again
if "%~1"=="starting_app" echo [danlu] starting Danlu - app.py
if "%~1"=="app_stopped" echo [danlu] app.py stopped with exit status %STATUS%; its message is above. README: troubleshooting.
if "%~1"=="no_tests" echo [danlu] FAILED: pytest collected no tests
if "%~1"=="setup_done" echo [danlu] setup done
if "%~1"=="no_app" echo [danlu] the web page is not built yet; train from the command line:
if "%~1"=="folder_failed" echo [danlu] FAILED: cannot enter the folder of start.bat:
if "%~1"=="failed_while" echo [danlu] FAILED while %STEP%:
if "%~1"=="failed_see_above" echo [danlu] FAILED while %STEP% - see the message above.
if "%~1"=="need_python" echo [danlu] Python 3.10, 3.11 or 3.12, 64-bit, is needed. Install Python 3.11 from python.org
if "%~1"=="need_python" echo [danlu] or a domestic mirror of it, tick "Add python.exe to PATH", then run start.bat again.
if "%~1"=="mirror_hint" echo [danlu] A download failed or timed out. In China, switch to a domestic mirror: double-click
if "%~1"=="mirror_hint" echo [danlu] update_mirror.bat, or run: update_mirror.bat --profile tuna -- then start.bat again.
exit /b 0
:say_zh
if "%~1"=="step_starting" set "STEP=启动"
if "%~1"=="step_checking_venv" set "STEP=检查 .venv"
if "%~1"=="step_finding_python" set "STEP=查找 Python 3.10、3.11 或 3.12"
if "%~1"=="step_creating_venv" set "STEP=创建 .venv"
if "%~1"=="step_reapply" set "STEP=把镜像设置写进 .venv"
if "%~1"=="step_reading_settings" set "STEP=读取 settings.json"
if "%~1"=="step_torch_gpu" set "STEP=安装 NVIDIA 显卡用的 %TORCH_SPEC%，来源 %TORCH_INDEX%/%VARIANT%"
if "%~1"=="step_torch_cpu" set "STEP=安装 torch %TORCH_VERSION%"
if "%~1"=="step_runtime_requirements" set "STEP=安装运行所需的依赖（%REQ_FILE%）"
if "%~1"=="step_test_requirements" set "STEP=安装测试所需的依赖（%REQ_FILE%）"
if "%~1"=="step_running_app" set "STEP=运行 app.py"
if "%~1"=="step_running_tests" set "STEP=运行测试"
if "%~1"=="venv_broken" echo [danlu] .venv 里的 Python 已经不能运行，或者不是 3.10-3.12：重新创建 .venv
if "%~1"=="creating_venv" echo [danlu] 创建 .venv（用 %PY%）
if "%~1"=="up_to_date" echo [danlu] .venv 已是最新，没有要安装的（start.bat --reinstall 可以重新安装）
if "%~1"=="starting_app" echo [danlu] 启动丹炉（app.py）
if "%~1"=="app_stopped" echo [danlu] app.py 退出了，退出码 %STATUS%；原因见上面的输出（README：常见问题）。
if "%~1"=="no_tests" echo [danlu] 失败：pytest 一个测试也没有找到
if "%~1"=="setup_done" echo [danlu] 安装完成
if "%~1"=="no_app" echo [danlu] 还没有网页界面（缺少 app.py）；请用命令行训练：
if "%~1"=="folder_failed" echo [danlu] 失败：进不了 start.bat 所在的文件夹：
if "%~1"=="failed_while" echo [danlu] 这一步失败了：%STEP%
if "%~1"=="failed_see_above" echo [danlu] 这一步失败了：%STEP%，原因见上面的输出。
if "%~1"=="need_python" echo [danlu] 需要 64 位的 Python 3.10、3.11 或 3.12。请从 python.org 或国内镜像下载安装 Python 3.11，
if "%~1"=="need_python" echo [danlu] 安装时勾选 "Add python.exe to PATH"，然后重新运行 start.bat。
if "%~1"=="mirror_hint" echo [danlu] 下载失败或超时。在国内请换成国内镜像：双击 update_mirror.bat，
if "%~1"=="mirror_hint" echo [danlu] 或者运行 update_mirror.bat --profile tuna，然后重新运行 start.bat。
exit /b 0
