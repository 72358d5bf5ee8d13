"""Messages of data (see trainer/texts/__init__.py): the training folder, captions, buckets, the step plan.

Used by trainer/dataset.py, trainer/plan.py and trainer/buckets.py. Words of the tutorial:
训练集, 正则化图片, 触发词, 标注文件, repeat, epoch, 分桶.
"""

TEXTS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------ pieces of other messages
    # The last item of a shortened list of names or files.
    "data.and_more": ("另有 {count} 个", "... and {count} more"),
    # One line of a list of files: the file and why it cannot be used.
    "data.file_problem": ("{path}：{reason}", "{path}: {reason}"),

    # ------------------------------------------------------------ the training folder (scan)
    "data.not_a_folder": (
        "{field} 不是文件夹（或者不存在）：{path}",
        "{field} is not a folder (or does not exist): {path}",
    ),
    "data.not_a_folder_hint": (
        "请选择装着「repeat次数_触发词」子文件夹的那一层文件夹，结构像 {layout}。",
        "Choose the folder that holds the <repeats>_<trigger word> subfolders, as in {layout}.",
    ),
    "data.no_train_images": (
        "{folder} 里没有找到训练图片。应该是这样的结构：{layout}（图片放在名为「repeat次数_触发词」的子文件夹里）。"
        "这个文件夹里现在有：\n{found}",
        "No training images found in {folder}. Expected layout: {layout} (a folder named "
        "<repeats>_<trigger word> holding the images). The folder holds:\n{found}",
    ),
    "data.train_folder_empty": (
        "{folder} 是空的，没有训练图片。应该是这样的结构：{layout}（图片放在名为「repeat次数_触发词」的子文件夹里）。",
        "{folder} is empty: no training images. Expected layout: {layout} (a folder named "
        "<repeats>_<trigger word> holding the images).",
    ),
    "data.no_train_images_hint": (
        "把图片放进一个像 10_mychar 这样的子文件夹（10 = 每个 epoch 里每张图重复几次，mychar = 触发词）。",
        "Put the images in a subfolder such as 10_mychar (10 = how many times each image repeats "
        "per epoch, mychar = the trigger word).",
    ),
    # What the training folder holds, listed in data.no_train_images.
    "data.found_file": ("{name}（文件，不是子文件夹）", "{name} (a file, not a subfolder)"),
    "data.found_folder": ("{name}/", "{name}/"),
    "data.found_skipped": ("{name}/（已跳过：{reason}）", "{name}/ (skipped: {reason})"),
    "data.found_no_images": ("{name}/（里面没有图片）", "{name}/ (no images)"),
    # Why a subfolder is not a <repeats>_<trigger word> folder (the {reason} above).
    "data.folder_no_repeats": (
        "文件夹名不是以 repeat 次数开头，要用的话改名为像 10_{name} 这样",
        "the name does not start with a number of repeats; to use it, rename it like 10_{name}",
    ),
    "data.folder_repeats_too_low": (
        "repeat 次数是 {repeats}，至少要是 1",
        "repeats is {repeats}; it must be at least 1",
    ),

    # ------------------------------------------------------------ warnings of the scan
    "data.folder_skipped": ("{folder}：已跳过，{reason}。", "{folder}: skipped, {reason}."),
    "data.folder_no_images": (
        "{folder}：文件夹里没有图片（{extensions}），已跳过。",
        "{folder}: no images ({extensions}) in this folder; skipped.",
    ),
    "data.loose_images": (
        "{folder}：直接放在这一层的 {count} 张图片不会被读取（{names}），请把它们移到子文件夹里，结构像 {layout}。",
        "{folder}: {count} image(s) directly in this folder are skipped ({names}); "
        "move them into a subfolder like {layout}.",
    ),
    "data.unsupported_format": (
        "{folder}：{count} 个文件的格式不能读取（{names}），要用它们请先转成 PNG 或 JPG。",
        "{folder}: {count} file(s) in a format that is not read ({names}); convert them to PNG or JPG to use them.",
    ),
    "data.nested_folders": (
        "{folder}：子文件夹里的内容不会被读取（{names}）；要训练里面的图片，请把图片移到 {folder} 这一层。",
        "{folder}: subfolders are not read ({names}); to train on their images, move the images into {folder} itself.",
    ),
    "data.missing_captions": (
        "{folder}：{count} 张图片没有 {ext} 标注文件或标注是空的，改用触发词“{token}”作为标注。",
        '{folder}: {count} image(s) have no {ext} caption or an empty one; using the trigger word "{token}".',
    ),
    "data.missing_captions_no_token": (
        "{folder}：{count} 张图片没有 {ext} 标注文件或标注是空的，文件夹名里也没有触发词，只能用空标注。",
        "{folder}: {count} image(s) have no {ext} caption or an empty one; using an empty caption "
        "(the folder name has no trigger word).",
    ),
    "data.gbk_captions": (
        "{folder}：{count} 个标注文件不是 UTF-8 编码，已按 GBK 读取。请把它们另存为 UTF-8，确保文字没有读错。",
        "{folder}: {count} caption file(s) are not UTF-8; read them as GBK. "
        "Save them as UTF-8 to be sure the text is right.",
    ),
    "data.no_reg_images": (
        "{folder}：没有找到正则化图片，这次不用正则化图片训练。",
        "{folder}: no regularization images found; training without them.",
    ),

    # ------------------------------------------------------------ files that cannot be read
    "data.unreadable_files": (
        "训练数据里有 {count} 个文件读不出来：\n{files}",
        "{count} file(s) in the training data cannot be read:\n{files}",
    ),
    "data.unreadable_files_hint": (
        "删掉这些文件，或者用看图/修图软件打开后重新保存（PNG/JPG；标注文件用记事本另存为 UTF-8），然后重新开始。",
        "Delete these files, or open them in an image editor (or Notepad for captions) and save them "
        "again (PNG/JPG, captions as UTF-8), then start again.",
    ),
    # Why one file cannot be read ({reason} of data.file_problem); {detail} is the library's own text.
    "data.image_too_large": ("图片太大，无法安全打开（{detail}）", "too large to open safely ({detail})"),
    "data.image_unreadable": (
        "不是能读取的图片（文件损坏，或者实际上不是这个格式）",
        "not an image that can be read (damaged, or not really this format)",
    ),
    "data.image_truncated": (
        "文件不完整（被截断了：下载或复制没有完成）",
        "the file is cut short (truncated: an unfinished download or copy)",
    ),
    "data.image_damaged": ("文件已损坏：{detail}", "damaged: {detail}"),
    # train.log: how much of the training set's full check was left to do (trainer/probe_cache.py).
    "data.images_checked": (
        "检查了 {checked} 张图片能否完整读出；另外 {known} 张之前已检查过且没有改动",
        "checked that {checked} image(s) read to the end; {known} more were checked before and have not changed",
    ),
    "data.check_results_not_kept": (
        "图片检查结果没能保存到 {path}（{detail}），下次会重新检查",
        "could not keep the image check results in {path} ({detail}); the images will be checked again next time",
    ),
    "data.caption_unreadable": ("标注文件读不出来：{detail}", "cannot read caption: {detail}"),
    "data.caption_encoding": (
        "标注文件既不是 UTF-8 也不是 GBK 编码的文字",
        "caption is neither UTF-8 nor GBK text",
    ),

    # ------------------------------------------------------------ buckets and the step plan
    "data.at_least_one": ("{name} 至少要是 1，现在是 {value}。", "{name} must be at least 1, got {value}."),
    "data.at_least_one_hint": ("把 {name} 改成 1 或更大的整数。", "Set {name} to a whole number of 1 or more."),
    "data.min_bucket_too_large": (
        "min_bucket_reso（{value}）大于训练分辨率的短边（{side}）。",
        "min_bucket_reso ({value}) is larger than the resolution's short side ({side}).",
    ),
    "data.min_bucket_too_large_hint": (
        "把 min_bucket_reso 调到 {side} 或更小，或者调高训练分辨率（resolution）。",
        "Lower min_bucket_reso to {side} or less, or raise the resolution.",
    ),
    "data.max_bucket_too_small": (
        "max_bucket_reso（{value}）小于训练分辨率的长边（{side}）。",
        "max_bucket_reso ({value}) is smaller than the resolution's long side ({side}).",
    ),
    "data.max_bucket_too_small_hint": (
        "把 max_bucket_reso 调到 {side} 或更大，或者调低训练分辨率（resolution）。",
        "Raise max_bucket_reso to {side} or more, or lower the resolution.",
    ),
    "data.plan_no_images": ("没有可以用来计算步数的训练图片。", "There are no training images to count steps for."),
    "data.too_small_no_upscale": (
        "开启 bucket_no_upscale 时，有 {count} 张图片太小，分不进任何桶：\n{files}",
        "{count} image(s) are too small for bucket_no_upscale:\n{files}",
    ),
    "data.too_small_no_upscale_hint": (
        "删掉这些图片，或者把它们放大、把细长的图裁短，让缩放后每边都至少有 {steps} 像素；"
        "也可以关闭 bucket_no_upscale，让小图自动放大。",
        "Delete these images, or enlarge them (and crop very long, narrow ones) so that each side is at "
        "least {steps} pixels after scaling; or turn bucket_no_upscale off so small images are scaled up.",
    ),
    # Why one image fits no bucket ({reason} of data.file_problem).
    "data.image_smaller_than_step": (
        "{width}x{height} 有一边不到 bucket_reso_steps（{steps} 像素），开启 bucket_no_upscale 时不会放大，分桶后什么都不剩",
        "{width}x{height} is smaller than bucket_reso_steps ({steps}) on one side, "
        "so bucket_no_upscale leaves nothing to train on",
    ),
    "data.image_too_thin": (
        "{width}x{height} 太细长：缩小到训练分辨率的面积后，有一边不到 bucket_reso_steps（{steps} 像素），分桶后什么都不剩",
        "{width}x{height} is so long and narrow that, scaled down to the training area, one side is shorter "
        "than bucket_reso_steps ({steps}), leaving nothing to train on",
    ),

    # ------------------------------------------------------------ why the real step count differs
    # {reasons}: the reasons below that apply, joined with "；" / "; ".
    "data.steps_differ": (
        "实际总步数 {total} 与教程公式的 {tutorial} 不同：{reasons}。",
        "The real total, {total} steps, differs from the tutorial's formula ({tutorial}): {reasons}.",
    ),
    "data.steps_reason_max_steps": (
        "总步数由 max_train_steps={steps} 直接指定，教程公式按换算出的 {epochs} 整轮计算",
        "max_train_steps={steps} sets the total directly, while the formula counts {epochs} whole epochs",
    ),
    "data.steps_reason_validation": (
        "validation_split 从训练文件夹里留出了 {held} 张图片做验证，它们不参与训练，每轮只训练 {train} 张（已乘 repeat）",
        "validation_split holds {held} images out for validation; they do not train, so an epoch trains "
        "{train} items (with repeats)",
    ),
    "data.steps_reason_reg": (
        "正则化图片每轮另加 {reg} 张（按训练图片×repeat 的 {train} 张配齐），每轮共 {items} 张",
        "regularization images add {reg} items per epoch (as many as the {train} training items), {items} in all",
    ),
    "data.steps_reason_reg_rounded": (
        "正则化图片每轮另加 {reg} 张（按训练图片×repeat 的 {train} 张配齐，每张图的 repeat 不拆开，所以多出几张），"
        "每轮共 {items} 张",
        "regularization images add {reg} items per epoch (as many as the {train} training items, "
        "rounded up to whole repeats), {items} in all",
    ),
    "data.steps_reason_buckets": (
        "图片按 {buckets} 个分辨率桶分别组批，每个桶最后不满 {batch} 张的一批也算一步，所以每轮 {batches} 批而不是 {even}",
        "batches are filled per aspect-ratio bucket ({buckets}) and each bucket's last, partly filled batch "
        "(under {batch} images) still counts, so an epoch has {batches} batches, not {even}",
    ),
    "data.steps_reason_gpus": (
        "{gpus} 张显卡同时训练，每一步每张卡各训练一批，每轮 {batches} 批",
        "{gpus} GPUs train together, each taking one batch per step: {batches} batches per GPU per epoch",
    ),
    "data.steps_reason_accumulation": (
        "梯度累积 {accumulation} 批才更新一步，每轮 {steps} 步",
        "gradient accumulation makes one step per {accumulation} batches, {steps} steps per epoch",
    ),
}
