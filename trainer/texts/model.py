"""Messages of model (see trainer/texts/__init__.py): base models, LoRA files, training state,
preview prompts, optimizers, disk space, settings.json, 炸炉 warnings and fitting advice."""
from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    # ---- base model: detection (trainer/model_detect.py) -------------------------------
    "model.not_safetensors": (
        "无法把 {path} 当作 .safetensors 文件读取：{detail}",
        "Cannot read {path} as a .safetensors file: {detail}"),
    "model.header_too_short": (
        "文件比 safetensors 的文件头还短",
        "the file is shorter than a safetensors header"),
    "model.header_implausible": (
        "文件头的长度不合理",
        "the header length is implausible"),
    "model.hint_download_again": (
        "文件可能没有下载完整，或者根本不是模型文件。请重新下载。",
        "The download may be incomplete or the file is not a model. Download it again."),
    "model.the_base_model": ("底模", "The base model"),
    "model.no_unet": (
        "{name} 里没有 U-Net 权重（model.diffusion_model.*）：{what}",
        "{name} has no U-Net weights (model.diffusion_model.*): {what}"),
    "model.looks_like_lora": (
        "它看起来是一个 LoRA，不是底模。",
        "it looks like a LoRA, not a base model."),
    "model.looks_like_vae": (
        "它看起来是一个 VAE，不是底模（VAE 请填在 vae 一栏）。",
        "it looks like a VAE, not a base model (put it in the vae field)."),
    "model.looks_like_diffusers_file": (
        "它看起来是存成单个文件的 diffusers 格式权重，丹炉无法加载；请改用 diffusers 模型文件夹。",
        "it looks like a diffusers-layout state dict in one file, which Danlu cannot load; use the diffusers folder."),
    "model.not_a_checkpoint": (
        "它看起来不是 Stable Diffusion 的模型文件。",
        "it does not look like a Stable Diffusion checkpoint."),
    "model.hint_full_model": (
        "请选择完整的底模，例如 v1-5-pruned-emaonly.safetensors，或一个 diffusers 模型文件夹。",
        "Choose a full base model such as v1-5-pruned-emaonly.safetensors or a diffusers folder."),
    "model.no_text_encoder": (
        "{name} 里有 U-Net，但没有丹炉认识的文本编码器（text encoder）。",
        "{name} has a U-Net but no text encoder Danlu recognises."),
    "model.hint_complete_checkpoint": (
        "请使用完整的 SD1.5 或 SDXL 模型文件（pruned 版本也包含文本编码器）。",
        "Use a complete SD1.5 or SDXL checkpoint (pruned files still contain the text encoder)."),
    "model.unreadable_file": (
        "无法读取 {path}：{detail}",
        "Cannot read {path}: {detail}"),
    "model.hint_copy_folder_again": (
        "diffusers 模型文件夹不完整，请把整个文件夹重新复制一遍。",
        "The diffusers folder is incomplete; copy the whole folder again."),
    "model.folder_not_diffusers": (
        "{folder} 是一个文件夹，但里面没有 model_index.json，所以不是 diffusers 模型文件夹。",
        "{folder} is a folder without model_index.json, so it is not a diffusers model folder."),
    "model.hint_file_or_diffusers_folder": (
        "请选择 .safetensors 模型文件本身，或者包含 model_index.json 的那个文件夹。",
        "Choose the .safetensors file itself, or the folder that contains model_index.json."),
    "model.not_found": (
        "找不到底模：{path}",
        "Base model not found: {path}"),
    "model.hint_check_path": (
        "请检查 pretrained_model_name_or_path 里的路径（一、路径相关 → 训练底模）。",
        "Check the path in pretrained_model_name_or_path (1. Paths → Base model)."),
    "model.unknown_file_type": (
        "{name}：不认识的模型文件类型“{suffix}”。",
        "{name}: unknown model file type '{suffix}'."),
    "model.hint_file_types": (
        "请使用 .safetensors（推荐）或 .ckpt 文件，或者 diffusers 模型文件夹。",
        "Use a .safetensors (preferred) or .ckpt file, or a diffusers folder."),
    "model.refiner": (
        "{name} 是 SDXL 的 refiner（精修模型），它没有可以单独训练的 LoRA。",
        "{name} is the SDXL refiner, which has no LoRA of its own to train."),
    "model.hint_sdxl_base": (
        "请选择 SDXL 基础模型（sd_xl_base_1.0.safetensors）或基于 SDXL 的微调模型。",
        "Choose the SDXL base model (sd_xl_base_1.0.safetensors) or an SDXL fine-tune."),
    "model.sd2_not_supported": (
        "{name} 是 SD2.x 模型，丹炉暂时还不能训练它。",
        "{name} is an SD2.x model, which Danlu does not train yet."),
    "model.hint_sd15_or_sdxl": (
        "请选择基于 SD1.5 或 SDXL 的底模。",
        "Choose a base model based on SD1.5 or SDXL."),
    "model.inpainting": (
        "{name} 是局部重绘（inpainting）模型（{channels} 个输入通道）。LoRA 要在普通版模型上训练，"
        "训练好之后也能配合它的 inpainting 版本使用。",
        "{name} is an inpainting model ({channels} input channels); LoRAs are trained on the ordinary model "
        "and then work with its inpainting variant too."),
    "model.hint_not_inpainting": (
        "请选择这个模型的普通版（非 inpainting 版）。",
        "Choose the non-inpainting version of this model."),
    "model.train_type_mismatch": (
        "model_train_type 设的是“{given}”，但 {name} 是 {family} 模型（{train_type}）。",
        "model_train_type is '{given}', but {name} is an {family} model ({train_type})."),
    "model.hint_train_type": (
        "请设置 model_train_type = \"{train_type}\"，或者换成你想训练的那种底模。",
        "Set model_train_type = \"{train_type}\", or choose a base model of the type you meant."),
    # ---- base model: loading (trainer/model_loading.py) --------------------------------
    "model.unsafe_pickle": (
        "{name} 无法安全加载：{detail}",
        "{name} could not be loaded safely: {detail}"),
    "model.hint_use_safetensors": (
        "这个 .ckpt 要执行其中的代码才能加载，丹炉拒绝这样做（它可能运行任何程序）。请改用这个模型的 .safetensors 版本。",
        "This .ckpt needs code execution to load, which Danlu refuses (it could run anything). "
        "Use a .safetensors version of the model."),
    "model.no_state_dict": (
        "{name} 里没有模型权重（state dict）。",
        "{name} does not contain a state dict."),
    "model.unet_layout_unknown": (
        "U-Net 的输入层结构不是丹炉认识的格式。",
        "The U-Net's input blocks are not in the layout Danlu knows."),
    "model.vae_layout_unknown": (
        "VAE 权重的结构不是丹炉认识的格式。",
        "The VAE weights are not in the layout Danlu knows."),
    "model.hint_vae": (
        "请在 vae 一栏换一个 SD 的 VAE 文件（例如 vae-ft-mse-840000-ema-pruned.safetensors）。",
        "Choose an SD VAE file in the vae field (for example vae-ft-mse-840000-ema-pruned.safetensors)."),
    "model.not_a_vae": (
        "{name} 不是 VAE 文件（里面没有 encoder.conv_in.weight）。",
        "{name} is not a VAE file (no encoder.conv_in.weight)."),
    "model.part_unet": ("U-Net", "U-Net"),
    "model.part_vae": ("VAE", "VAE"),
    "model.part_text_encoder": ("文本编码器", "text encoder"),
    "model.part_text_encoder_2": ("第二个文本编码器", "second text encoder"),
    "model.weights_incomplete": (
        "模型文件里的{part}权重不完整：缺少 {count} 个张量（前几个：{first}）。",
        "The {part} weights in the checkpoint are incomplete: {count} tensors missing (first: {first})."),
    "model.hint_damaged": (
        "文件可能已损坏，或者是另一种模型结构。请重新下载。",
        "The file may be damaged or a different architecture. Download it again."),
    "model.weights_do_not_fit": (
        "{name} 看起来是 {family}，但它的权重和这种结构对不上：{detail}",
        "{name} looks like {family} but its weights do not fit that architecture: {detail}"),
    "model.hint_damaged_or_unknown": (
        "文件可能已损坏，或者是丹炉不认识的模型种类。请重新下载，或者换一个 SD1.5 / SDXL 底模。",
        "The file may be damaged or a kind of model Danlu does not know. Download it again, "
        "or choose another SD1.5 or SDXL base model."),
    "model.diffusers_load_failed": (
        "diffusers 模型文件夹 {folder} 加载失败：{detail}",
        "The diffusers folder {folder} could not be loaded: {detail}"),
    "model.hint_diffusers_parts": (
        "文件夹里要有 unet/、vae/ 和 text_encoder/ 以及它们的权重文件；请把整个文件夹重新复制一遍。",
        "It needs unet/, vae/ and text_encoder/ with their weights; copy the whole folder again."),
    "model.sdxl_ignores_clip_skip": (
        "clip_skip = {clip_skip} 对 SDXL 底模不起作用：SDXL 总是用文本编码器的倒数第二层（sd-scripts 也忽略它），"
        "训练照常进行。",
        "clip_skip = {clip_skip} has no effect on an SDXL base model: SDXL always uses the text encoders' "
        "penultimate layer (sd-scripts ignores it too); training goes on."),
    # ---- LoRA files (trainer/lora.py) ---------------------------------------------------
    "lora.no_target_layers": (
        "底模里没有一层能对上 LoRA 要训练的层，这不是丹炉认识的模型结构。",
        "No layer of the model matched the LoRA targets; the architecture is not one Danlu knows."),
    "lora.rank_mismatch": (
        "network_weights 的 LoRA 在 {layer} 这一层的维度（rank）是 {file_rank}，但 network_dim 设的是 {dim}。",
        "network_weights has rank {file_rank} at {layer}, but network_dim is {dim}."),
    "lora.hint_set_dim": (
        "要接着这个 LoRA 训练，请设置 network_dim = {file_rank}。",
        "Set network_dim = {file_rank} to continue from this LoRA."),
    "lora.conv_rank_mismatch": (
        "network_weights 的 LoRA 在卷积层 {layer} 的维度（rank）是 {file_rank}，但 network_args 的 conv_dim 是 {dim}。",
        "network_weights has rank {file_rank} at the conv layer {layer}, but conv_dim in network_args is {dim}."),
    "lora.hint_set_conv_dim": (
        "要接着这个 LoRA 训练，请在 network_args 里写 conv_dim={file_rank}。",
        "Write conv_dim={file_rank} in network_args to continue from this LoRA."),
    "lora.hint_file_has_conv": (
        "这个文件也训练了卷积层（LoCon）：请在 network_args 里写上它的 conv_dim 和 conv_alpha，或者清空 network_weights。",
        "The file trains the conv layers too (LoCon): write its conv_dim and conv_alpha in network_args, "
        "or leave network_weights empty."),
    "lora.other_network": (
        "network_weights 的 {layer} 这一层与现在的网络设置不同（文件里是 {found}，现在要训练的是 {expected}）。",
        "network_weights has {layer} in another form ({found} in the file; this run trains {expected})."),
    "lora.hint_same_network": (
        "把 network_module 和 network_args（algo、conv_dim、factor、dora_wd 等）设成训练这个文件时的值，"
        "或者清空 network_weights。",
        "Set network_module and network_args (algo, conv_dim, factor, dora_wd ...) as they were when the file "
        "was trained, or leave network_weights empty."),
    "lora.lycoris_missing": (
        "network_module = \"lycoris.kohya\" 需要 LyCORIS 库（lycoris-lora），但它没有安装：{detail}",
        "network_module = \"lycoris.kohya\" needs the LyCORIS library (lycoris-lora), which is not installed: {detail}"),
    "lora.hint_install_lycoris": (
        "重新运行 start.bat / start.sh，它会按 requirements.txt 安装 lycoris-lora。",
        "Run start.bat / start.sh again: it installs lycoris-lora from requirements.txt."),
    "lora.unknown_layers": (
        "network_weights 里有 {count} 层是这个底模没有的（第一个：{first}）。",
        "network_weights has {count} layers this model does not have (first: {first})."),
    "lora.hint_other_base": (
        "这个 LoRA 是给另一种底模（SDXL 或 SD2？）或另一种网络模块训练的。请换一个用当前这种底模训练的 LoRA，"
        "或者清空 network_weights。",
        "The LoRA was trained for another kind of base model (SDXL or SD2?) or another network module. "
        "Choose a LoRA trained on this kind of base model, or leave network_weights empty."),
    "lora.no_layers": (
        "network_weights 里没有 kohya 格式的 LoRA 层。",
        "network_weights contains no kohya LoRA layers."),
    "lora.hint_kohya_file": (
        "请选择丹炉、kohya 的 sd-scripts 或 lora-scripts 训练出的 LoRA 文件（.safetensors），或者清空 network_weights。",
        "Choose a LoRA .safetensors trained by Danlu, kohya's sd-scripts or lora-scripts, "
        "or leave network_weights empty."),
    "lora.non_finite_weights": (  # a detail: "没有保存 {name}：{detail}。" (run.not_saving_bad_weights)
        "LoRA 在 {layer} 这一层的权重变成了 NaN 或无穷大",
        "the LoRA weights at {layer} became NaN or infinite"),
    # ---- training state (trainer/state.py) ----------------------------------------------
    "state.incomplete": (
        "resume = {folder}：不是完整的丹炉训练状态（{detail}）。",
        "resume = {folder}: not a complete Danlu training state ({detail})."),
    "state.hint_choose_state": (
        "请选择名字以 -state 结尾的文件夹，它是训练停止或保存时写下的。",
        "Choose a folder whose name ends in -state, written by a stopped or saved run."),
    "state.other_settings": (
        "resume = {name} 是用另一套设置训练时保存的（当时 → 现在：{changes}）。",
        "resume = {name} was saved by a run with other settings (then → now: {changes})."),
    "state.hint_same_config": (
        "请用那次训练的配置（output/<训练名>/config.toml）接着训练，或者去掉 resume，开始一次新的训练。",
        "Resume with the config of that run (output/<run>/config.toml), or start a new run without resume."),
    "state.what_training_state": ("训练状态 {name}", "the training state {name}"),
    # ---- disk space (trainer/safe_write.py) ---------------------------------------------
    "disk.not_enough_space": (
        "磁盘空间不足，无法保存 {what}：需要 {needed_mb:.1f} MB（另外要留出 {margin_mb} MB），"
        "{folder} 所在的磁盘只剩 {free_mb:.1f} MB。",
        "Not enough disk space to save {what}: {needed_mb:.1f} MB needed (plus {margin_mb} MB to spare), "
        "{free_mb:.1f} MB free in {folder}."),
    "disk.not_enough_space_kept": (
        "磁盘空间不足，无法保存 {what}：需要 {needed_mb:.1f} MB（另外要留出 {margin_mb} MB），"
        "{folder} 所在的磁盘只剩 {free_mb:.1f} MB。上一个完好的文件 {keep} 保留着。",
        "Not enough disk space to save {what}: {needed_mb:.1f} MB needed (plus {margin_mb} MB to spare), "
        "{free_mb:.1f} MB free in {folder}. The last good file, {keep}, is kept."),
    "disk.hint_free_space": (
        "请清理那个磁盘（例如 output/ 里的旧训练、缓存），或者把 output_dir 改到另一个磁盘，"
        "然后从最后保存的训练状态接着训练（resume）。",
        "Free up space on that drive (old runs in output/, caches), or set output_dir to another drive, "
        "then resume from the last saved state."),
    # ---- preview prompts (trainer/prompts.py) -------------------------------------------
    "prompts.not_a_number": (
        "预览图提示词的参数 --{flag} 的值是“{value}”，不是数字：{line}",
        "Preview prompt option --{flag} has the value '{value}', which is not a number: {line}"),
    "prompts.hint_options": (
        "参数后面要写数字，例如 --w 512 --h 512 --d 42 --l 7.5 --s 20。",
        "Write numbers after the options, for example --w 512 --h 512 --d 42 --l 7.5 --s 20."),
    "prompts.bad_json": (
        "{path} 不是有效的 JSON：{detail}",
        "{path} is not valid JSON: {detail}"),
    "prompts.bad_json_item": (
        "{path} 里的提示词写法不对：{detail}",
        "{path} does not hold the prompts in the expected form: {detail}"),
    "prompts.hint_json": (
        "请修正 JSON（一个列表，每项是一个对象，例如 [{{\"prompt\": \"1girl\", \"width\": 512}}]），"
        "或者改用 .txt 文件，每行一条提示词。",
        "Fix the JSON (a list of objects such as [{{\"prompt\": \"1girl\", \"width\": 512}}]), "
        "or write the prompts one per line in a .txt file."),
    "prompts.toml_not_supported": (
        "{name}：暂时还不支持 TOML 格式的提示词文件。",
        "{name}: TOML prompt files are not supported yet."),
    "prompts.hint_txt": (
        "请把提示词写进 .txt 文件，每行一条（kohya 的格式）。",
        "Write the prompts one per line in a .txt file (kohya's format)."),
    "prompts.file_not_found": (
        "找不到预览图提示词文件：{path}",
        "Preview prompt file not found: {path}"),
    "prompts.hint_check_path": (
        "请检查 sample_prompts 里的路径，或者直接把提示词写在 sample_prompts 里，每行一条。",
        "Check the path in sample_prompts, or write the prompts themselves into sample_prompts, one per line."),
    # ---- optimizers (trainer/optimizers.py) ---------------------------------------------
    "optimizer.arg_not_key_value": (
        "optimizer_args 里的“{item}”不是 key=value 的写法。",
        "optimizer_args entry '{item}' is not key=value."),
    "optimizer.hint_key_value": (
        "每一项写成 key=value，例如 weight_decay=0.01 或 betas=(0.9,0.999)。",
        "Write each entry as key=value, for example weight_decay=0.01 or betas=(0.9,0.999)."),
    "optimizer.cannot_import": (
        "optimizer_type = '{name}' 无法导入：{detail}",
        "optimizer_type = '{name}' cannot be imported: {detail}"),
    "optimizer.hint_class_path": (
        "请检查模块名和类名，或者改用 kohya 的优化器名称，例如 {names}。",
        "Check the module and class name, or use one of kohya's optimizer names such as {names}."),
    "optimizer.not_supported": (
        "暂时还不支持优化器 optimizer_type = '{name}'。",
        "optimizer_type '{name}' is not supported yet."),
    "optimizer.hint_supported": (
        "请换一个支持的优化器，例如 {names}。",
        "Choose a supported optimizer, for example {names}."),
    "optimizer.args_do_not_fit": (
        "optimizer_args 和优化器 {name} 对不上：{detail}",
        "optimizer_args do not fit {name}: {detail}"),
    "optimizer.hint_args": (
        "请按这个优化器的参数名修改 optimizer_args，或者清空它，使用默认值。",
        "Change optimizer_args to the parameter names this optimizer takes, or leave it empty for the defaults."),
    "optimizer.adaptive_lr_not_1": (
        "{name} 会自己调整步长，学习率应该设为 1（教程里 unet_lr = text_encoder_lr = 1），现在是 {lrs}。"
        "请把 unet_lr 和 text_encoder_lr 都设为 1。",
        "{name} adapts its own step size and expects learning rates of 1 (the tutorial sets "
        "unet_lr = text_encoder_lr = 1); these are {lrs}. Set unet_lr and text_encoder_lr to 1."),
    "optimizer.adaptive_scheduler": (
        "{name} 搭配了 {scheduler} 学习率调度器。教程用 constant，免得自适应出来的学习率又被调度器压低一次："
        "请设置 lr_scheduler = \"constant\"。",
        "{name} with the {scheduler} scheduler: the tutorial uses constant, so the adapted rate is not pulled "
        "down a second time. Set lr_scheduler = \"constant\"."),
    "optimizer.lion_lr_high": (
        "Lion 的学习率是 {lr:g}，这是 AdamW 的大小。Lion 每一步走得更大，所以教程把学习率除以 3"
        "（大家一般用比 AdamW 小 3～10 倍的学习率），例如改成 {suggested:g}。",
        "Lion with a learning rate of {lr:g}, an AdamW-sized rate: Lion takes larger steps, so the tutorial "
        "divides the rate by 3 (peers use 3-10x smaller than AdamW), for example {suggested:g}."),
    "optimizer.adafactor_scheduler": (
        "AdaFactor 会自己决定步长，请搭配 lr_scheduler = \"adafactor\" 使用（kohya 也是这样）。",
        "AdaFactor picks its own step size; use lr_scheduler = \"adafactor\" with it (kohya does)."),
    # ---- settings.json (trainer/settings.py; its English is repeated there as a fallback) --
    "settings.bad_json": (
        "{path} 不是有效的 JSON（{detail}）。请修正它，或者删掉它，再运行 "
        "update_mirror.py --profile official（或某个镜像配置）重新生成。",
        "{path} is not valid JSON ({detail}). Fix it, or delete it and run "
        "update_mirror.py --profile official (or a mirror profile) to write a new one."),
    "settings.not_object": (
        "{path} 的内容必须是一个 JSON 对象 {{...}}，而不是 {kind}。请修正它，或者删掉它，再运行 "
        "update_mirror.py --profile official（或某个镜像配置）重新生成。",
        "{path} must hold a JSON object {{...}}, not {kind}. Fix it, or delete it and run "
        "update_mirror.py --profile official (or a mirror profile) to write a new one."),
    # ---- 炸炉 (trainer/divergence.py) ---------------------------------------------------
    "diverging.loss_surge": (
        "loss 升到了 {loss:.4f}（最近 {fast} 步的平均），超过了它平时水平 {baseline:.4f} 的 {ratio:g} 倍："
        "训练可能要炸炉了。",
        "The loss rose to {loss:.4f} (mean of the last {fast} steps), more than {ratio:g}x its running level "
        "of {baseline:.4f}: the training may be diverging."),
    "diverging.advice": (
        "降低学习率（unet_lr / text_encoder_lr），减少 repeat 或 epoch；丹炉的 VAE 始终以 float32 运行（即 no_half_vae）。",
        "Lower the learning rate (unet_lr / text_encoder_lr) and use fewer repeats or epochs. "
        "Danlu always runs the VAE in float32 (what no_half_vae does elsewhere)."),
    # ---- fitting advice (trainer/advice.py) ---------------------------------------------
    "advice.too_few_steps": (
        "步数太少，无法从 loss 判断拟合情况，请看预览图。",
        "Too few steps to read anything from the loss; judge by the preview images."),
    "advice.overfitting": (
        "可能过拟合（学过头）：loss {start:.4f} → {end:.4f}，每张图学了 {views:g} 次。"
        "如果预览图和训练图几乎一样、换提示词也变不了，可以减少 repeat、epoch、network_dim、network_alpha，"
        "或增大 batch size；也可以试试更早一轮保存的模型。",
        "Possibly over-fitting (learned too much): loss {start:.4f} → {end:.4f}, {views:g} views per image. "
        "If the previews copy the training images and ignore new prompts, lower repeat, epoch, network_dim or "
        "network_alpha, or raise the batch size; an earlier epoch's file may already be the better one."),
    "advice.underfitting": (
        "可能欠拟合（没学到）：loss {start:.4f} → {end:.4f}，每张图学了 {views:g} 次。"
        "如果预览图还不像训练对象，可以增加 repeat、epoch、network_dim、network_alpha，或减小 batch size。",
        "Possibly under-fitting (not learned yet): loss {start:.4f} → {end:.4f}, {views:g} views per image. "
        "If the previews do not look like the subject yet, raise repeat, epoch, network_dim or network_alpha, "
        "or lower the batch size."),
    "advice.fine": (
        "loss 没有过拟合或欠拟合的明显迹象（loss {start:.4f} → {end:.4f}，每张图学了 {views:g} 次）。"
        "以预览图为准，挑效果最好的那一轮。",
        "The loss shows no clear sign of over- or under-fitting (loss {start:.4f} → {end:.4f}, {views:g} views "
        "per image). Pick the best epoch by its preview images."),
    # with validation_split: the advice above, then where the validation loss was lowest
    "advice.with_validation": ("{advice}{validation}", "{advice} {validation}"),
    "advice.validation_overfitting": (
        "过拟合（学过头）：验证 loss 连续 {count} 次上升（{values}），训练 loss 却在下降（{train_start:.4f} → "
        "{train_end:.4f}），模型在死记训练图。可以减少 repeat、epoch、network_dim、network_alpha，或增大 batch size。",
        "Over-fitting (learned too much): the validation loss rose {count} times in a row ({values}) while the "
        "training loss fell ({train_start:.4f} → {train_end:.4f}): the model is memorising its images. Lower "
        "repeat, epoch, network_dim or network_alpha, or raise the batch size."),
    "advice.validation_best": (
        "验证 loss 最低的是第 {epoch} 轮结束时（{loss:.4f}，第 {step} 步），那一轮保存的模型可能效果最好。",
        "The validation loss was lowest at the end of epoch {epoch} ({loss:.4f}, step {step}): that epoch's "
        "file may be the best one."),
    "advice.validation_best_last": (
        "验证 loss 到最后一轮（第 {epoch} 轮，{loss:.4f}）都是最低的，还在下降：再多训几轮可能更好。",
        "The validation loss was lowest at the last epoch ({epoch}, {loss:.4f}) and still falling: more epochs "
        "may help."),
    "advice.validation_best_step": (
        "验证 loss 最低的是第 {step} 步（第 {epoch} 轮中，{loss:.4f}）。",
        "The validation loss was lowest at step {step} (during epoch {epoch}, {loss:.4f})."),
}
