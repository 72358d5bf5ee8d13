@echo off
rem Double-click: measure the mirrors, use the fastest, update Danlu's code and packages.
rem From cmd, options go to update_mirror.py, e.g.  update_mirror.bat --profile tuna
rem                                                 update_mirror.bat --check
rem ASCII with CRLF line endings but for the Chinese lines of :say at the end, and no PowerShell,
rem for the reasons in start.bat. update_mirror.py needs only the standard library of Python 3.8+,
rem so any installed Python does, even when .venv is broken.
setlocal EnableExtensions DisableDelayedExpansion
rem The language, as start.bat decides it: DANLU_LANG when it says zh or en; else Chinese when the
rem console code page is 936 or the user's locale is zh-*, English otherwise. Read before the code
rem page becomes UTF-8; update_mirror.py and the start.bat it runs inherit DANLU_LANG.
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
chcp 65001 >nul
set "PYTHONUTF8=1"
set "PYTHONIOENCODING=utf-8"
pushd "%~dp0" || goto :fail_folder
set "PY="
call :try_python py -3.11
if not defined PY call :try_python py -3.12
if not defined PY call :try_python py -3.10
if not defined PY call :try_python py -3
if not defined PY call :try_python python
if not defined PY goto :fail_python
%PY% update_mirror.py %*
set "STATUS=%errorlevel%"
if "%STATUS%"=="0" goto :end
echo.
call :say stopped
goto :end

:fail_folder
call :say folder_failed
echo [danlu] "%~dp0"
set "STATUS=1"
goto :end
:fail_python
call :say need_python
set "STATUS=1"
goto :end

:end
rem Always wait: a double-clicked window would otherwise close before the summary can be read.
if not defined DANLU_NO_PAUSE pause
popd
exit /b %STATUS%

:try_python
%* -c "import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)" >nul 2>nul
if not errorlevel 1 set "PY=%*"
exit /b 0

:say
rem %1 = a key: echo its line(s) in DANLU_LANG. The Chinese lines stay last, below the last label:
rem the only non-ASCII bytes, UTF-8, read only after chcp 65001 (see start.bat). No & | < > ^.
if "%DANLU_LANG%"=="zh" goto :say_zh
if "%~1"=="stopped" echo [danlu] update_mirror.py stopped with exit status %STATUS%; the message is above.
if "%~1"=="folder_failed" echo [danlu] FAILED: cannot enter the folder of update_mirror.bat:
if "%~1"=="need_python" echo [danlu] FAILED: no Python 3.8 or newer found. Install Python 3.11 from python.org or a
if "%~1"=="need_python" echo [danlu] domestic mirror of it, tick "Add python.exe to PATH", then run this again.
exit /b 0
:say_zh
if "%~1"=="stopped" echo [danlu] update_mirror.py 退出了，退出码 %STATUS%；原因见上面的输出。
if "%~1"=="folder_failed" echo [danlu] 失败：进不了 update_mirror.bat 所在的文件夹：
if "%~1"=="need_python" echo [danlu] 失败：没有找到 Python 3.8 或更新的版本。请从 python.org 或国内镜像下载安装 Python 3.11，
if "%~1"=="need_python" echo [danlu] 安装时勾选 "Add python.exe to PATH"，然后重新运行 update_mirror.bat。
exit /b 0
