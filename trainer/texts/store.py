"""Messages of the model store (see trainer/texts/__init__.py): downloading model files into
models/ (trainer/model_store.py) and the download job (python -m trainer.fetch)."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # ---- arguments (exit code 2) -------------------------------------------------------------
    "store.bad_repo_id": (
        "模型仓库名“{repo}”不对：应写成“所有者/名字”，例如 stable-diffusion-v1-5/stable-diffusion-v1-5。",
        "The model repository '{repo}' is not valid: write it as owner/name, "
        "e.g. stable-diffusion-v1-5/stable-diffusion-v1-5."),
    "store.bad_filename": (
        "文件名“{file}”不对：应是仓库里的相对路径（例如 unet/config.json），不能是绝对路径，不能含“..”，"
        "每一段也不能以“.”开头。",
        "The file name '{file}' is not valid: it must be a path inside the repository (e.g. unet/config.json), "
        "not absolute, without '..', and no part of it may start with '.'."),
    "store.no_files": (
        "没有指定要下载的文件（--file 文件名）。",
        "No files to download were given (--file NAME)."),
    "store.bad_source": (
        "不认识的下载来源“{source}”：可选 {choices}。",
        "Unknown download source '{source}': choose {choices}."),
    # ---- failures (DownloadError, exit code 9) -------------------------------------------------
    "store.repo_not_found": (
        "模型站 {endpoint} 上没有模型仓库 {repo}（{url} 返回 HTTP {status}；私有或需要授权的仓库也会这样回答）。",
        "The model repository {repo} does not exist at {endpoint} ({url} answered HTTP {status}; a private or "
        "gated repository answers the same)."),
    "store.revision_not_found": (
        "模型仓库 {repo} 在模型站 {endpoint} 上没有版本 {revision}（{url} 返回 404）。",
        "The model repository {repo} has no revision {revision} at {endpoint} ({url} answered 404)."),
    "store.file_not_found": (
        "模型仓库 {repo} 在模型站 {endpoint} 上没有文件 {file}（{url} 返回 404）。",
        "The model repository {repo} has no file {file} at {endpoint} ({url} answered 404)."),
    "store.gated": (
        "{url} 拒绝下载（HTTP {status}）：模型仓库 {repo} 需要登录并在网页上同意许可后才能下载（模型站：{endpoint}）。",
        "{url} refused the download (HTTP {status}): the model repository {repo} needs a login and its licence "
        "accepted on its page (model hub: {endpoint})."),
    "store.http_error": (
        "下载失败：{url} 返回 HTTP {status}（模型站：{endpoint}）。",
        "Download failed: {url} answered HTTP {status} (model hub: {endpoint})."),
    "store.network": (
        "连不上 {url}，下载失败（模型站：{endpoint}）：{detail}",
        "Cannot download from {url} (model hub: {endpoint}): {detail}"),
    "store.not_a_hub": (
        "{url} 的回答不像模型站（可能被代理、防火墙或登录页面拦截了）：{detail}（模型站：{endpoint}）",
        "The answer from {url} does not look like a model hub's (a proxy, a firewall or a login page may be in "
        "the way): {detail} (model hub: {endpoint})"),
    "store.offline_mode": (
        "设置了 HF_HUB_OFFLINE=1（离线模式），所以没有联网下载；{folder} 里还缺少：{files}。",
        "HF_HUB_OFFLINE=1 is set (offline mode), so nothing was downloaded; {folder} still lacks: {files}."),
    "store.checksum_mismatch": (
        "{file} 下载完了，但内容校验不对：sha256 应为 {expected}，实际是 {actual}（来自 {url}，模型站：{endpoint}）。"
        "下载的文件已删除，没有使用。",
        "{file} was downloaded but its content is wrong: sha256 should be {expected}, it is {actual} (from {url}, "
        "model hub: {endpoint}). The downloaded file was deleted and is not used."),
    "store.size_mismatch": (
        "{file} 的大小不对：应为 {expected} 字节，下载到 {actual} 字节（来自 {url}，模型站：{endpoint}）。"
        "下载的文件已删除，没有使用。",
        "{file} has the wrong size: {expected} bytes expected, {actual} bytes downloaded (from {url}, model hub: "
        "{endpoint}). The downloaded file was deleted and is not used."),
    "store.stopped": (
        "下载已停止。已下载的部分保存在 {folder}，下次会从断开的地方接着下载。",
        "Download stopped. What was downloaded is kept in {folder}; the next download continues from there."),
    # ---- what to do (hints) ------------------------------------------------------------------
    "store.hint_switch_or_copy": (
        "换一个模型站再试：运行 {command}；或者在浏览器里打开 {page}，下载这些文件（{files}），"
        "放进 {folder}（保持文件名和子文件夹），丹炉会直接使用，不需要联网。",
        "Switch the model hub and try again: run {command}; or download the files ({files}) in a browser from "
        "{page} and put them into {folder} (same names and subfolders): Danlu then uses them with no network."),
    "store.hint_not_found": (
        "检查仓库名和文件名的拼写（区分大小写）。名字没错的话，就是这个模型站上没有它：换一个模型站（{command}），"
        "或者从别处下载这些文件（{files}），放进 {folder}。",
        "Check the spelling of the repository and file names (case matters). If they are right, this hub does not "
        "have them: switch the model hub ({command}), or get the files ({files}) elsewhere and put them into {folder}."),
    "store.hint_gated": (
        "在 {page} 登录并同意许可，然后运行 hf auth login（或设置环境变量 HF_TOKEN）再试；"
        "或者从别处下载这些文件（{files}），放进 {folder}。",
        "Log in at {page} and accept the licence, then run `hf auth login` (or set HF_TOKEN) and try again; "
        "or get the files ({files}) elsewhere and put them into {folder}."),
    "store.hint_offline": (
        "去掉环境变量 HF_HUB_OFFLINE 后再下载；或者把这些文件（{files}）复制到 {folder}。",
        "Unset HF_HUB_OFFLINE and download again; or copy the files ({files}) into {folder}."),
    "store.hint_checksum": (
        "再下载一次；仍然不对的话，就是这个模型站上的文件有问题：换一个模型站（{command}），"
        "或者从别处下载这些文件（{files}），放进 {folder}。",
        "Download again; if it is still wrong, the hub's copy is bad: switch the model hub ({command}), "
        "or get the files ({files}) elsewhere and put them into {folder}."),
    "store.command_profile": (
        "update_mirror.bat --profile {profile}（Linux/macOS：python3 update_mirror.py --profile {profile}）",
        "update_mirror.bat --profile {profile} (Linux/macOS: python3 update_mirror.py --profile {profile})"),
    "store.command_use_hf": (
        "改用 Hugging Face 来源（--source hf），模型站用 update_mirror.bat 选择（例如 --profile tuna 即 hf-mirror.com）",
        "the Hugging Face source (--source hf), with the hub chosen by update_mirror.bat "
        "(e.g. --profile tuna for hf-mirror.com)"),
    # ---- progress (the job's log) ------------------------------------------------------------
    "store.fetch_start": ("从 {endpoint} 下载 {repo}：{files}", "Downloading {repo} from {endpoint}: {files}"),
    "store.file_present": ("{file} 已在本地：{path}", "{file} is already here: {path}"),
    "store.file_progress": (
        "{file}：{done_mb:.1f} / {total_mb:.1f} MB，{speed_mb:.2f} MB/s，还需约 {eta_s:.0f} 秒",
        "{file}: {done_mb:.1f} / {total_mb:.1f} MB, {speed_mb:.2f} MB/s, about {eta_s:.0f} s left"),
    "store.file_progress_open": (
        "{file}：已下载 {done_mb:.1f} MB，{speed_mb:.2f} MB/s",
        "{file}: {done_mb:.1f} MB so far, {speed_mb:.2f} MB/s"),
    "store.retrying": (
        "下载 {file} 时连接断开（{detail}），{wait_s:.0f} 秒后从 {done_mb:.1f} MB 处接着下载（第 {attempt} 次重试，最多 {attempts} 次）。",
        "The connection broke while downloading {file} ({detail}); continuing from {done_mb:.1f} MB in "
        "{wait_s:.0f} s (retry {attempt} of at most {attempts})."),
    "store.verifying": ("正在校验 {file}（sha256）……", "Verifying {file} (sha256) ..."),
    "store.file_done": ("{file} 已下载并校验通过：{path}", "{file} downloaded and verified: {path}"),
    "store.all_done": ("全部文件已就绪：{folder}", "All files are ready in {folder}"),
}
