@echo off
rem Double-click: measure the mirrors, use the fastest, update Danlu's code and packages.
rem From cmd, options go to update_mirror.py, e.g.  update_mirror.bat --profile tuna
rem                                                 update_mirror.bat --check
rem Plain ASCII with CRLF line endings and no PowerShell, for the reasons in start.bat.
rem update_mirror.py needs only the standard library of Python 3.8+, so any installed Python
rem does, even when .venv is broken.
setlocal EnableExtensions DisableDelayedExpansion
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
echo [danlu] update_mirror.py stopped with exit status %STATUS%; the message is above.
goto :end

:fail_folder
echo [danlu] FAILED: cannot enter the folder of update_mirror.bat: "%~dp0"
set "STATUS=1"
goto :end
:fail_python
echo [danlu] FAILED: no Python 3.8 or newer found. Install Python 3.11 from python.org or a
echo [danlu] domestic mirror of it, tick "Add python.exe to PATH", then run this again.
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
