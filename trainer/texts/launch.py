"""Messages of update_mirror.py (see trainer/texts/__init__.py): measuring the mirrors, writing
the pip config and settings.json, updating the code and the packages, the summary.

update_mirror.py must run on a bare Python 3.8 when the venv is broken, where this package's
__init__ (and the rooms that need Python 3.9) may not import: it loads this one file by its
path. So: plain literals only, no imports but __future__, nothing newer than Python 3.8.
start.sh and start.bat print their own few lines; those are in the scripts (a function each).
"""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # ---- the mirror profiles (--list, the fastest one) --------------------------------------
    "launch.profile_official": (
        "pypi.org + download.pytorch.org + huggingface.co（官方源，适合国外网络）",
        "pypi.org + download.pytorch.org + huggingface.co (outside China)"),
    "launch.profile_tuna": (
        "清华 TUNA 的 PyPI 镜像 + 上海交大的 PyTorch 镜像 + hf-mirror.com",
        "Tsinghua TUNA PyPI + SJTU PyTorch wheels + hf-mirror.com"),
    "launch.profile_aliyun": (
        "阿里云的 PyPI 和 PyTorch 镜像 + hf-mirror.com",
        "Alibaba Cloud PyPI + PyTorch wheels + hf-mirror.com"),
    "launch.profile_ustc": (
        "中科大的 PyPI 镜像 + 上海交大的 PyTorch 镜像 + hf-mirror.com",
        "USTC PyPI + SJTU PyTorch wheels + hf-mirror.com"),
    "launch.profile_sjtu": (
        "上海交大的 PyPI 和 PyTorch 镜像 + hf-mirror.com",
        "SJTU PyPI + SJTU PyTorch wheels + hf-mirror.com"),
    "launch.profile_from_settings": ("settings.json 里保存的方案", "from settings.json"),
    "launch.profile_from_command_line": ("命令行给出的地址", "given on the command line"),
    "launch.list_urls": (
        "软件包 {pip_index} | PyTorch {torch_index}（{style}）| 模型 {hub}",
        "pip {pip_index} | torch {torch_index} ({style}) | hub {hub}"),
    # ---- measuring (测速) --------------------------------------------------------------------
    "launch.check_heading": ("镜像测速：", "Mirror check:"),
    "launch.role_pip": ("pip 软件包索引", "pip index"),
    "launch.role_torch": ("PyTorch 安装包", "PyTorch wheels"),
    "launch.role_hub": ("模型下载站", "model hub"),
    "launch.state_ok": ("正常", "ok"),
    "launch.state_fail": ("失败", "FAIL"),
    "launch.no_answer": ("没有响应", "no answer"),
    "launch.unreachable": ("连不上（{reason}）", "unreachable ({reason})"),
    "launch.no_answer_within": ("连不上（{seconds:g} 秒内没有响应）", "unreachable (no answer within {seconds:g} s)"),
    "launch.fastest_usable": ("最快的可用方案：{name}", "fastest usable profile: {name}"),
    "launch.fastest_profile": ("最快的方案：{name}（{description}）", "fastest profile: {name} ({description})"),
    "launch.no_mirror_answered": (
        "没有一个镜像的软件包索引有响应：请检查网络连接或代理设置，然后再运行一次。",
        "no mirror's package index answered: check the network connection or the proxy settings, "
        "then run this again."),
    # ---- writing the configuration ------------------------------------------------------------
    "launch.no_saved_profile": (
        "还没有保存过镜像方案：pip 继续用它自己的默认源。",
        "no profile saved yet: pip keeps its own defaults."),
    "launch.file_unchanged": ("{path} 已经是这个内容，不用改", "{path} already says this; left as is"),
    "launch.write": ("写入 {path}：", "write {path}:"),
    "launch.write_dry": ("（演练）将写入 {path}：", "(dry run) would write {path}:"),
    # ---- updating the code ----------------------------------------------------------------------
    "launch.not_git_checkout": (
        "这个文件夹不是 git 仓库（或者没有安装 git），所以这里不更新代码。更新方法：下载新版丹炉压缩包，"
        "解压到这个文件夹旁边，再把 output/ 和 settings.json 复制过去（新的启动脚本会自己建好 .venv）；"
        "或者安装 git 后重新 clone 项目。",
        "this folder is not a git checkout (or git is not installed), so the code is not updated here. "
        "To update: download the new Danlu zip, unpack it beside this folder and move output/ and "
        "settings.json over (the new start script builds a new .venv); or install git and clone the project."),
    "launch.detached_head": (
        "代码停在一个固定版本上（detached HEAD），不拉取更新。想跟着项目更新，先运行 git checkout main。",
        "the checkout is on a detached HEAD (a fixed version); not pulling. "
        "Run `git checkout main` first to follow the project."),
    "launch.no_remote": (
        "这个仓库没有可以拉取更新的远程地址：用 --git-remote URL 指定一个（例如丹炉仓库的镜像）。",
        "this checkout has no remote to pull from; set one with --git-remote URL "
        "(e.g. a mirror of the Danlu repository)."),
    "launch.source_mirror": ("镜像仓库 {url}", "the mirror remote {url}"),
    "launch.source_upstream": ("当前分支的上游", "the branch's upstream"),
    "launch.source_origin": ("远程仓库 origin", "origin"),
    "launch.run_git": ("运行：{command}   （代码来自{source}）", "run: {command}   (code from {source})"),
    "launch.run_git_dry": ("（演练）将运行：{command}   （代码来自{source}）",
                           "(dry run) would run: {command}   (code from {source})"),
    "launch.git_pull_failed": (
        "git pull 失败。如果连不上代码托管网站，用 --git-remote URL 换成仓库的镜像；如果你自己改过文件，"
        "git status 会列出它们（快进式拉取不会覆盖你的改动，先备份或还原它们）。",
        "git pull failed. If the network to the code host is blocked, set a mirror remote with "
        "--git-remote URL; if you changed files yourself, `git status` shows them "
        "(a fast-forward pull refuses to overwrite them)."),
    "launch.failure_git": ("更新代码（git pull）", "updating the code (git pull)"),
    # ---- updating the packages --------------------------------------------------------------
    "launch.run_install": ("运行：{command}   （安装 torch 和有变化的依赖）",
                           "run: {command}   (installs torch and the requirements that changed)"),
    "launch.run_install_dry": ("（演练）将运行：{command}   （安装 torch 和有变化的依赖）",
                               "(dry run) would run: {command}   (installs torch and the requirements that changed)"),
    "launch.failure_install": ("安装依赖（启动脚本 --setup-only）",
                               "installing the requirements (start script --setup-only)"),
    # ---- the summary (变更) -------------------------------------------------------------------
    "launch.summary_heading": ("变更汇总：", "summary:"),
    "launch.no_profile": ("无（pip 的默认源）", "none (pip's defaults)"),
    "launch.summary_profile": ("镜像方案：{before} -> {after}", "profile: {before} -> {after}"),
    "launch.summary_urls": (
        "软件包索引 {pip_index}；PyTorch 安装包 {torch_index}（{style}）；模型下载站 {hub}",
        "pip index {pip_index}; PyTorch wheels {torch_index} ({style}); model hub {hub}"),
    "launch.none": ("无", "none"),
    "launch.summary_files": ("写入的文件：{files}", "files written: {files}"),
    "launch.summary_files_dry": ("将写入的文件：{files}", "files to write: {files}"),
    "launch.summary_head_dry": ("git HEAD：{head}（演练，不拉取）", "git HEAD: {head} (not pulled in a dry run)"),
    "launch.summary_head": ("git HEAD：{before} -> {after}", "git HEAD: {before} -> {after}"),
    "launch.summary_head_unchanged": ("git HEAD：{before} -> {after}（没有变化）",
                                      "git HEAD: {before} -> {after} (unchanged)"),
    "launch.summary_packages": ("有变化的软件包：{count}", "packages changed: {count}"),
    "launch.failed": (
        "没有完成：{steps}。原因见上面的输出；解决后再运行一次 update_mirror。",
        "FAILED: {steps}. The messages above say why; fix that and run update_mirror again."),
    "launch.done": ("完成，用 start.bat 或 ./start.sh 启动丹炉。", "done. Start Danlu with start.bat / ./start.sh."),
}
