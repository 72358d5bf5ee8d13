"""Messages of the training settings: reading TOML, checking values and combinations.

Field names, values and TOML lines are code: they stay verbatim inside both texts.
"""

TEXTS: dict[str, tuple[str, str]] = {
    # how problems are put together
    "config.problem_line": ("{message} → {hint}", "{message} → {hint}"),
    "config.problem_in_file": ("{source}：{message}", "{source}: {message}"),
    "config.problems": ("训练设置有 {count} 处问题：\n{lines}", "{count} problems in the training settings:\n{lines}"),
    "config.problems_in_file": (
        "{source}：训练设置有 {count} 处问题：\n{lines}",
        "{source}: {count} problems in the training settings:\n{lines}",
    ),
    "config.problems_hint": (
        "按上面每一行的说明修改对应的设置，然后重新开始",
        "change each setting named above (every line says how), then start again",
    ),
    # not supported yet
    "config.use_key_instead": ("请改用 {key}", "use {key} instead"),
    "config.use_setting_instead": ("请改为 {setting}", "use {setting} instead"),
    "config.hint_v2": ("请换用 SD 1.x 或 SDXL 底模训练", "train on an SD 1.x or SDXL base model"),
    "config.hint_dataset_config": (
        "把图片放进 train_data_dir 下名为 10_名称 的文件夹（10 = repeat）",
        "put the images in train_data_dir in folders named like 10_name (10 = repeat)",
    ),
    "config.not_supported": (
        "{key} = {value}（{where}）丹炉暂不支持",
        "{key} = {value} ({where}) is not supported yet by Danlu",
    ),
    "config.not_supported_hint": (
        "删除 {key} 这一行（或写成 {key} = {default}），不用它训练",
        "remove the {key} line (or write {key} = {default}) to train without it",
    ),
    "config.remove_line_hint": ("删除 {key} 这一行，不用它训练", "remove the {key} line to train without it"),
    "config.where_top": ("顶层", "top level"),
    # learning rates
    "config.lr_typical": (
        "常用值：U-Net 1e-4，文本编码器 1e-5，DAdaptation 或 Prodigy 用 1",
        "typical values: 1e-4 for the U-Net, 1e-5 for the text encoder, 1 with DAdaptation or Prodigy",
    ),
    # single values
    "config.write_setting": ("写成 {setting}", "write {setting}"),
    "config.network_module": ("network_module = {value} 丹炉暂不支持", "network_module = {value} is not supported yet by Danlu"),
    "config.network_module_hint": (
        '改为 network_module = "networks.lora"（LoRA，加 conv_dim 为 LoCon）或 "lycoris.kohya"（LoCon、LoHa、LoKr、'
        'DoRA）；DyLoRA、OFT 暂不支持',
        'use network_module = "networks.lora" (LoRA; LoCon with conv_dim) or "lycoris.kohya" (LoCon, LoHa, LoKr, '
        'DoRA); DyLoRA and OFT are not supported yet',
    ),
    # network_args (trainer/config/network_args.py)
    "config.network_args_item": (
        "network_args 的 {item} 不是 键=值 的形式",
        "network_args item {item} is not key=value",
    ),
    "config.network_args_hint": (
        '每项写成 键=值，例如 network_args = ["conv_dim=8", "conv_alpha=4"]',
        'write each item as key=value, e.g. network_args = ["conv_dim=8", "conv_alpha=4"]',
    ),
    "config.network_arg_value": ("network_args 的 {item} 的值不对", "network_args item {item} has a wrong value"),
    "config.network_arg_int_hint": ("{key} 要写 0 或更大的整数，例如 {key}=8", "{key} takes a whole number of 0 or more, e.g. {key}=8"),
    "config.network_arg_float_hint": ("{key} 要写 0 或更大的数，例如 {key}=4", "{key} takes a number of 0 or more, e.g. {key}=4"),
    "config.network_arg_rate_hint": ("{key} 要写 0 到 1 之间的数，例如 {key}=0.1", "{key} takes a number from 0 to 1, e.g. {key}=0.1"),
    "config.network_arg_ratio_hint": (
        "{key} 要写大于 0 的数（LoRA+ 常用 4 到 16），例如 {key}=16；不用 LoRA+ 就删掉这一项",
        "{key} takes a number above 0 (LoRA+ usually 4 to 16), e.g. {key}=16; delete the entry to train "
        "without LoRA+"),
    "config.note_loraplus_no_up": (
        "{item} 对 algo={algo} 不起作用：LoRA+ 只加快 lora_up 参数的学习，LoHa 和 LoKr 没有这种参数（LyCORIS 也是这样），"
        "训练照常进行。",
        "{item} has no effect with algo={algo}: LoRA+ speeds up the lora_up parameters only, which LoHa and LoKr "
        "do not have (as in LyCORIS); training goes on."),
    "config.network_arg_factor_hint": (
        "factor 要写 -1（自动）或正整数，例如 factor=8",
        "factor takes -1 (automatic) or a whole number above 0, e.g. factor=8",
    ),
    "config.network_arg_lycoris_only": (
        "network_args 的 {item} 只有 lycoris.kohya 读取，networks.lora 不用它",
        "network_args item {item} is read by lycoris.kohya only, not by networks.lora",
    ),
    "config.network_arg_lycoris_only_hint": (
        '要用 LyCORIS 请设置 network_module = "lycoris.kohya"；否则删除这一项',
        'set network_module = "lycoris.kohya" to use LyCORIS; otherwise remove the item',
    ),
    "config.network_arg_unknown": (
        "network_args 的 {item} 不是 {module} 读取的参数",
        "network_args item {item} is not an argument {module} reads",
    ),
    "config.network_arg_guess": ("是不是 {guess}？它读取的有：{known}", "did you mean {guess}? it reads: {known}"),
    "config.network_arg_known": ("删除这一项；它读取的有：{known}", "remove the item; it reads: {known}"),
    "config.network_arg_not_yet": ("network_args 的 {item} 丹炉暂不支持", "network_args item {item} is not supported yet by Danlu"),
    "config.network_arg_not_yet_hint": ("删除 {key} 这一项，不用它训练", "remove the {key} item to train without it"),
    "config.network_arg_not_yet_hint_off": (
        "删除 {key} 这一项（或写成 {key}={off}），不用它训练",
        "remove the {key} item (or write {key}={off}) to train without it",
    ),
    "config.lycoris_algo_not_yet": ("network_args 的 {item}：这种 LyCORIS 算法丹炉暂不支持",
                                    "network_args item {item}: Danlu does not support this LyCORIS algorithm yet"),
    "config.lycoris_algo_unknown": ("network_args 的 {item} 不是 LyCORIS 的算法", "network_args item {item} is not a LyCORIS algorithm"),
    "config.lycoris_algo_hint": (
        "改为 algo=locon、algo=loha 或 algo=lokr",
        "use algo=locon, algo=loha or algo=lokr",
    ),
    "config.lycoris_preset": (
        "network_args 的 {item} 不是丹炉支持的 LyCORIS 预设",
        "network_args item {item} is not a LyCORIS preset Danlu supports",
    ),
    "config.lycoris_preset_hint": (
        "改用 LyCORIS 自带的预设之一：{presets}；或删除这一项（默认 full）",
        "use one of LyCORIS' built-in presets: {presets}; or remove the item (default full)",
    ),
    "config.network_dim_range_hint": (
        "允许：1 到 {most}（只有 LoKr，即 algo=lokr，可以更大，表示完整矩阵）",
        "allowed: 1 to {most} (only LoKr, algo=lokr, takes larger values, meaning a full matrix)",
    ),
    "config.save_model_as": (
        "save_model_as = {value}：丹炉只保存 safetensors，WebUI 和 ComfyUI 加载它是安全的（ckpt/pt 文件加载时可能执行代码）",
        "save_model_as = {value}: Danlu only writes safetensors, because that is what WebUI and ComfyUI load "
        "safely (ckpt/pt files can run code when loaded)",
    ),
    "config.model_train_type": (
        "model_train_type = {value} 丹炉暂不支持：目前训练 SD 1.x（sd-lora）和 SDXL（sdxl-lora）的 LoRA",
        "model_train_type = {value} is not supported yet by Danlu: it trains LoRAs for SD 1.x (sd-lora) and "
        "SDXL (sdxl-lora)",
    ),
    "config.model_train_type_hint": (
        '改为 model_train_type = "sd-lora" 或 "sdxl-lora"，或删除这一行，由底模自动判断',
        'use model_train_type = "sd-lora" or "sdxl-lora", or remove the line to detect it from the base model',
    ),
    "config.caption_extension": (
        "caption_extension = {value} 必须是点加扩展名",
        "caption_extension = {value} must be a dot and an extension",
    ),
    "config.resolution_hint": (
        '写一个边长如 512，或 宽,高 如 "512,768"（64 的倍数）',
        'write one size like 512, or width,height like "512,768" (multiples of 64)',
    ),
    "config.resolution_not_size": ("resolution = {value} 不是尺寸", "resolution = {value} is not a size"),
    "config.resolution_parts": (
        "resolution = {value} 应为一个边长或 宽,高",
        "resolution = {value} must be one size or width,height",
    ),
    "config.resolution_range": (
        "resolution = {value}：{size} 不在 64..4096 之间",
        "resolution = {value}: {size} is outside 64..4096",
    ),
    "config.resolution_typical": (
        "SD 1.5 用 512 训练（最多 768），SDXL 用 1024",
        "SD 1.5 trains at 512 (up to 768), SDXL at 1024",
    ),
    "config.resolution_multiple": (
        "resolution = {value}：{size} 不是 64 的倍数",
        "resolution = {value}: {size} is not a multiple of 64",
    ),
    "config.either": ("{first} 或 {last}", "{first} or {last}"),
    "config.output_name_hint": (
        '用字母、数字、中文、"-" 或 "_"，例如 output_name = "my_lora"',
        'use letters, digits, Chinese, "-" or "_", e.g. output_name = "my_lora"',
    ),
    "config.output_name_chars": (
        "output_name = {value} 是文件名，不能包含 {chars}（文件夹请写在 output_dir 里）",
        "output_name = {value} is a file name and may not contain {chars} (folders go in output_dir)",
    ),
    "config.output_name_ends": (
        "output_name = {value} 不能以空格开头或结尾，也不能以点结尾（Windows 会去掉它们）",
        "output_name = {value} may not start or end with a space or end with a dot (Windows drops them)",
    ),
    "config.output_name_reserved": (
        "output_name = {value} 是 Windows 保留给设备的名字",
        "output_name = {value} is a name Windows reserves for devices",
    ),
    "config.optimizer_not_supported": (
        "optimizer_type = {value} 丹炉暂不支持",
        "optimizer_type = {value} is not supported yet by Danlu",
    ),
    "config.optimizer_unknown": (
        "optimizer_type = {value} 不是丹炉认识的优化器",
        "optimizer_type = {value} is not an optimizer Danlu knows",
    ),
    "config.use_one_of": ("从这些中选一个：{choices}", "use one of {choices}"),
    "config.did_you_mean_use_one_of": (
        "是不是 {guess}？可选：{choices}",
        "did you mean {guess}? Use one of {choices}",
    ),
    "config.optimizer_args_item": (
        "optimizer_args 的 {item} 不是 键=值 的形式",
        "optimizer_args item {item} is not key=value",
    ),
    "config.optimizer_args_hint": (
        '每项写成 键=值，例如 optimizer_args = ["weight_decay=0.01", "betas=0.9,0.999"]',
        'write each as key=value, e.g. optimizer_args = ["weight_decay=0.01", "betas=0.9,0.999"]',
    ),
    "config.optimizer_args_value": (
        "optimizer_args 的 {item}：值 {value} 不是数字、True/False 或带引号的文字",
        "optimizer_args item {item}: the value {value} is not a number, True/False or a quoted text",
    ),
    "config.optimizer_args_value_hint": (
        "数字和 True/False 直接写（d_coef=2.0, betas=0.9,0.999, decouple=True）；文字要加引号（name='x'）",
        "numbers and True/False as they are (d_coef=2.0, betas=0.9,0.999, decouple=True); text in quotes (name='x')",
    ),
    # combinations
    "config.aug_vs_cache": (
        "{aug} 每一步都会改变图片，所以不能缓存它的 latent（cache_latents 已打开）",
        "{aug} changes the image at every step, so its latents cannot be cached (cache_latents is on)",
    ),
    "config.aug_vs_cache_hint": (
        "关闭 {aug}，或者关闭 cache_latents 和 cache_latents_to_disk",
        "turn off {aug}, or turn off cache_latents and cache_latents_to_disk",
    ),
    "config.te_cache_needs_unet_only": (
        "cache_text_encoder_outputs 需要 network_train_unet_only：训练中的文本编码器输出会变",
        "cache_text_encoder_outputs needs network_train_unet_only: a trained text encoder's outputs change",
    ),
    "config.te_cache_needs_unet_only_hint": (
        "设 network_train_unet_only = true，或关闭 cache_text_encoder_outputs",
        "set network_train_unet_only = true, or turn off cache_text_encoder_outputs",
    ),
    "config.te_cache_vs_shuffle": (
        "cache_text_encoder_outputs 不能和 shuffle_caption 一起用：打乱的标注没有固定的输出",
        "cache_text_encoder_outputs cannot be used with shuffle_caption: a shuffled caption has no fixed output",
    ),
    "config.te_cache_vs_shuffle_hint": (
        "关闭 shuffle_caption，或关闭 cache_text_encoder_outputs",
        "turn off shuffle_caption, or turn off cache_text_encoder_outputs",
    ),
    "config.full_precision": (
        '{flag} 需要 mixed_precision = "{precision}"（现在是 "{current}"）',
        '{flag} needs mixed_precision = "{precision}" (it is "{current}")',
    ),
    "config.full_precision_hint": (
        '设 mixed_precision = "{precision}"，或关闭 {flag}',
        'set mixed_precision = "{precision}", or turn off {flag}',
    ),
    "config.scale_v_pred": (
        "scale_v_pred_loss_like_noise_pred 只对 v 预测模型有效",
        "scale_v_pred_loss_like_noise_pred only applies to v-prediction",
    ),
    "config.scale_v_pred_hint": (
        "打开 v_parameterization（用于 v 预测底模），或关闭这一项",
        "turn on v_parameterization (for a v-prediction base model) or turn this off",
    ),
    "config.nothing_to_train": (
        "network_train_unet_only 和 network_train_text_encoder_only 都是 true，就没有可训练的部分了",
        "network_train_unet_only and network_train_text_encoder_only are both true, which leaves nothing to train",
    ),
    "config.nothing_to_train_hint": (
        "最多只能打开其中一个（通常都不开；SDXL 常开 unet_only）",
        "set at most one of them to true (usually neither; unet_only for SDXL)",
    ),
    "config.note_default_steps": (
        "没有设置 max_train_epochs 和 max_train_steps：与 sd-scripts 一样训练 {steps} 步。要按轮数训练，请设置 "
        "max_train_epochs（初步测试建议 10-20）",
        "neither max_train_epochs nor max_train_steps is set: training {steps} steps, as sd-scripts does. To train "
        "by epochs, set max_train_epochs (10-20 for a first test)",
    ),
    "config.bucket_steps_multiple": (
        "bucket_reso_steps = {value} 不是 8 的倍数",
        "bucket_reso_steps = {value} is not a multiple of 8",
    ),
    "config.bucket_steps_hint": ("用 {choices}（SD 1.5 用 64）", "use {choices} (64 for SD 1.5)"),
    "config.min_over_max_bucket": (
        "min_bucket_reso = {low} 大于 max_bucket_reso = {high}",
        "min_bucket_reso = {low} is larger than max_bucket_reso = {high}",
    ),
    "config.min_over_max_bucket_hint": (
        "让 min_bucket_reso 小于 max_bucket_reso，例如 min_bucket_reso = {low}、max_bucket_reso = {high}",
        "make min_bucket_reso the smaller one, e.g. min_bucket_reso = {low} and max_bucket_reso = {high}",
    ),
    "config.max_bucket_small": (
        "max_bucket_reso = {value} 小于分辨率的长边（{side}）",
        "max_bucket_reso = {value} is smaller than the resolution's longer side ({side})",
    ),
    "config.max_bucket_small_hint": (
        "把 max_bucket_reso 提高到至少 {side}，或降低分辨率",
        "raise max_bucket_reso to at least {side}, or lower the resolution",
    ),
    "config.min_bucket_large": (
        "min_bucket_reso = {value} 大于分辨率的短边（{side}）",
        "min_bucket_reso = {value} is larger than the resolution's shorter side ({side})",
    ),
    "config.min_bucket_large_hint": (
        "把 min_bucket_reso 降到不超过 {side}，例如 {example}",
        "lower min_bucket_reso to at most {side}, e.g. {example}",
    ),
    "config.bucket_not_multiple": (
        "{name} = {value} 不是 bucket_reso_steps = {step} 的倍数",
        "{name} = {value} is not a multiple of bucket_reso_steps = {step}",
    ),
    "config.use_value": ("改用 {value}", "use {value}"),
    # paths
    "config.path_hint_model": (
        "填写这台电脑上 .safetensors/.ckpt 模型文件或 Diffusers 文件夹的路径（丹炉不会下载模型）",
        "give the path of a .safetensors/.ckpt file or a Diffusers folder on this computer "
        "(Danlu never downloads models)",
    ),
    "config.path_hint_vae": (
        "填写这台电脑上 VAE 文件的路径，或者留空",
        "give the path of a VAE file on this computer, or leave vae empty",
    ),
    "config.path_hint_train_data": (
        "填写包含 repeat_名称 子文件夹的那个文件夹，例如 ./train/aki",
        "give the folder that holds the repeat_name subfolders, e.g. ./train/aki",
    ),
    "config.path_hint_reg_data": (
        "填写正则化图片文件夹，或者留空",
        "give the regularization images folder, or leave reg_data_dir empty",
    ),
    "config.path_hint_network_weights": (
        "填写要接着训练的 LoRA .safetensors 文件路径，或者留空",
        "give the path of the LoRA .safetensors to continue from, or leave it empty",
    ),
    "config.path_hint_resume": (
        "填写保存的训练状态文件夹（名称以 -state 结尾），或者留空",
        "give the path of a saved state folder (name ending in -state), or leave resume empty",
    ),
    "config.path_hint_prompts": (
        "填写提示词文件的路径，或直接在 sample_prompts 里写提示词",
        "give the path of the prompt file, or write the prompt itself in sample_prompts",
    ),
    "config.path_missing": ("{name} = {value} 不存在", "{name} = {value} does not exist"),
    "config.path_missing_resolved": (
        "{name} = {value} 不存在（找的是 {resolved}）",
        "{name} = {value} does not exist (looked for {resolved})",
    ),
    "config.path_must_be_folder": (
        "{name} = {value} 是文件，但这里要的是文件夹",
        "{name} = {value} is a file, but must be a folder",
    ),
    "config.path_must_be_file": (
        "{name} = {value} 是文件夹，但这里要的是文件",
        "{name} = {value} is a folder, but must be a file",
    ),
    "config.path_is_file_not_folder": (
        "{name} = {value} 是文件，不是文件夹（{resolved}）",
        "{name} = {value} is a file, not a folder ({resolved})",
    ),
    "config.choose_folder": ("给 {name} 选一个文件夹", "choose a folder for {name}"),
    # reading the file
    "config.file_missing": ("配置文件 {path} 不存在", "config file {path} does not exist"),
    "config.file_missing_hint": ("检查 --config 给出的路径", "check the path given to --config"),
    "config.file_unreadable": ("读不了配置文件 {path}：{detail}", "cannot read config file {path}: {detail}"),
    "config.file_unreadable_hint": ("检查路径和文件权限", "check the path and the file's permissions"),
    "config.not_utf8": ("{name} 不是 UTF-8 文本（第 {byte} 个字节读不出来）", "{name} is not UTF-8 text (byte {byte} cannot be read)"),
    "config.not_utf8_hint": (
        "把文件另存为 UTF-8（记事本：另存为，编码选 UTF-8）",
        "save the file as UTF-8 (in Notepad: Save As, Encoding: UTF-8)",
    ),
    "config.toml_syntax_hint": (
        "修正这一行的 TOML 写法：键 = 值，文字加引号，true/false 用小写",
        "fix the TOML syntax on that line: key = value, text in quotes, true/false in lower case",
    ),
    "config.toml_backslash_hint": (
        "双引号里的反斜杠是转义符；Windows 路径请用单引号（'D:\\lora\\train'）、正斜杠（\"D:/lora/train\"）或双反斜杠",
        "inside double quotes a backslash starts an escape; write Windows paths in single quotes "
        "('D:\\lora\\train'), with forward slashes (\"D:/lora/train\") or with doubled backslashes",
    ),
    "config.toml_syntax_at": (
        "{name}：第 {line} 行第 {column} 列 TOML 语法错误：{reason}{shown}",
        "{name}: TOML syntax error at line {line}, column {column}: {reason}{shown}",
    ),
    "config.toml_syntax": ("{name}：TOML 语法错误：{reason}", "{name}: TOML syntax error: {reason}"),
    "config.array_of_tables": ("[[{key}]]（{where}）是表数组", "[[{key}]] ({where}) is an array of tables"),
    "config.tables_hint": (
        "写成 键 = 值 的行，可以平铺，也可以放在一层 [分节] 下",
        "write key = value lines, flat or under one level of [section] headers",
    ),
    "config.dataset_config_tables_hint": (
        "这看起来是 sd-scripts 的数据集配置（--dataset_config），丹炉暂时不读；请把图片放进 train_data_dir 下名为 "
        "10_名称 的文件夹（10 = repeat）",
        "this looks like a sd-scripts dataset config (--dataset_config), which Danlu does not read yet; put the "
        "images in train_data_dir in folders named like 10_name (10 = repeat)",
    ),
    "config.duplicate_key": (
        "{key} 写了两次且值不同：{first}（{first_where}）和 {second}（{second_where}）",
        "{key} is given twice with different values: {first} ({first_where}) and {second} ({second_where})",
    ),
    "config.duplicate_key_hint": ("只保留一行 {key}，删掉另一行", "keep one {key} line and delete the other"),
    "config.nested_twice": ("[{key}.{inner}] 嵌套了两层", "[{key}.{inner}] is nested two levels deep"),
    "config.nested_twice_hint": (
        "分节只能有一层：把它的键移到 [{key}] 里或顶层",
        "sections can only be one level deep: move its keys into [{key}] or to the top",
    ),
    "config.unknown_keys": ("不认识的键：{keys}", "unknown keys: {keys}"),
    "config.unknown_key_guess": ("{key}（是不是 {guess}？）", "{key} (did you mean {guess}?)"),
    "config.unknown_key_in": ("{where} 里的 {key}", "{key} in {where}"),
    "config.unknown_key_in_guess": ("{where} 里的 {key}（是不是 {guess}？）", "{key} in {where} (did you mean {guess}?)"),
    "config.unknown_keys_hint": (
        "改正拼写（键名是 sd-scripts 的选项名），或删除这一行",
        "correct the spelling (names are sd-scripts' option names) or delete the line",
    ),
    # notes written to train.log and shown when a file is loaded
    "config.note_default_ignored": (
        "忽略 {key} = {value}：这是 sd-scripts 的默认值，丹炉本来就这样做",
        "ignored {key} = {value}: it is sd-scripts' default, which is what Danlu does",
    ),
    "config.note_no_effect_ignored": (
        "忽略 {key} = {value}：在 sd-scripts 里它只影响速度、显存或日志，不影响学到的内容",
        "ignored {key} = {value}: it changes only speed, memory use or logging in sd-scripts, not what is learned",
    ),
    "config.note_inert_ignored": (
        "忽略 {key} = {value}：没有设置 {parent} 时它不起作用",
        "ignored {key} = {value}: it has no effect unless {parent} is set",
    ),
    "config.note_token_length_255": (
        "max_token_length = 255 按 225 处理：sd-scripts 按 75 个 token 一段切分，255 和 225 训练结果相同",
        "read max_token_length = 255 as 225: sd-scripts uses 75-token chunks, so 255 trains like 225",
    ),
    "config.note_empty_optimizer": (
        'optimizer_type = "" 按 "AdamW" 处理（与 sd-scripts 相同）',
        'read optimizer_type = "" as "AdamW", as sd-scripts does',
    ),
    "config.note_epochs_win": (
        "设置了 max_train_epochs = {epochs}，所以不使用 max_train_steps = {steps}（与 sd-scripts 相同）",
        "max_train_steps = {steps} is not used because max_train_epochs = {epochs} is set (sd-scripts does the same)",
    ),
    # single values (pydantic's checks, in our words)
    "config.rule_at_least": ("至少 {value}", "at least {value}"),
    "config.rule_above": ("大于 {value}", "above {value}"),
    "config.rule_at_most": ("最多 {value}", "at most {value}"),
    "config.rule_below": ("小于 {value}", "below {value}"),
    "config.allowed_between": ("允许：{low} 到 {high}", "allowed: {low} to {high}"),
    "config.allowed_range": ("允许：{low_rule}，{high_rule}", "allowed: {low_rule} and {high_rule}"),
    "config.allowed_one": ("允许：{rule}", "allowed: {rule}"),
    "config.missing": ("缺少必填项 {name}", "{name} is required but not given"),
    "config.missing_hint": ("加一行 {name} = ……", "add a line {name} = ..."),
    "config.not_number": ("{shown} 不是数字", "{shown} is not a number"),
    "config.write_number": ("写一个数，如 1e-4 或 0.0001；{then}", "write a number like 1e-4 or 0.0001; {then}"),
    "config.write_number_plain": ("写一个数，如 1e-4 或 0.0001", "write a number like 1e-4 or 0.0001"),
    "config.not_whole": ("{shown} 不是整数", "{shown} is not a whole number"),
    "config.write_whole": ("写一个不加引号的整数；{then}", "write a whole number without quotes; {then}"),
    "config.write_whole_plain": ("写一个不加引号的整数", "write a whole number without quotes"),
    "config.not_bool": ("{shown} 不是 true 或 false", "{shown} is not true or false"),
    "config.write_bool": ("写 {name} = true 或 {name} = false", "write {name} = true or {name} = false"),
    "config.not_finite": ("{shown} 不是有限的数", "{shown} is not a finite number"),
    "config.write_ordinary_number": ("写一个普通的数", "write an ordinary number"),
    "config.clip_skip_hint": (
        "{bounds}；1 表示不跳过，SD 1.5 二次元模型常用 2；删除这一行即不跳过",
        "{bounds}; 1 means no skip, 2 is common for SD 1.5 anime models; remove the line for no skip",
    ),
    "config.out_of_range": ("{shown} 超出范围", "{shown} is out of range"),
    "config.not_allowed_value": ("{shown} 不是允许的值", "{shown} is not one of the allowed values"),
    "config.allowed_values": ("允许的值：{allowed}", "allowed: {allowed}"),
    "config.allowed_guess": ("是不是 {guess}？允许的值：{allowed}", "did you mean {guess}? allowed: {allowed}"),
    "config.not_text": ("{shown} 不是文字", "{shown} is not text"),
    "config.write_quoted": ('加上引号，例如 {name} = "……"', 'write it in quotes, e.g. {name} = "..."'),
    "config.empty": ("{name} 是空的", "{name} is empty"),
    "config.fill_in": ("请填写 {name}", "fill in {name}"),
    "config.not_list": ("{shown} 不是列表", "{shown} is not a list"),
    "config.write_list": ('写成列表，如 ["weight_decay=0.01"]', 'write a list like ["weight_decay=0.01"]'),
    "config.not_an_option": ("{name} 不是训练选项", "{name} is not a training option"),
    "config.delete_line": ("删除这一行", "delete the line"),
    "config.invalid_value": ("{shown} 的值不对：{detail}", "{shown}: {detail}"),
    "config.check_value": ("检查这个值", "check the value"),
    "config.resolution_multiple_hint": (
        "用 {choices} 代替 {value}，或者打开 enable_bucket（分桶时分辨率只决定面积）",
        "use {choices} instead of {value}, or turn on enable_bucket (with buckets the resolution only sets the area)",
    ),
    "config.lr_not_negative": (
        "学习率不能是负数；设为 0 表示不训练这一部分；{typical}",
        "a learning rate cannot be negative; 0 leaves that part untrained; {typical}",
    ),
    # read the way sd-scripts and the GUIs mean it, and said so
    "config.note_alpha_over_dim": (
        "network_alpha = {alpha} 大于 network_dim = {dim}：照样训练（与 sd-scripts 相同），每次更新被放大 {scale} 倍，"
        "相当于更高的学习率。教程建议 alpha 不超过 dim，常用 {dim} 或 {half}",
        "network_alpha = {alpha} is larger than network_dim = {dim}: training as sd-scripts does, with every update "
        "scaled up {scale} times, like a higher learning rate. The tutorial keeps alpha at most dim, usually {dim} "
        "or {half}",
    ),
    "config.note_conv_alpha_over_dim": (
        "conv_alpha = {alpha} 大于 conv_dim = {dim}：照样训练（与 sd-scripts 相同），卷积层每次更新被放大 {scale} 倍，"
        "相当于更高的学习率。常用 conv_alpha 不超过 conv_dim，例如 {dim} 或 {half}",
        "conv_alpha = {alpha} is larger than conv_dim = {dim}: training as sd-scripts does, with every update of the "
        "conv layers scaled up {scale} times, like a higher learning rate. conv_alpha is usually at most conv_dim, "
        "e.g. {dim} or {half}",
    ),
    "config.note_conv_alpha_default": (
        "network_args 有 conv_dim 没有 conv_alpha：卷积层的 alpha 按 networks.lora 的默认值 1 训练（与 sd-scripts 相同）",
        "network_args has conv_dim but no conv_alpha: the conv layers train with networks.lora's default alpha, 1, "
        "as in sd-scripts",
    ),
    "config.note_network_arg_off": (
        "network_args 的 {item} 表示不使用，已忽略",
        "network_args item {item} means off; ignored",
    ),
    "config.note_network_arg_inert": (
        "network_args 的 {item}：{module} 不读取它，对训练没有影响（与 sd-scripts 相同）",
        "network_args item {item}: {module} does not read it, so it changes nothing, as in sd-scripts",
    ),
    "config.note_decompose_both_text": (
        "decompose_both={value}：LyCORIS 把这一项的任何文字都当作打开（sd-scripts 把它原样传过去），所以与 sd-scripts "
        "一样按打开训练：LoKr 的两个因子都分解。要关闭请删除这一项",
        "decompose_both={value}: LyCORIS takes any text in this item as on (sd-scripts passes it on as written), so "
        "this trains with it on, as sd-scripts does: both LoKr factors decomposed. Remove the item to turn it off",
    ),
    "config.note_dora_axis": (
        "DoRA（dora_wd）没有写 wd_on_output：丹炉加上 wd_on_output=False，按输入通道保存大小，这是 WebUI 和 ComfyUI "
        "按训练时原样加载的方式（LyCORIS 默认按输出通道，这两个界面加载时效果不同）。要 LyCORIS 的默认请写 wd_on_output=True",
        "DoRA (dora_wd) without wd_on_output: Danlu adds wd_on_output=False, keeping the magnitude per input channel, "
        "the way WebUI and ComfyUI apply it exactly as trained (LyCORIS' default is per output channel, which those "
        "two apply differently). Write wd_on_output=True for LyCORIS' default",
    ),
    "config.note_zero_te_lr": (
        "文本编码器学习率是 0：只训练 U-Net（与 sd-scripts 相同，相当于 network_train_unet_only = true）",
        "the text encoder's learning rate is 0: training the U-Net only, as sd-scripts does (like "
        "network_train_unet_only = true)",
    ),
    "config.note_zero_unet_lr": (
        "U-Net 学习率是 0：只训练文本编码器（与 sd-scripts 相同，相当于 network_train_text_encoder_only = true）",
        "the U-Net's learning rate is 0: training the text encoder only, as sd-scripts does (like "
        "network_train_text_encoder_only = true)",
    ),
    "config.note_te_lr_list": (
        "text_encoder_lr = {value}：与 sd-scripts 一样，所有文本编码器都用第一个值 {first}",
        "text_encoder_lr = {value}: every text encoder uses the first value, {first}, as in sd-scripts",
    ),
    "config.note_bucket_rounded": (
        "{name} = {before} 按 bucket_reso_steps = {step} 取整为 {after}（与 sd-scripts 相同）",
        "{name} = {before} rounded to {after}, a multiple of bucket_reso_steps = {step}, as sd-scripts does",
    ),
    "config.note_preview_without_prompts": (
        "设置了 {name} = {value}，但 sample_prompts 是空的：不出预览图，照常训练（与 sd-scripts 相同）。"
        "要预览图请在 sample_prompts 里写提示词",
        "{name} = {value} is set but sample_prompts is empty: no preview images, training goes on as in "
        "sd-scripts. Write a prompt in sample_prompts to get previews",
    ),
    "config.note_zero_snr_without_v": (
        "zero_terminal_snr 通常配合 v 预测（v_parameterization）使用；照常训练（sd-scripts 也只给出警告）",
        "zero_terminal_snr is meant for v-prediction (v_parameterization); training anyway, as sd-scripts does "
        "with a warning",
    ),
    "config.note_disk_cache_turns_on_cache": (
        "cache_latents_to_disk 会同时打开 cache_latents（与 sd-scripts 相同）",
        "cache_latents_to_disk turns cache_latents on too, as in sd-scripts",
    ),
    "config.note_same_as_default": (
        "忽略 {key} = {value}：训练结果与 sd-scripts 的默认值相同",
        "ignored {key} = {value}: it trains exactly like sd-scripts' default",
    ),
    "config.note_renamed": ("{old} = {value} 按 {new} 读取（与 sd-scripts 相同）", "read {old} = {value} as {new}, as sd-scripts does"),
    "config.note_old_optimizer_flag": (
        '{flag} = true 按 optimizer_type = "{optimizer}" 读取（与 sd-scripts 相同）',
        'read {flag} = true as optimizer_type = "{optimizer}", as sd-scripts does',
    ),
    "config.note_te_cache_to_disk": (
        "cache_text_encoder_outputs_to_disk = true 按 cache_text_encoder_outputs = true 读取（与 sd-scripts 相同；硬盘副本只是让下次更快）",
        "read cache_text_encoder_outputs_to_disk = true as cache_text_encoder_outputs = true, as sd-scripts does "
        "(the disk copy only speeds up later runs)",
    ),
    "config.note_gui_key_ignored": (
        "忽略 {key} = {value}：这是 {tool} 界面自己的设置，sd-scripts 不读它",
        "ignored {key} = {value}: a {tool} form setting that sd-scripts does not read",
    ),
    "config.note_wandb": (
        "log_with = {value}：丹炉不支持 Weights & Biases，改用 TensorBoard 记录（只影响日志，不影响训练）",
        "log_with = {value}: Danlu has no Weights & Biases logging, so it logs to TensorBoard (logging only, "
        "training is the same)",
    ),
    "config.note_prompt_form": (
        "按 lora-scripts 的预览图表单生成预览提示词：{value}",
        "preview prompt made from lora-scripts' preview form: {value}",
    ),
    "config.note_sd_scripts_defaults": (
        "文件里没写的这些选项按 sd-scripts 的默认值训练（与丹炉表格的默认值不同）：{values}",
        "options the file leaves out train with sd-scripts' defaults (not Danlu's form defaults): {values}",
    ),
}
