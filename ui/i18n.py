"""Every word the page shows, in Chinese and English, in one table.

The training options' help texts live in the schema (trainer/config/schema.py, field_help); this
module holds the rest: short field labels, buttons, section titles, status words and the
messages the UI itself writes. `t(key, lang, **values)` looks a text up and fills it in.
A unit test checks every entry has both languages and every schema field has a label.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from trainer.config import SECTION_TITLES
from trainer.messages import LANGS, Msg, default_lang, normalise_lang, render

__all__ = ["LANGS", "FIELD_LABELS", "NETWORK_ARG_LABELS", "TEXT", "both", "default_lang", "field_label",
           "network_arg_label", "normalise_lang", "only", "say", "t", "text_of"]

# Short labels for the form. The config key is shown beside each (people compare with
# lora-scripts configs), so a field missing here still gets a usable label: its key.
FIELD_LABELS: dict[str, tuple[str, str]] = {
    # 一、路径
    "pretrained_model_name_or_path": ("训练底模", "Base model"),
    "vae": ("外置 VAE（可选）", "Separate VAE (optional)"),
    "train_data_dir": ("训练集文件夹", "Training images folder"),
    "reg_data_dir": ("正则化图片文件夹（可选）", "Regularization images folder (optional)"),
    "resolution": ("分辨率", "Resolution"),
    "enable_bucket": ("启用分桶（ARB）", "Aspect-ratio buckets"),
    "min_bucket_reso": ("分桶最小边长", "Smallest bucket side"),
    "max_bucket_reso": ("分桶最大边长", "Largest bucket side"),
    "bucket_reso_steps": ("分桶边长步进", "Bucket size step"),
    "bucket_no_upscale": ("分桶时不放大小图", "Do not upscale small images"),
    "output_dir": ("输出文件夹", "Output folder"),
    "output_name": ("模型保存名称", "LoRA file name"),
    # 二、步数
    "max_train_epochs": ("epoch 训练轮次", "Epochs"),
    "train_batch_size": ("batch size 同时训练图片数量", "Batch size"),
    "save_every_n_epochs": ("每 N 轮保存一次", "Save every N epochs"),
    "save_last_n_epochs": ("只保留最近 N 个按轮保存的模型", "Keep only the last N epoch files"),
    "max_train_steps": ("最大训练步数", "Max training steps"),
    "gradient_accumulation_steps": ("梯度累加步数", "Gradient accumulation steps"),
    "validation_split": ("验证集比例（留出不训练）", "Validation split (held out)"),
    # 三、模型效果
    "unet_lr": ("U-Net 学习率", "U-Net learning rate"),
    "text_encoder_lr": ("文本编码器学习率", "Text encoder learning rate"),
    "learning_rate": ("总学习率", "Learning rate (overall)"),
    "optimizer_type": ("optimizer 优化器", "Optimizer"),
    "lr_scheduler": ("学习率调度器", "Learning-rate scheduler"),
    "lr_warmup_steps": ("学习率预热步数", "Warm-up steps"),
    "lr_scheduler_num_cycles": ("余弦重启次数", "Restart cycles"),
    "lr_scheduler_power": ("polynomial 幂次", "Polynomial power"),
    "network_dim": ("dim 网络维度", "Network dim (rank)"),
    "network_alpha": ("network_alpha", "Network alpha"),
    "network_train_unet_only": ("只训练 U-Net", "Train the U-Net only"),
    "network_train_text_encoder_only": ("只训练文本编码器", "Train the text encoder only"),
    # 预览图
    "sample_prompts": ("预览图提示词", "Preview prompts"),
    "sample_sampler": ("预览图采样器", "Preview sampler"),
    "sample_every_n_epochs": ("每 N 轮出一次预览图", "Preview every N epochs"),
    "sample_every_n_steps": ("每 N 步出一次预览图", "Preview every N steps"),
    # 高级
    "model_train_type": ("训练种类", "Training type"),
    "network_weights": ("从已有 LoRA 继续训练", "Continue from a LoRA"),
    "network_module": ("网络模块", "Network module"),
    "network_args": ("网络额外参数", "Network arguments"),
    "save_model_as": ("保存格式", "File format"),
    "save_precision": ("保存精度", "Save precision"),
    "mixed_precision": ("混合精度", "Mixed precision"),
    "prior_loss_weight": ("正则化损失权重", "Prior loss weight"),
    "caption_extension": ("标注文件扩展名", "Caption file extension"),
    "shuffle_caption": ("打乱 tag 顺序", "Shuffle tags"),
    "keep_tokens": ("打乱时保留前 N 个 tag", "Keep the first N tags"),
    "max_token_length": ("tag 最大 token 长度", "Longest caption (tokens)"),
    "clip_skip": ("CLIP 跳过层数", "CLIP skip"),
    "optimizer_args": ("优化器额外参数", "Optimizer arguments"),
    "max_grad_norm": ("梯度裁剪范数", "Gradient clipping norm"),
    "noise_offset": ("噪声偏移", "Noise offset"),
    "min_snr_gamma": ("Min-SNR gamma", "Min-SNR gamma"),
    "seed": ("随机种子", "Seed"),
    "gradient_checkpointing": ("梯度检查点（省显存）", "Gradient checkpointing (saves memory)"),
    "cache_latents": ("缓存图像 latent", "Cache latents"),
    "xformers": ("xformers", "xformers"),
    "sdpa": ("SDPA 注意力", "SDPA attention"),
    "logging_dir": ("日志文件夹", "Log folder"),
    "log_with": ("日志模块", "Logging"),
    "training_comment": ("备注（写入模型元数据）", "Comment (stored in the LoRA)"),
    "save_state": ("保存训练状态（可接着训练）", "Save the training state (to resume)"),
    "save_state_on_train_end": ("训练结束时保存训练状态", "Save the training state at the end"),
    "save_last_n_epochs_state": ("只保留最近 N 个训练状态", "Keep only the last N states"),
    "resume": ("从训练状态接着训练", "Resume from a training state"),
    "stop_on_diverging": ("发现炸炉迹象就停止", "Stop when it starts to diverge"),
    "validation_seed": ("选验证图片的种子", "Validation seed"),
    "validate_every_n_epochs": ("每 N 轮算一次验证 loss", "Validate every N epochs"),
    "validate_every_n_steps": ("每 N 步算一次验证 loss", "Validate every N steps"),
    "max_validation_steps": ("每次验证最多几批", "Max validation batches"),
    "cache_latents_to_disk": ("latent 缓存到硬盘", "Cache latents on disk"),
    "vae_batch_size": ("VAE 编码批量", "VAE batch size"),
    "cache_text_encoder_outputs": ("缓存文本编码器输出", "Cache text-encoder outputs"),
    "no_half_vae": ("VAE 不用半精度", "No half-precision VAE"),
    "full_fp16": ("完全 fp16 训练", "Full fp16 training"),
    "full_bf16": ("完全 bf16 训练", "Full bf16 training"),
    "flip_aug": ("随机左右翻转", "Random horizontal flip"),
    "color_aug": ("随机颜色偏移", "Random colour shift"),
    "random_crop": ("随机裁剪", "Random crop"),
    "multires_noise_iterations": ("多分辨率噪声层数", "Multi-resolution noise levels"),
    "multires_noise_discount": ("多分辨率噪声衰减", "Multi-resolution noise discount"),
    "ip_noise_gamma": ("输入扰动噪声强度", "Input-perturbation noise"),
    "loss_type": ("损失函数", "Loss function"),
    "huber_schedule": ("huber_c 随时间步变化方式", "huber_c schedule"),
    "huber_c": ("huber 参数 c", "Huber c"),
    "zero_terminal_snr": ("零终端信噪比", "Zero terminal SNR"),
    "v_parameterization": ("v 预测（v-parameterization）", "v-prediction"),
    "scale_v_pred_loss_like_noise_pred": ("v 预测损失按噪声预测缩放", "Scale v-prediction loss like noise prediction"),
}

TEXT: dict[str, tuple[str, str]] = {
    # page
    "title": ("丹炉 Danlu · LoRA 训练", "Danlu · LoRA training"),
    "intro": (
        "按教程的顺序填写：**一、路径** → **二、步数** → **三、模型效果** → 预览图，然后点 **开始训练**。"
        "总训练步数 = 图片数量 × repeat × epoch ÷ batch size。训练在后台进行，关掉或刷新网页不会中断，"
        "回来后这里会显示同一个训练。",
        "Fill in the tutorial's sections in order: **1. Paths** → **2. Steps** → **3. Model quality** → "
        "previews, then press **Start training**. Total steps = images × repeat × epochs ÷ batch size. "
        "Training runs in the background: closing or reloading the page does not stop it, and the page "
        "shows the same run when you come back.",
    ),
    "language": ("界面语言 / Language", "Language / 界面语言"),
    "tab_train": ("训练", "Train"),
    "tab_runs": ("历史训练", "Past runs"),
    "tab_config": ("预设与配置文件", "Presets and config files"),
    # The tutorial's section titles are the schema's (trainer/config/schema.py SECTION_TITLES).
    **{f"section_{key}": (titles["zh"], titles["en"]) for key, titles in SECTION_TITLES.items()},
    "section_run": ("训练", "Training"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # field extras
    "output_dir_info": (
        "每次训练写到这个文件夹下的一个新子文件夹（名称 = 模型名-日期时间）：LoRA、预览图、日志都在里面。"
        "要换位置，启动时加 --output-dir 文件夹。",
        "Each run writes to a new subfolder here (name = LoRA name-date-time): the LoRA, previews and logs. "
        "To use another place, start Danlu with --output-dir FOLDER.",
    ),
    "network_args_placeholder": (
        "上面没有的其他参数，每行一个，例如 preset=attn-mlp", "Other entries than those above, one per line, e.g. preset=attn-mlp",
    ),
    "optimizer_args_placeholder": ("每行一个，例如 weight_decay=0.01", "One per line, e.g. weight_decay=0.01"),
    "sample_prompts_placeholder": (
        "例如：aidou, 1girl, smile --n lowres, bad hands --w 512 --h 512 --s 20 --d 42",
        "e.g. aidou, 1girl, smile --n lowres, bad hands --w 512 --h 512 --s 20 --d 42",
    ),
    # model detection
    "model_empty": ("填写底模路径后，这里会显示检测到的模型类型。", "Type a base model path to see its type here."),
    "model_detected": ("检测到底模类型：**{name}**（{layout}）", "Detected base model: **{name}** ({layout})"),
    "model_layout_single_file": ("单个模型文件", "single file"),
    "model_layout_diffusers": ("Diffusers 文件夹", "Diffusers folder"),
    "model_unknown_ckpt": (
        "**.ckpt** 文件要加载后才能知道类型（训练开始时检查）。建议使用 .safetensors。",
        "A **.ckpt** file's type is known only once it is loaded (checked when training starts). "
        ".safetensors is preferred.",
    ),
    "model_not_trainable": ("这个版本还不能训练它：", "This version cannot train it yet: "),
    # dataset check
    "check_dataset": ("检查训练集", "Check the training images"),
    "check_none": ("先填写训练集文件夹。", "Fill in the training images folder first."),
    "check_folder": ("文件夹", "Folder"),
    "check_repeats": ("repeat", "repeat"),
    "check_images": ("图片数", "Images"),
    "check_times": ("图片×repeat", "Images×repeat"),
    "check_captions": ("有标注", "Captioned"),
    "check_trigger": ("含触发词", "Has trigger word"),
    "check_sizes": ("尺寸范围", "Sizes"),
    "check_reg": ("（正则化）", "(regularization)"),
    "check_buckets": ("分桶结果（每轮张数）：{buckets}", "Buckets (items per epoch): {buckets}"),
    "check_top_tags": ("最常见的 tag", "Most frequent tags"),
    "check_ok": ("没有发现问题。", "No problems found."),
    "check_problems": ("需要处理的问题", "Problems to fix"),
    "check_warnings": ("提示", "Notes"),
    "problem_unreadable": ("有图片或标注文件读不出来：{message}", "Some images or captions cannot be read: {message}"),
    "problem_no_captions": (
        "{folder}：{missing} 张图片没有标注文件（{ext}），训练时会只用触发词“{token}”作为标注。"
        "→ 用 WD14 Tagger 等打标工具给每张图片生成同名 {ext} 文件，写上触发词+背景+视角+动作+光影+构图。",
        "{folder}: {missing} image(s) have no caption file ({ext}); they train with only the trigger word "
        "\"{token}\". → Caption every image (e.g. with the WD14 tagger) in a {ext} file of the same name: "
        "trigger word + background + view + action + lighting + composition.",
    ),
    "problem_trigger_missing": (
        "{folder}：{count} 个标注里没有触发词“{token}”。→ 把“{token}”加到这些标注的开头（并在高级设置里把"
        " keep_tokens 设为 1），出图时写这个词才能调出 LoRA。",
        "{folder}: {count} caption(s) do not contain the trigger word \"{token}\". → Put \"{token}\" at the start "
        "of those captions (and set keep_tokens = 1 under Advanced), so the word calls up the LoRA.",
    ),
    "problem_no_token": (
        "{folder}：文件夹名没有触发词部分（应写成 repeat_触发词，例如 10_aidou）。",
        "{folder}: the folder name has no trigger word (name it repeat_trigger, e.g. 10_aidou).",
    ),
    "problem_few_images": (
        "{folder}：只有 {count} 张图片。→ 教程：训练集质量由 image+tag 决定，建议 15 张以上，包含近景/远景/不同角度。",
        "{folder}: only {count} image(s). → Quality comes from images + tags: 15 or more is better, with "
        "close-ups, long shots and different angles.",
    ),
    "problem_small_images": (
        "{folder}：{count} 张图片比训练分辨率 {res} 小，训练时会被放大、变模糊。→ 换更清晰的大图，或降低分辨率。",
        "{folder}: {count} image(s) are smaller than the training resolution {res} and will be upscaled "
        "(blurry). → Use larger, sharper images or lower the resolution.",
    ),
    "problem_dataset_error": ("{message} → {hint}", "{message} → {hint}"),
    # caption editor (ui/sec_captions.py)
    "cap_title": ("标注编辑", "Caption editor"),
    "cap_folder": ("子文件夹", "Subfolder"),
    "cap_reload": ("重新读取", "Read again"),
    "cap_none": (
        "填写训练集文件夹后，在这里选择它的一个「repeat次数_触发词」子文件夹，编辑里面的标注。",
        "Fill in the training images folder, then choose one of its <repeats>_<trigger word> subfolders here "
        "to edit its captions.",
    ),
    "cap_summary": (
        "**{folder}**：{images} 张图片，{captioned} 张有标注，触发词“{token}”。",
        "**{folder}**: {images} images, {captioned} with a caption, trigger word \"{token}\".",
    ),
    "cap_tag_column": ("标签 tag", "Tag"),
    "cap_count_column": ("图片数", "Images"),
    "cap_no_tags": ("这个文件夹里还没有 tag。", "No tags in this folder yet."),
    "cap_more_tags": ("另有 {count} 个 tag 出现得更少，在“标签”列表里都能选到。", "{count} rarer tags are not shown here; "
                      "the Tag list holds them all."),
    "cap_tag": ("标签 tag", "Tag"),
    "cap_tag_info": ("从列表里选，或输入一个新的 tag", "Pick one from the list or type a new one"),
    "cap_new": ("替换为", "Replace with"),
    "cap_add": ("添加到每个标注", "Add to every caption"),
    "cap_remove": ("从每个标注中删除", "Remove from every caption"),
    "cap_replace": ("替换", "Replace"),
    "cap_trigger": ("把触发词移到最前面", "Move the trigger word to the front"),
    "cap_apply": ("应用", "Apply"),
    "cap_undo": ("撤销上一次批量修改", "Undo the last batch change"),
    "cap_what_add": ("添加 tag {tag}", "Add the tag {tag}"),
    "cap_what_remove": ("删除 tag {tag}", "Remove the tag {tag}"),
    "cap_what_replace": ("把 tag {tag} 替换为 {new}", "Replace the tag {tag} with {new}"),
    "cap_what_move_trigger": ("把触发词 {tag} 移到最前面", "Move the trigger word {tag} to the front"),
    "cap_what_set": ("修改 {tag} 的标注", "Change the caption of {tag}"),
    "cap_will_change": (
        "{what}：**将修改 {count} 个文件**。确认后点“应用”。",
        "{what}: **{count} files will change**. Press \"Apply\" to write them.",
    ),
    "cap_no_change": ("{what}：没有文件需要修改。", "{what}: no file needs to change."),
    "cap_more_files": ("……另有 {count} 个文件", "... and {count} more files"),
    "cap_unreadable": ("{count} 个标注文件读不出来，没有包括在内：", "{count} caption files cannot be read and are left out:"),
    "cap_no_plan": (
        "先点上面的一个操作按钮，看清会修改多少个文件，再点“应用”。",
        "First press one of the buttons above to see how many files will change, then press \"Apply\".",
    ),
    "cap_applied": ("{what}：已修改 {count} 个文件。", "{what}: {count} files changed."),
    "cap_changed_since": (
        "这些文件在预览之后被改过，没有修改：{files}",
        "These files changed after the preview and were left alone: {files}",
    ),
    "cap_failed": ("这些文件写不进去：", "These files could not be written:"),
    "cap_undone": ("已撤销：{what}（恢复了 {count} 个文件）。", "Undone: {what} ({count} files put back)."),
    "cap_undo_changed": (
        "这些文件在那次修改之后又被改过，保留了现在的内容，没有恢复：{files}",
        "These files were changed again after that batch and keep what they hold now: {files}",
    ),
    "cap_nothing_to_undo": ("这个文件夹没有可以撤销的批量修改。", "There is no batch change to undo in this folder."),
    "cap_gallery": ("点一张图片，编辑它的标注", "Click an image to edit its caption"),
    "cap_thumbs_limited": (
        "只显示了前 {shown} 张图片的缩略图（共 {total} 张）；其余的在“图片”列表里选。",
        "Thumbnails of the first {shown} of {total} images; choose the others in the Image list.",
    ),
    "cap_image": ("图片", "Image"),
    "cap_caption": ("标注（训练时读第一行）", "Caption (the trainer reads the first line)"),
    "cap_save": ("保存这张图片的标注", "Save this image's caption"),
    "cap_saved": ("已保存 {name} 的标注。", "Saved the caption of {name}."),
    "cap_unchanged": ("{name} 的标注没有变化。", "The caption of {name} did not change."),
    "cap_pick_image": ("先点一张图片。", "Click an image first."),
    # arithmetic
    "steps_need_data": (
        "填写训练集文件夹后，这里会按教程的公式算出总训练步数。",
        "Fill in the training images folder to see the total steps by the tutorial's formula.",
    ),
    "steps_formula": (
        "**教程公式**：图片数量 × repeat × epoch ÷ batch size = {terms} × {epochs} ÷ {batch} = **{tutorial}** 步",
        "**Tutorial's formula**: images × repeat × epochs ÷ batch size = {terms} × {epochs} ÷ {batch} = "
        "**{tutorial}** steps",
    ),
    "steps_exact": (
        "**实际会训练**：{total} 步（每轮 {per_epoch} 步 × {epochs} 轮）",
        "**Will actually run**: {total} steps ({per_epoch} per epoch × {epochs} epochs)",
    ),
    "steps_same": ("两个数相同。", "The two counts agree."),
    "steps_eta": (
        "**预计用时**：约 {eta}（按 {run} 测得的 {speed:.2f} 步/秒）",
        "**Estimated time**: about {eta} (at {speed:.2f} steps/s measured by {run})",
    ),
    "steps_eta_none": ("开始一次训练后，这里会按测得的速度估计用时。", "After a run has measured its speed, the time estimate appears here."),
    "steps_error": ("算不出步数：{message}", "Cannot count the steps: {message}"),
    # effect extras
    "te_half": ("= U-Net 学习率 ÷ 2", "= U-Net rate ÷ 2"),
    "te_tenth": ("= U-Net 学习率 ÷ 10", "= U-Net rate ÷ 10"),
    "te_need_unet": ("先填写 U-Net 学习率（或总学习率）。", "Fill in the U-Net learning rate (or the overall rate) first."),
    "alpha_clamped": (
        "network_alpha 不能超过 network_dim，已改为 {dim}。",
        "network_alpha may not exceed network_dim; set it to {dim}.",
    ),
    "conv_alpha_clamped": (
        "conv_alpha 不能超过 conv_dim，已改为 {dim}。",
        "conv_alpha may not exceed conv_dim; set it to {dim}.",
    ),
    "find_lr": ("用 DAdaptation 寻找学习率", "Find the learning rate (DAdaptation)"),
    "find_lr_info": (
        "教程的方法：DAdaptation 优化器、学习率设为 1、调度器 constant，用你的训练集跑一小段，"
        "学习率曲线上升后保持不变的值就是最优 unet_lr。结果会显示在右侧，并可以一键填入。",
        "The tutorial's method: the DAdaptation optimizer with rates of 1 and a constant scheduler runs "
        "briefly on your images; the value where the learning-rate curve rises and then stays flat is the "
        "best unet_lr. The result appears in the run panel, with a button to fill it in.",
    ),
    "lr_finder_title": ("学习率寻找结果", "Learning-rate finder"),
    "lr_finder_result": (
        "最优 unet_lr ≈ **{unet}**（text_encoder_lr：½ = {half}，⅒ = {tenth}；用 Lion 时 ÷3 = {lion}）",
        "Best unet_lr ≈ **{unet}** (text_encoder_lr: ½ = {half}, ⅒ = {tenth}; with Lion ÷3 = {lion})",
    ),
    "lr_finder_unsettled": (
        "曲线在步数预算内还没有走平，这是目前的值，可以多训练几步再看。",
        "The curve had not levelled off within the step budget; this is the value so far.",
    ),
    "lr_finder_estimate": ("（从 d*lr 曲线估计）", "(estimated from the d*lr curve)"),
    "lr_finder_fill_adamw": ("填入：AdamW8bit", "Fill in: AdamW8bit"),
    "lr_finder_fill_lion": ("填入：Lion（÷3）", "Fill in: Lion (÷3)"),
    "lr_finder_filled": ("已填入学习率 {unet}（{optimizer}）。", "Filled in learning rate {unet} ({optimizer})."),
    "lr_finder_none": ("这个训练没有学习率寻找结果。", "This run has no learning-rate finder result."),
    # run panel
    "start": ("开始训练", "Start training"),
    "stop": ("停止（先保存）", "Stop (saves first)"),
    "save_now": ("立即保存", "Save now"),
    "sample_now": ("立即出预览图", "Preview now"),
    "tensorboard": ("打开 TensorBoard", "Open TensorBoard"),
    "status_label": ("状态", "Status"),
    "log_label": ("日志（最后几十行）", "Log (last lines)"),
    "loss_label": ("loss 曲线（浅色为每步，深色为平滑后，橙色为验证 loss）",
                   "Loss (light: each step, dark: smoothed, orange: validation)"),
    "samples_label": ("预览图（最新在前；多条提示词时每行一轮）", "Preview images (newest first; one row per round with several prompts)"),
    "loras_label": ("保存的 LoRA", "Saved LoRA files"),
    "messages_label": ("错误与提示", "Errors and warnings"),
    "queue_label": ("排队中的训练", "Queued runs"),
    "queue_line": ("排队第 {n} 位：{name}", "Queued #{n}: {name}"),
    "no_run": (
        "还没有训练。填好上面的表格后点“开始训练”。",
        "No run yet. Fill in the form and press \"Start training\".",
    ),
    "run_name": ("训练：{name}", "Run: {name}"),
    "status_queued": ("排队中（前面的训练结束后自动开始）", "Queued (starts when the run before it ends)"),
    "status_starting": ("正在启动（加载模型）…", "Starting (loading the model)…"),
    "status_running": ("训练中", "Training"),
    "status_stopping": ("正在停止：保存当前进度后退出…", "Stopping: saving the current state, then exiting…"),
    "status_done": ("训练完成", "Finished"),
    "status_stopped": ("已停止（已保存）", "Stopped (saved)"),
    "status_failed": ("出错停止", "Failed"),
    "status_cancelled": ("已取消（未开始）", "Cancelled (never started)"),
    "status_lost": ("已中断（训练进程意外结束）", "Interrupted (the trainer process ended unexpectedly)"),
    "status_line": (
        "第 {step}/{total} 步 · 第 {epoch}/{epochs} 轮 · {speed:.2f} 步/秒 · 剩余 {eta}",
        "step {step}/{total} · epoch {epoch}/{epochs} · {speed:.2f} steps/s · {eta} left",
    ),
    "status_loss": ("loss {loss:.4f}（平均 {avg:.4f}）", "loss {loss:.4f} (average {avg:.4f})"),
    "status_plan": (
        "计划 {total} 步（教程公式 {tutorial} 步）{explanation}",
        "Plan: {total} steps (tutorial's formula: {tutorial}) {explanation}",
    ),
    "elapsed": ("已用时 {time}", "Elapsed: {time}"),
    "lora_file": ("文件", "File"),
    "lora_when": ("保存于", "Saved at"),
    "lora_size": ("大小", "Size"),
    "lora_download": ("下载", "Download"),
    "lora_final": ("最终", "final"),
    "lora_epoch": ("第 {epoch} 轮", "epoch {epoch}"),
    "lora_step": ("第 {step} 步", "step {step}"),
    "lora_older": ("更早的 {n} 个文件", "{n} older files"),
    "lora_none": ("还没有保存的 LoRA。", "No LoRA saved yet."),
    "lora_use": (
        "用法：把 .safetensors 放进 WebUI 的 models/Lora（ComfyUI：models/loras），提示词里写 <lora:{name}:0.8> 和触发词。",
        "Use: put the .safetensors in WebUI's models/Lora (ComfyUI: models/loras) and write <lora:{name}:0.8> "
        "and the trigger word in the prompt.",
    ),
    "resume_button": ("从保存的训练状态接着训练", "Continue from the saved training state"),
    "resume_ready": (
        "已把 {name} 的设置载入表格，并把 resume 设为 {state}。可以调整 epoch 等设置，然后点“开始训练”接着训练。",
        "Loaded the settings of {name} with resume = {state}. Adjust epochs if you like, then press "
        "\"Start training\" to continue.",
    ),
    "sample_caption_epoch": ("第 {epoch} 轮", "epoch {epoch}"),
    "sample_caption_step": ("第 {epoch} 轮 {step} 步", "ep {epoch} step {step}"),
    "msg_error": ("错误", "Error"),
    "msg_warning": ("提示", "Warning"),
    "msg_hint": ("怎么办", "What to do"),
    "msg_advice": ("训练建议", "Advice"),
    "msg_no_events": (
        "训练进程在报告任何事情之前就结束了（退出码 {code}）。它最后的输出：",
        "The trainer ended before it reported anything (exit code {code}). Its last output:",
    ),
    "msg_lost": (
        "训练进程意外结束（可能被系统或任务管理器结束了）。已保存的 LoRA 仍在下面列出。",
        "The trainer process ended unexpectedly (perhaps ended by the system or the task manager). "
        "LoRA files saved before are still listed below.",
    ),
    "msg_killed": (
        "训练进程在停止等待时间内没有结束，已被强制结束。已保存的 LoRA 仍在下面列出。",
        "The trainer did not end within the stop grace period and was ended by force. "
        "LoRA files saved before are still listed below.",
    ),
    "started_run": ("已开始：{name}", "Started: {name}"),
    "queued_run": ("前面还有训练在进行，已排队：{name}", "Another run is in progress; queued: {name}"),
    "config_problems": ("配置有问题，请按红字修改后再开始：", "The settings have problems; fix the red notes, then start again:"),
    "nothing_running": ("现在没有正在进行的训练。", "No run is in progress."),
    "request_sent": ("已发送：{what}。训练会在当前这一步结束后执行。", "Sent: {what}. The trainer acts on it after the current step."),
    "cancelled_run": ("已从队列中取消：{name}", "Removed from the queue: {name}"),
    "stop_sent": (
        "已请求停止：训练会保存当前进度后退出（{grace} 秒内没有退出会被强制结束）。",
        "Stop requested: the trainer saves its current state and exits (it is ended by force if it has not "
        "exited within {grace} s).",
    ),
    "tb_started": ("TensorBoard 已启动：", "TensorBoard is running: "),
    "tb_failed": ("TensorBoard 启动失败：{message}", "TensorBoard did not start: {message}"),
    "tb_exited": ("TensorBoard 退出了（退出码 {code}），详见 {console}", "TensorBoard exited with code {code}; see {console}"),
    "tb_no_answer": (
        "TensorBoard 在 {seconds} 秒内没有响应，详见 {console}",
        "TensorBoard did not answer within {seconds} s; see {console}",
    ),
    "tb_no_logs": ("这个训练还没有 TensorBoard 日志（logs 文件夹）。", "This run has no TensorBoard logs (logs folder) yet."),
    "tb_remote": (
        "（TensorBoard 只在本机 127.0.0.1 上打开，远程访问时看不到。）",
        "(TensorBoard listens on 127.0.0.1 only; it cannot be opened from another computer.)",
    ),
    # tool jobs: tagging and model downloads (ui/tools.py, ui/sec_tools.py)
    "tool_status_queued": ("排队中", "Queued"),
    "tool_status_running": ("进行中", "Running"),
    "tool_status_stopping": ("正在停止", "Stopping"),
    "tool_status_done": ("完成", "Done"),
    "tool_status_stopped": ("已停止", "Stopped"),
    "tool_status_failed": ("出错停止", "Failed"),
    "tool_status_cancelled": ("已取消", "Cancelled"),
    "tool_status_lost": ("已中断（进程意外结束）", "Interrupted (the process ended unexpectedly)"),
    "tool_download_line": ("下载 {file}：{done} / {total}", "Downloading {file}: {done} / {total}"),
    "tool_speed_eta": ("{speed}，还要约 {eta}", "{speed}, about {eta} left"),
    "tool_tag_line": ("已打标 {done} / {total} 张", "Tagged {done} of {total} images"),
    "tool_tag_speed": ("{speed:.1f} 张/秒，还要约 {eta}", "{speed:.1f} images/s, about {eta} left"),
    "tool_warnings": ("{count} 条提示（最近几条）：", "{count} notes (the latest):"),
    "tool_tag_counts": (
        "新写 {written}，追加 {appended}，没变 {unchanged}，保留原标注 {kept}，失败 {failed}",
        "written {written}, appended {appended}, unchanged {unchanged}, kept as they were {kept}, failed {failed}",
    ),
    "tool_no_events": ("进程在报告任何事情之前就结束了（退出码 {code}）。", "The process ended before it reported anything (exit code {code})."),
    "tag_title": ("自动打标（WD14）", "Auto-tagging (WD14)"),
    "tag_info": (
        "用 WD14 打标模型给训练集里每张图片写标注（同名 .txt），触发词放在最前面（默认用文件夹名 N_名称 的“名称”）。"
        "模型第一次使用时会通过所选镜像下载到 models/ 文件夹；把模型文件手动复制到同样的位置也可以离线使用。",
        "Write a caption (a .txt of the same name) for every image of the training folder with a WD14 tagger, the "
        "trigger word first (by default the name part of each N_name folder). The model is downloaded into models/ "
        "through the chosen mirror the first time; files copied there by hand work offline too.",
    ),
    "tag_model": ("打标模型", "Tagger model"),
    "tag_mode": ("已有标注时", "When a caption exists"),
    "tag_mode_skip": ("跳过（不改）", "Skip (leave it)"),
    "tag_mode_append": ("追加缺少的 tag", "Append missing tags"),
    "tag_mode_overwrite": ("覆盖（保留备份）", "Overwrite (keep a backup)"),
    "tag_threshold": ("普通 tag 阈值", "General tag threshold"),
    "tag_character_threshold": ("角色 tag 阈值", "Character tag threshold"),
    "tag_trigger": ("触发词（可选）", "Trigger word (optional)"),
    "tag_trigger_info": ("留空则用文件夹名 N_名称 的“名称”", "Empty: the name part of each N_name folder"),
    "tag_exclude": ("不要的 tag（逗号分隔）", "Tags to leave out (comma-separated)"),
    "tag_start": ("开始打标", "Start tagging"),
    "tag_need_folder": ("先填写存在的训练集文件夹。", "Fill in an existing training images folder first."),
    "tag_started": ("已开始打标：{folder}", "Tagging started: {folder}"),
    "models_title": ("下载底模（通过所选镜像）", "Download a base model (through the chosen mirror)"),
    "models_info": (
        "通过 update_mirror 选好的镜像下载常用底模，校验 sha256 后放进 models/ 文件夹，断线会接着下载。"
        "下载完成后点“用作训练底模”。也可以把文件手动复制到 models/仓库作者/仓库名/ 下离线使用。",
        "Download a well-known base model through the mirror chosen with update_mirror; it is checked against its "
        "sha256 and put into models/, and a broken connection continues where it stopped. When it is done, press "
        "\"Use as base model\". Files copied by hand into models/owner/repo/ work offline too.",
    ),
    "models_base": ("底模", "Base model"),
    "models_download": ("下载", "Download"),
    "models_use": ("用作训练底模", "Use as base model"),
    "models_started": ("已开始下载：{name}", "Download started: {name}"),
    "models_none": ("models/ 里还没有模型。", "No models in models/ yet."),
    "models_repo": ("仓库", "Repository"),
    "models_files": ("文件", "Files"),
    "models_size": ("大小", "Size"),
    # epoch comparison (ui/sec_compare.py, python -m trainer.compare)
    "compare_title": ("对比各轮效果（X/Y 图）", "Compare the epochs (X/Y grid)"),
    "compare_info": (
        "用同一个种子，把每个保存的 LoRA（每一轮）在不同提示词和强度下各画一张，排成一张图：行是各轮，列是提示词 × 强度，"
        "强度 0 就是底模本身，作为对照。学过头时高强度下会出现过拟合的痕迹，没学到时和强度 0 差别很小。"
        "对比在训练队列里运行。",
        "One image for each saved LoRA (each epoch) at each prompt and strength, all with the same seed, in one "
        "grid: rows are epochs, columns prompt × strength; strength 0 is the base model itself, for reference. An "
        "over-trained epoch shows it at high strength; an under-trained one hardly differs from strength 0. The "
        "comparison runs in the training queue.",
    ),
    "compare_files": ("要对比的文件（不选 = 全部）", "Files to compare (none chosen = all)"),
    "compare_prompts": ("提示词（每行一个，留空 = 这次训练的预览提示词）", "Prompts (one per line; empty: the run's preview prompts)"),
    "compare_prompts_info": ("例如：aidou, 1girl, smile --n lowres", "e.g. aidou, 1girl, smile --n lowres"),
    "compare_strengths": ("强度（逗号分隔）", "Strengths (comma-separated)"),
    "compare_start": ("开始对比", "Start the comparison"),
    "compare_stop": ("停止对比", "Stop the comparison"),
    "compare_grid": ("对比图", "Comparison grid"),
    "compare_cells": ("每一格（点击放大）", "Each cell (click to enlarge)"),
    "compare_pick": ("选中的文件", "The chosen file"),
    "compare_pick_name": ("保存为（可选）", "Save as (optional)"),
    "compare_pick_name_info": ("留空 = 模型名-best", "Empty: <LoRA name>-best"),
    "compare_keep": ("保留为最佳", "Keep as the pick"),
    "compare_bad_strengths": ("强度要写成用逗号分隔的数字，例如 0, 0.6, 1：{text}", "Strengths must be numbers separated by commas, e.g. 0, 0.6, 1: {text}"),
    "compare_started": ("已加入队列：对比 {name}", "Queued: the comparison of {name}"),
    "compare_stopping": ("已请求停止对比：画好的格子会保留。", "Stop requested: the cells drawn so far are kept."),
    "compare_pick_none": ("先选一个要保留的文件。", "Choose a file to keep first."),
    "compare_pick_failed": ("保存不了 {name}：名称只能用字母、数字、中文、-、_。", "Cannot save {name}: use letters, digits, Chinese, - and _ in the name."),
    "compare_kept": ("已保存：{name}（含原文件的元数据）", "Saved: {name} (with the file's metadata)"),
    "compare_final": ("最终", "final"),
    "compare_epoch": ("第 {epoch} 轮", "epoch {epoch}"),
    "compare_cell": ("{row} · 提示词 {prompt} · 强度 {strength}", "{row} · prompt {prompt} · strength {strength}"),
    "compare_progress": ("已画 {done} / {total} 格", "Drawn {done} of {total} cells"),
    "compare_none": ("这次训练还没有对比图。", "This run has no comparison yet."),
    "compare_summary": (
        "{rows} 个文件 × {prompts} 个提示词 × 强度 {strengths}，种子 {seed}",
        "{rows} files × {prompts} prompts × strengths {strengths}, seed {seed}",
    ),
    "compare_partial": ("（中途停止，只画了一部分）", "(stopped early: only part of it was drawn)"),
    # runs tab
    "runs_refresh": ("刷新列表", "Refresh"),
    "runs_table_name": ("训练", "Run"),
    "runs_table_status": ("状态", "Status"),
    "runs_table_created": ("开始时间", "Started"),
    "runs_table_steps": ("步数", "Steps"),
    "runs_table_loss": ("最后 loss", "Last loss"),
    "runs_table_loras": ("LoRA 文件", "LoRA files"),
    "runs_pick": ("选择一个训练", "Choose a run"),
    "runs_open": ("在训练面板中查看", "Show in the run panel"),
    "runs_load_config": ("把它的配置载入表格", "Load its settings into the form"),
    "runs_compare": ("对比 loss 曲线（可多选）", "Compare loss curves (choose several)"),
    "runs_compare_chart": ("平滑后的 loss", "Smoothed loss"),
    "runs_opened": ("训练面板现在显示：{name}", "The run panel now shows: {name}"),
    "runs_none": ("还没有训练记录。", "No runs yet."),
    "config_loaded": ("已载入配置：{source}", "Loaded the settings of {source}"),
    "config_loaded_notes": ("读取时的说明：", "Notes from reading it:"),
    "config_load_problems": (
        "已载入能读懂的部分；下面这些需要修改：",
        "Loaded what could be read; these need changing:",
    ),
    "config_output_dir_kept": (
        "output_dir 没有改：训练总是写到本页的输出文件夹（{root}）。",
        "output_dir was not changed: runs always write into this page's output folder ({root}).",
    ),
    # presets and config files
    "preset_label": ("预设", "Preset"),
    "preset_apply": ("套用预设", "Apply preset"),
    "preset_info": (
        "套用后保留你填的路径、模型名和预览提示词，其它设置改为预设值。",
        "Applying keeps your paths, LoRA name and preview prompts; everything else takes the preset's values.",
    ),
    "preset_applied": ("已套用预设：{name}", "Applied preset: {name}"),
    "preset_save_name": ("保存为预设，名称", "Save as a preset named"),
    "preset_save": ("保存当前表格为预设", "Save the form as a preset"),
    "preset_saved": ("已保存预设：{path}", "Saved preset: {path}"),
    "preset_bad_name": (
        "预设名称只能用字母、数字、中文、-、_，且不能和自带的预设重名。",
        "A preset name may use letters, digits, Chinese, - and _, and may not replace a shipped preset.",
    ),
    "toml_upload": ("载入配置文件（kohya / lora-scripts 的 .toml）", "Load a config file (kohya / lora-scripts .toml)"),
    "toml_preview": ("开始训练时会写入的 config.toml", "The config.toml Start will write"),
    "toml_refresh": ("生成预览", "Show it"),
    "toml_invalid": ("表格里还有问题，暂时生成不了 TOML：", "The form still has problems, so no TOML yet:"),
    "toml_read_error": ("读不了这个文件：{message}", "Cannot read this file: {message}"),
    "config_files": ("配置文件", "Config files"),
    # app / security
    "listen_refused": (
        "拒绝启动：--listen 会让局域网里的其他电脑也能打开这个页面并开始训练、读取文件，必须同时设置密码。\n"
        "请加上 --auth 用户名:密码（或只写 --auth 用户名，由丹炉生成密码并显示出来）。",
        "Refusing to start: --listen lets other computers on the network open this page, start training "
        "and read its files, so it needs a password.\nAdd --auth user:password (or --auth user to have "
        "Danlu generate a password and print it).",
    ),
    "generated_password": ("已生成登录密码：用户名 {user}  密码 {password}", "Generated login: user {user}  password {password}"),
    "running_at": ("丹炉已启动：{url}", "Danlu is running at {url}"),
    "output_root": ("训练输出文件夹：{root}", "Training output folder: {root}"),
}


def t(key: str, lang: str, **values: object) -> str:
    """A page text in `lang`; values that are trainer messages are rendered in `lang` too."""
    zh, en = TEXT[key]
    text = zh if normalise_lang(lang) == "zh" else en
    return text.format(**{k: text_of(v, lang) for k, v in values.items()}) if values else text


def text_of(value: Any, lang: str) -> Any:
    """A trainer message (trainer/messages.Msg) in `lang`; anything else as it is."""
    return render(value, lang) if isinstance(value, Msg) else value


def both(render_in: Callable[[str], str]) -> str:
    """Markdown holding the text in both languages, each in a block the page's CSS shows only
    while that language is chosen (ui/page.py, LANGUAGE_CSS). For the one-off answers (a notice,
    a field's problems, the data-set report): switching the language shows them in the new
    one at once, without asking the server again."""
    return "\n\n".join(f"<div class='l-{lang}'>\n\n{render_in(lang)}\n\n</div>" for lang in LANGS)


def only(text: str, lang: str) -> str:
    """The `lang` block of a both() text (what a person sees with that language chosen)."""
    match = re.search(rf"<div class='l-{lang}'>\n\n(.*?)\n\n</div>", text, re.S)
    return match.group(1) if match else text


def say(key: str, **values: object) -> str:
    """both() of one page text."""
    return both(lambda lang: t(key, lang, **values))


# The network_args entries the form shows as fields (ui/formmap.py network_arg_specs), by entry key.
NETWORK_ARG_LABELS: dict[str, tuple[str, str]] = {
    "algo": ("LyCORIS 算法", "LyCORIS algorithm"),
    "conv_dim": ("卷积层维度", "Conv dim"),
    "conv_alpha": ("卷积层 alpha", "Conv alpha"),
    "factor": ("LoKr 分解因子", "LoKr factor"),
    "dora_wd": ("DoRA 权重分解", "DoRA (weight decomposition)"),
    "loraplus_lr_ratio": ("LoRA+ 学习率倍数", "LoRA+ ratio"),
}


def network_arg_label(key: str, lang: str) -> str:
    """Short label plus the entry as network_args writes it (conv_dim=…)."""
    pair = NETWORK_ARG_LABELS.get(key, (key, key))
    short = pair[0] if normalise_lang(lang) == "zh" else pair[1]
    return f"{short} · network_args: {key}="


def field_label(name: str, lang: str) -> str:
    """Short label plus the config key (the name lora-scripts and kohya_ss files use)."""
    pair = FIELD_LABELS.get(name)
    if pair is None:
        return name
    short = pair[0] if normalise_lang(lang) == "zh" else pair[1]
    return short if short == name else f"{short} · {name}"
