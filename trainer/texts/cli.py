"""Messages of the command lines (see trainer/texts/__init__.py): argparse's frame and errors
(trainer/cli_parser.py) and every option's help, for python -m trainer, trainer.compare,
trainer.tag, trainer.fetch, app.py and update_mirror.py.

update_mirror.py loads this file by its path on a bare Python 3.8 (as trainer/texts/launch.py):
plain literals only, no imports but __future__, nothing newer than Python 3.8. argparse fills
"%(...)s" in help texts, so a help never holds a bare percent sign.
"""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # ---- argparse's frame and errors --------------------------------------------------------
    "cli.usage": ("用法：", "usage: "),
    "cli.options": ("选项", "options"),
    "cli.positionals": ("参数", "positional arguments"),
    "cli.help": ("显示这段帮助后退出", "show this help message and exit"),
    "cli.error": ("{prog}：错误：{message}", "{prog}: error: {message}"),
    "cli.error_required": ("缺少必需的选项：{names}", "the following arguments are required: {names}"),
    "cli.error_unrecognized": ("不认识这些参数：{names}", "unrecognized arguments: {names}"),
    "cli.error_choice": (
        "{option} 的值 {value} 不是可选的值（可选：{choices}）",
        "argument {option}: invalid choice: {value} (choose from {choices})"),
    "cli.error_value": ("{option} 的值 {value} 读不懂，请检查格式", "argument {option}: invalid value: {value}"),
    "cli.error_one_value": ("{option} 后面要跟一个值", "argument {option}: expected one argument"),
    "cli.error_not_allowed": ("{option} 不能和 {other} 一起用", "argument {option}: not allowed with argument {other}"),
    "cli.error_ambiguous": ("选项 {option} 不明确，可能是：{choices}", "ambiguous option: {option} could match {choices}"),
    "cli.error_no_value": ("{option} 不接受值（给了 {value}）", "argument {option}: ignored explicit argument {value}"),

    # ---- python -m trainer --------------------------------------------------------------------
    "cli.trainer_description": (
        "丹炉 LoRA 训练器：读取 kohya sd-scripts 键名的 TOML 配置并训练。",
        "Danlu LoRA trainer: trains from a TOML config with kohya sd-scripts' key names."),
    "cli.trainer_config": ("训练配置（TOML，键名与 kohya sd-scripts 相同）", "TOML file with kohya sd-scripts' key names"),
    "cli.trainer_events": ("events.jsonl 的位置（默认：{{output_dir}}/events.jsonl）",
                           "events.jsonl path (default: {{output_dir}}/events.jsonl)"),
    "cli.trainer_dry_run": (
        "只检查配置、训练集和底模，以 JSON 打印步数计算，不训练",
        "check config, data set and base model, print the step plan as JSON, train nothing"),
    "cli.trainer_find_lr": (
        "教程的 DAdaptation 寻找学习率：跑到 d*lr 稳定为止，写出 lr_finder.json 和一条 lr_finder 事件，不保存 LoRA",
        "the tutorial's DAdaptation learning-rate finder: run until d*lr settles, write lr_finder.json and an "
        "lr_finder event, save no LoRA"),
    "cli.trainer_find_lr_steps": ("--find-lr 最多跑的步数（默认 300）", "step budget of --find-lr (default 300)"),
    "cli.trainer_num_processes": (
        "用这么多块 GPU 一起训练（通过 accelerate launch）；默认 1",
        "train on this many GPUs together (through accelerate launch); default 1"),
    "cli.trainer_lang": (
        "train.log 和各条消息的语言：zh 或 en（默认按系统语言，zh_* 为中文；事件里的消息也带有数据，"
        "任何读取者都能用自己的语言显示）",
        "language of train.log and of the messages' text: zh or en (default: the system locale, zh_* -> zh; "
        "events also carry each message as data, so any reader can show it in its own language)"),

    # ---- python -m trainer.compare ------------------------------------------------------------
    "cli.compare_description": (
        "把一次训练保存的各个 LoRA 并排出图：每个（文件、提示词、强度）一张，"
        "在 OUTPUT_DIR/compare/<时间>/ 下写出带标注的 grid.png 和 index.json。",
        "Render a run's saved LoRA files side by side: one image per (file, prompt, strength), a labelled "
        "grid.png and an index.json under OUTPUT_DIR/compare/<time>/."),
    "cli.compare_run": ("这次训练的输出文件夹（里面有 config.toml 和 .safetensors）",
                        "the run's output folder (holds config.toml and the .safetensors)"),
    "cli.compare_files": (
        "要对比的 LoRA 文件，用逗号分隔，按这个顺序（训练文件夹里的文件名或路径）；默认：每一轮的文件和最终文件",
        "comma-separated LoRA files of the run to compare, in this order (names in the run folder, or paths); "
        "default: every epoch file and the final file"),
    "cli.compare_prompts_file": (
        "提示词文件（.txt 每行一条，可带 kohya 的 --n --w --h --l --s --d；或 .json）",
        "a prompt file (.txt one prompt per line with kohya's --n --w --h --l --s --d, or .json)"),
    "cli.compare_prompt": (
        "一条提示词（可带 kohya 的选项）；再写一次加一条；默认：这次训练的预览提示词",
        "a prompt (kohya's options allowed); give it again for more; default: the run's sample prompts"),
    "cli.compare_strengths": (
        "LoRA 强度，用逗号分隔（默认 0,0.6,0.8,1.0；0 就是底模）；第一个值是负数时写成 --strengths=-0.5,...",
        "comma-separated LoRA strengths (default 0,0.6,0.8,1.0; 0 is the base model); a negative first value "
        "needs --strengths=-0.5,..."),
    "cli.compare_seed": ("每一格用的种子（默认：这次训练的种子）", "seed of every cell (default: the run's seed)"),
    "cli.compare_steps": ("采样步数（默认：提示词里写的，否则 20）", "sampling steps (default: each prompt's, else 20)"),
    "cli.compare_sampler": ("采样器（默认：这次训练的 sample_sampler）", "sampler (default: the run's sample_sampler)"),
    "cli.compare_width": ("图片宽度（默认：提示词里写的，否则按这次训练）",
                          "image width (default: each prompt's, else the run's)"),
    "cli.compare_height": ("图片高度（默认：提示词里写的，否则按这次训练）",
                           "image height (default: each prompt's, else the run's)"),
    "cli.job_events": (
        "要写的 events.jsonl（网页的任务用）；train.log 写在它旁边，停止请求从那里的 control/ 读取",
        "events.jsonl to write (a job of the page); train.log goes beside it and stop requests are read from "
        "control/ there"),
    "cli.compare_lang": ("train.log、控制台和对比图标注的语言（默认按系统语言）",
                         "language of train.log, the console and the grid's labels (default: the system locale)"),

    # ---- python -m trainer.tag ----------------------------------------------------------------
    "cli.tag_description": (
        "用 WD14 打标模型（SmilingWolf 的 wd-v1-4-*-v2 / wd-*-v3，ONNX）给图片打标。",
        "Caption images with a WD14 tagger (SmilingWolf's wd-v1-4-*-v2 / wd-*-v3, ONNX)."),
    "cli.tag_dir": ("图片文件夹（加 --recursive 时可以是整个训练集文件夹）",
                    "folder of images (a training folder with --recursive)"),
    "cli.tag_model": ("模型仓库名，或放着 model.onnx 和 selected_tags.csv 的文件夹（默认 {default}）",
                      "hub repo id, or a folder holding model.onnx and selected_tags.csv (default {default})"),
    "cli.tag_threshold": ("分数不低于它的普通标签会写入（默认 {default}）",
                          "general tags scoring at least this are written (default {default})"),
    "cli.tag_character_threshold": ("角色标签的同一个阈值（默认 {default}）",
                                    "the same for character tags (default {default})"),
    "cli.tag_trigger": (
        "放在每条标注最前面的触发词（逗号分隔）；默认：每张图所在 N_name 文件夹的名字部分；写 \"\" 表示不加",
        "trigger word(s) put first in every caption (comma-separated); default: the name part of each image's "
        "N_name folder; \"\" for none"),
    "cli.tag_mode": (
        "已有标注的图片：skip 跳过（默认）、append 补上缺的标签，或 overwrite 覆盖（旧文件保存为 .txt.bak-<时间>）",
        "an image with a caption already: skip it (default), append the missing tags, or overwrite it (the old "
        "one is kept as .txt.bak-<time>)"),
    "cli.tag_exclude": ("永不写入的标签，逗号分隔（long_hair 和 long hair 都能匹配）",
                        "tags never written, comma-separated (long_hair and long hair both match)"),
    "cli.tag_keep_underscores": (
        "按模型里的写法保留下划线（long_hair）；默认写成 long hair（^_^ 这类颜文字总是保留）",
        "write tags as the model names them (long_hair); default long hair (kaomoji such as ^_^ always keep "
        "theirs)"),
    "cli.tag_recursive": ("子文件夹里的图片也打标", "tag the images in every subfolder too"),
    "cli.tag_hub": ("下载模型用的站点（例如 https://hf-mirror.com）；默认：settings.json",
                    "model hub to download from (e.g. https://hf-mirror.com); default: settings.json"),
    "cli.models_dir": ("模型库文件夹（默认：DANLU_MODELS_DIR，否则 models/）",
                       "the model store's folder (default: DANLU_MODELS_DIR, else models/)"),
    "cli.log_lang": ("日志和控制台的语言：zh 或 en（默认按系统语言，zh_* 为中文）",
                     "language of the log and the console: zh or en (default: the system locale, zh_* -> zh)"),

    # ---- python -m trainer.fetch --------------------------------------------------------------
    "cli.fetch_description": (
        "把模型文件下载到丹炉的模型库（models/<owner>/<repo>/）。",
        "Download model files into Danlu's model store (models/<owner>/<repo>/)."),
    "cli.fetch_repo": ("仓库名，owner/name", "repository id, owner/name"),
    "cli.fetch_file": ("仓库里的一个文件（仓库内的路径，例如 unet/config.json）；多个文件就重复写",
                       "a file of the repository (path inside it, e.g. unet/config.json); repeat for more"),
    "cli.fetch_hub": (
        "下载站点（默认：HF_ENDPOINT，否则 update_mirror 写的 settings.json，否则 https://huggingface.co；"
        "--source modelscope 时为 https://www.modelscope.cn）",
        "hub endpoint (default: HF_ENDPOINT, else settings.json from update_mirror, else https://huggingface.co; "
        "for --source modelscope: https://www.modelscope.cn)"),
    "cli.fetch_source": ("hf（Hugging Face 或它的镜像）或 modelscope（魔搭）",
                         "hf (Hugging Face or a mirror) or modelscope"),
    "cli.fetch_revision": ("分支、标签或提交（默认 main；魔搭为 master）",
                           "branch, tag or commit (default: main; ModelScope: master)"),
    "cli.fetch_expect": ("文件必须有的 sha256（和大小），不管站点怎么说；每个文件写一次",
                         "the sha256 (and size) a file must have, whatever the hub says; repeat per file"),
    "cli.fetch_events": ("把进度和结果追加写到这个 events.jsonl", "events.jsonl to append progress and the result to"),

    # ---- python app.py ------------------------------------------------------------------------
    "cli.app_description": ("丹炉 LoRA 训练网页", "Danlu LoRA training page"),
    "cli.app_port": ("先试这个端口（默认 {default}）", "first port to try (default {default})"),
    "cli.app_lang": ("网页语言（默认按系统语言）", "page language (default: from the system locale)"),
    "cli.app_no_browser": ("不自动打开浏览器", "do not open a browser tab"),
    "cli.app_output_dir": ("训练结果写在哪里（默认 ./output）", "where runs are written (default ./output)"),
    "cli.app_listen": ("允许其他电脑访问（必须同时给 --auth）", "accept connections from other computers (needs --auth)"),
    "cli.app_auth": ("--listen 用的 用户名:密码，或只写用户名，让丹炉生成密码",
                     "USER:PASSWORD for --listen, or USER to have a password generated"),
    "cli.app_stop_grace": ("按停止后等训练进程保存并退出的秒数，超时再发信号（默认 60）",
                           "seconds Stop waits for the trainer to save and exit before signalling it (default 60)"),

    # ---- update_mirror.py ---------------------------------------------------------------------
    "cli.mirror_description": (
        "切换丹炉的 Python 包、PyTorch 和模型下载镜像，然后更新代码和依赖。不带选项：测量每个方案，用最快的，再更新。",
        "Switch Danlu's package, PyTorch and model-hub mirrors, then update the code and packages. With no "
        "options: measure every profile, use the fastest, update."),
    "cli.mirror_profile": ("使用这个镜像方案", "use this mirror profile"),
    "cli.mirror_pick_fastest": ("测量每个方案，用最快的", "measure every profile and use the fastest"),
    "cli.mirror_keep_profile": ("沿用 settings.json 里保存的方案（不测量），只更新",
                                "keep the profile saved in settings.json (no measuring); only update"),
    "cli.mirror_check": ("只测量哪些镜像能连上、有多快，什么都不改",
                         "only measure which mirrors answer and how fast; change nothing"),
    "cli.mirror_list": ("列出所有方案", "list the profiles"),
    "cli.mirror_pip_index": ("自定义 Python 包索引（PEP 503 simple）", "custom Python package index (PEP 503 simple)"),
    "cli.mirror_torch_index": ("自定义 PyTorch wheel 索引，不含 CUDA 那一级目录（会加上 /{tag}）",
                               "custom PyTorch wheel index, without the CUDA folder (/{tag} is added)"),
    "cli.mirror_torch_index_style": ("simple：每个 CUDA 版本一个 PEP 503 索引；find-links：一个平铺 wheel 的文件夹",
                                     "simple: a PEP 503 index per CUDA tag; find-links: a flat folder of wheels"),
    "cli.mirror_hub": ("自定义模型下载站点（HF_ENDPOINT）", "custom model-hub endpoint (HF_ENDPOINT)"),
    "cli.mirror_git_remote": ("以后从这个仓库镜像拉取代码（写 none 表示不再使用）",
                              "pull the code from this mirror of the repository from now on ('none' to forget it)"),
    "cli.mirror_timeout": ("测量时每个镜像最多等多少秒（默认 {default}）",
                           "seconds to wait for each mirror when measuring (default {default})"),
    "cli.mirror_no_update_code": ("不执行 git pull", "do not git pull"),
    "cli.mirror_no_install": ("不重新安装依赖", "do not reinstall the requirements"),
    "cli.mirror_dry_run": ("只打印每一步要做什么，不真的做", "print every action without doing it"),
    "cli.mirror_reapply": ("只按 settings.json 重写虚拟环境的 pip 配置（start.sh/start.bat 用）",
                           "only rewrite the venv's pip config from settings.json (used by start.sh/start.bat)"),
    "cli.mirror_lang": (
        "消息的语言：zh（中文）或 en（英文）；默认：DANLU_LANG，否则按系统语言（zh_* 或没有设置：中文）",
        "language of the messages: zh (Chinese) or en (English); default: DANLU_LANG, else the system locale "
        "(zh_* or none set: Chinese)"),
}
