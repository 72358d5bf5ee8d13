"""Messages of the comparison job (see trainer/texts/__init__.py): `python -m trainer.compare`.

Used by trainer/compare.py: one image per (saved LoRA file, prompt, strength), a labelled grid and
index.json. Words of the tutorial: 底模 (base model), 权重 / 强度 (strength), 轮 (epoch), 提示词 (prompt).
"""

TEXTS: dict[str, tuple[str, str]] = {
    # ---- the run folder and its files ------------------------------------------------------------
    "compare.not_a_run": (
        "{path} 不是训练输出文件夹（里面没有 config.toml）。",
        "{path} is not a run's output folder (it holds no config.toml).",
    ),
    "compare.not_a_run_hint": (
        "--run 要给训练的输出文件夹（output_dir），里面有 config.toml 和保存的 .safetensors 文件。",
        "--run takes the output folder of a training run (output_dir), which holds config.toml and the saved "
        ".safetensors files.",
    ),
    "compare.paths_ignored": (
        "config.toml 里这些路径已经不在了：{fields}；对比用不到它们，已忽略。",
        "config.toml names paths that are gone ({fields}); comparing does not need them, so they are ignored.",
    ),
    "compare.no_saved_files": (
        "{folder} 里还没有保存的 LoRA 文件（*.safetensors）。",
        "{folder} holds no saved LoRA file (*.safetensors) yet.",
    ),
    "compare.no_saved_files_hint": (
        "等训练保存了至少一个文件再对比：设置 save_every_n_epochs（每 N 轮保存一次）就能得到每一轮的文件。",
        "Compare once the run has saved at least one file; save_every_n_epochs keeps a file every N epochs.",
    ),
    "compare.unknown_file": (
        "{name} 不是这次训练保存的 LoRA 文件（在 {folder} 里找不到）。",
        "{name} is not a saved LoRA file of this run (not found in {folder}).",
    ),
    "compare.unknown_file_hint": (
        "可以选的文件：{names}",
        "Files to choose from: {names}",
    ),
    "compare.not_a_lora": (
        "{name} 读不出来，不是 LoRA 文件或者已经损坏：{detail}",
        "{name} cannot be read as a LoRA file (not one, or damaged): {detail}",
    ),
    "compare.not_a_lora_hint": (
        "换一个文件对比（--files），或者重新训练保存它。",
        "Compare other files (--files), or train again to save it anew.",
    ),
    "compare.lora_does_not_fit": (
        "{name} 和底模对不上：文件里有 {count} 层底模里没有（第一个：{first}）。",
        "{name} does not fit the base model: {count} of its layers are not in the model (first: {first}).",
    ),
    "compare.lora_does_not_fit_hint": (
        "它可能是用别的底模（例如 SDXL 和 SD1.5）或别的训练器（LoCon/LyCORIS）训练的；只对比这次训练保存的文件。",
        "It was probably trained on another base model (SDXL vs SD1.5) or with another network (LoCon/LyCORIS); "
        "compare the files this run saved.",
    ),

    # ---- the options -------------------------------------------------------------------------------
    "compare.bad_strengths": (
        "--strengths {value} 不是用逗号分开的数字。",
        "--strengths {value} is not a list of numbers separated by commas.",
    ),
    "compare.bad_strengths_hint": (
        "例如 0,0.6,0.8,1.0：0 是底模本身（对照），1 是 LoRA 的完整强度。强度要在 {low} 到 {high} 之间。",
        "For example 0,0.6,0.8,1.0: 0 is the base model itself (the reference), 1 the LoRA at full strength. "
        "Strengths must be between {low} and {high}.",
    ),
    "compare.strength_out_of_range": (
        "强度 {value} 超出了 {low} 到 {high} 的范围。",
        "Strength {value} is outside {low} to {high}.",
    ),
    "compare.bad_number": (
        "{name} 是 {value}，要在 {low} 到 {high} 之间。",
        "{name} is {value}; it must be between {low} and {high}.",
    ),
    "compare.bad_number_hint": (
        "不写这个选项就用训练配置里的值。",
        "Leave the option out to use the run's own value.",
    ),
    "compare.no_prompts": (
        "没有提示词可画：这次训练没有设置预览图提示词（sample_prompts），也没有给出 --prompt。",
        "No prompts to render: the run has no preview prompts (sample_prompts) and none were given.",
    ),
    "compare.no_prompts_hint": (
        "用 --prompt 给出提示词（可以给多个），或者用 --prompts-file 给出提示词文件（每行一个）。",
        "Give prompts with --prompt TEXT (one or more), or a prompt file with --prompts-file (one per line).",
    ),

    # ---- the job -------------------------------------------------------------------------------------
    "compare.starting": (
        "开始对比：{rows} 个文件 × {prompts} 个提示词 × {strengths} 个强度，共 {cells} 格，要画 {renders} 张图；"
        "种子 {seed}，采样器 {sampler}。输出到 {folder}",
        "Comparing {rows} files × {prompts} prompts × {strengths} strengths: {cells} cells, {renders} images to "
        "render; seed {seed}, sampler {sampler}. Writing to {folder}",
    ),
    "compare.row_loaded": (
        "{name}：已载入 {count} 层 LoRA。",
        "{name}: {count} LoRA layers loaded.",
    ),
    "compare.image_line": (
        "[{done}/{total}] {image}（{seconds:.1f} 秒）",
        "[{done}/{total}] {image} ({seconds:.1f} s)",
    ),
    "compare.finished": (
        "对比完成：{cells} 格，用时 {seconds:.0f} 秒。对比图：{grid}",
        "Comparison done: {cells} cells in {seconds:.0f} s. Grid: {grid}",
    ),
    "compare.stopped": (
        "对比已停止：画完了 {done}/{total} 张图。已画的图保留在 {folder}",
        "Comparison stopped after {done} of {total} images. What was rendered is kept in {folder}",
    ),
    "compare.stopped_before": (
        "对比在开始画图之前就停止了。",
        "The comparison stopped before any image was rendered.",
    ),
    "compare.stopped_hint": (
        "index.json 只列出画完的格子（\"complete\": false）；想看完整对比就重新开始一次。",
        "index.json lists only the cells done (\"complete\": false); start the comparison again for all of them.",
    ),

    # ---- the grid's labels ---------------------------------------------------------------------------
    "compare.row_epoch": (
        "第 {epoch} 轮",
        "epoch {epoch}",
    ),
    "compare.row_final": (
        "最终",
        "final",
    ),
    "compare.column_strength": (
        "强度 {strength}",
        "strength {strength}",
    ),
    "compare.column_base": (
        "底模（强度 0）",
        "base (strength 0)",
    ),
    "compare.prompt_header": (
        "提示词 {number}：{text}",
        "prompt {number}: {text}",
    ),
}
