"""Messages of the tagger (see trainer/texts/__init__.py): `python -m trainer.tag` and its job on the page.

Used by trainer/tag.py and trainer/tagging.py. Words of the tutorial: 打标 (tagging), 标注文件
(caption file), 触发词 (trigger word), 阈值 (threshold).
"""

TEXTS: dict[str, tuple[str, str]] = {
    # ---- the folder and the options --------------------------------------------------------
    "tag.not_a_folder": (
        "--dir 不是文件夹（或者不存在）：{path}",
        "--dir is not a folder (or does not exist): {path}",
    ),
    "tag.not_a_folder_hint": (
        "请给出放着图片的文件夹，例如 train/10_aidou；要把 train 下面所有「repeat次数_触发词」文件夹一起打标，"
        "给出 train 并加上 --recursive。",
        "Give the folder that holds the images, e.g. train/10_aidou; to tag every <repeats>_<trigger word> "
        "folder under train at once, give train and add --recursive.",
    ),
    "tag.no_images": (
        "{folder} 里没有图片（{extensions}）。",
        "No images ({extensions}) in {folder}.",
    ),
    "tag.no_images_but_subfolders": (
        "{folder} 这一层没有图片，但它的子文件夹里有 {count} 张。",
        "{folder} itself holds no images, but its subfolders hold {count}.",
    ),
    "tag.no_images_but_subfolders_hint": (
        "加上 --recursive（网页上勾选“包括子文件夹”），子文件夹里的图片也会打标。",
        "Add --recursive (on the page: tick \"include subfolders\") to tag the images in the subfolders too.",
    ),
    "tag.bad_threshold": (
        "{name} 是 {value}，要在 0 和 1 之间（例如 0.35）。",
        "{name} is {value}; it must be between 0 and 1 (for example 0.35).",
    ),
    "tag.bad_threshold_hint": (
        "阈值越低，写进标注的标签越多。常用：普通标签 0.35，角色标签 0.85。",
        "A lower threshold writes more tags. Usual values: 0.35 for general tags, 0.85 for characters.",
    ),

    # ---- the model ---------------------------------------------------------------------------
    "tag.using_model": (
        "打标模型：{model}（{folder}），运行在 {provider} 上，输入 {size}x{size}",
        "tagger model: {model} ({folder}) on {provider}, input {size}x{size}",
    ),
    "tag.downloading_model": (
        "本地没有打标模型 {model}，正在从 {hub} 下载 {files}（只需要下载一次）",
        "the tagger model {model} is not here yet; downloading {files} from {hub} (once)",
    ),
    "tag.model_missing": (
        "找不到打标模型 {model} 的文件：{missing}。",
        "The tagger model {model} is missing files: {missing}.",
    ),
    "tag.model_where": (
        "把 WD14 打标模型的 model.onnx 和 selected_tags.csv 放进 {folder}（例如从 {url} 下载），"
        "或者去掉 --model，用模型库里的默认模型。",
        "Put a WD14 tagger's model.onnx and selected_tags.csv into {folder} (for example from {url}), "
        "or leave out --model to use the default model of the model store.",
    ),
    "tag.model_broken": (
        "打标模型 {path} 无法加载：{detail}",
        "The tagger model {path} cannot be loaded: {detail}",
    ),
    "tag.model_broken_hint": (
        "文件可能没有下载完整。删掉 {folder} 里的 model.onnx 和 selected_tags.csv 让丹炉重新下载，"
        "或者从 {url} 手动下载这两个文件放进 {folder}。",
        "The download may be incomplete. Delete model.onnx and selected_tags.csv in {folder} so Danlu "
        "downloads them again, or download both from {url} into {folder} yourself.",
    ),
    "tag.not_a_wd14_model": (
        "输入形状是 {shape}、类型是 {dtype}，不是 WD14 打标模型的 [batch, 边长, 边长, 3] float32 图片输入",
        "its input is {shape} of {dtype}, not the [batch, side, side, 3] float32 image input of a WD14 tagger",
    ),
    "tag.tags_file_broken": (
        "标签表 {path} 读不出来：{detail}",
        "The tag list {path} cannot be read: {detail}",
    ),
    "tag.tags_file_columns": (
        "第一行应该是 tag_id,name,category,count，实际是 {header}",
        "the first line should be tag_id,name,category,count, not {header}",
    ),
    "tag.tags_file_row": ("第 {line} 行的 category 不是整数：{value}", "line {line}: category is not a whole number: {value}"),
    "tag.tags_mismatch": (
        "模型输出 {outputs} 个分数，但标签表 {path} 有 {rows} 个标签：两个文件不是同一个模型的",
        "the model gives {outputs} scores but the tag list {path} has {rows} tags: the two files are from "
        "different models",
    ),
    "tag.no_onnxruntime": (
        "没有安装 onnxruntime，打标需要它：{detail}",
        "onnxruntime is not installed; tagging needs it: {detail}",
    ),
    "tag.no_onnxruntime_hint": (
        "运行 start.bat --reinstall（Linux/macOS：./start.sh --reinstall）重新安装依赖。",
        "Run start.bat --reinstall (Linux/macOS: ./start.sh --reinstall) to install the requirements again.",
    ),

    # ---- per image -----------------------------------------------------------------------------
    "tag.image_failed": (
        "{image} 无法打标，已跳过：{reason}",
        "{image} could not be tagged and was skipped: {reason}",
    ),
    "tag.image_failed_hint": (
        "用看图软件打开它看看；文件坏了就删掉或换一张，再打标一次（其余图片照常打标，已有的标注不受影响）。",
        "Open it in an image viewer; if it is damaged, delete or replace it and tag again (the other images "
        "are tagged as usual, and existing captions are not touched).",
    ),
    "tag.caption_unusable": (
        "{caption} 无法追加标签，已保持原样：{reason}",
        "{caption} was left as it is; tags could not be added: {reason}",
    ),
    "tag.caption_unusable_hint": (
        "用记事本打开这个标注文件，另存为 UTF-8 编码，再用 append 打标一次；或者用 overwrite 重写（会先备份）。",
        "Open the caption in Notepad and save it as UTF-8, then tag again with append; or use overwrite, "
        "which keeps a backup first.",
    ),
    "tag.caption_not_written": (
        "{caption} 写不进去，已跳过：{detail}",
        "{caption} could not be written and was skipped: {detail}",
    ),
    "tag.caption_not_written_hint": (
        "检查这个文件夹是否只读、文件是否被别的程序（例如打标编辑器）占用，然后再打标一次。",
        "Check that the folder is not read-only and that no other program (a tag editor) holds the file, "
        "then tag again.",
    ),
    "tag.disk_full": (
        "硬盘满了，写不进 {caption}：{detail}。之前写好的标注都已保存，这个文件保持原样。",
        "The disk is full; {caption} could not be written: {detail}. The captions written before are saved; "
        "this file is as it was.",
    ),
    "tag.disk_full_hint": (
        "清理出一些硬盘空间，再用 skip 模式打标一次，就会从没有标注的图片接着做。",
        "Free some disk space and tag again in skip mode: it carries on with the images that have no caption.",
    ),
    # train.log, one line per image: [{done}/{total}] then what happened.
    "tag.line_written": ("[{done}/{total}] {image}：{caption}", "[{done}/{total}] {image}: {caption}"),
    "tag.line_appended": (
        "[{done}/{total}] {image}：追加了 {count} 个标签：{tags}",
        "[{done}/{total}] {image}: added {count} tag(s): {tags}",
    ),
    "tag.line_unchanged": ("[{done}/{total}] {image}：标注没有变化", "[{done}/{total}] {image}: caption unchanged"),
    "tag.line_kept": (
        "[{done}/{total}] {image}：已有标注，保持原样",
        "[{done}/{total}] {image}: has a caption, left as it is",
    ),
    "tag.line_failed": ("[{done}/{total}] {image}：已跳过", "[{done}/{total}] {image}: skipped"),
    "tag.backup": ("原来的标注已备份为 {backup}", "the old caption is kept as {backup}"),

    # ---- the batch ---------------------------------------------------------------------------
    "tag.starting": (
        "开始打标：{total} 张图片，模式 {mode}，普通标签阈值 {threshold}，角色标签阈值 {character_threshold}",
        "tagging {total} image(s), mode {mode}, general threshold {threshold}, character threshold "
        "{character_threshold}",
    ),
    "tag.summary": (
        "打标完成：{total} 张图片，新写 {written}，追加 {appended}，没有变化 {unchanged}，保留原有标注 {kept}，"
        "失败 {failed}；用时 {seconds:.1f} 秒",
        "tagging done: {total} image(s), {written} written, {appended} appended to, {unchanged} unchanged, "
        "{kept} left alone, {failed} failed; {seconds:.1f} s",
    ),
    "tag.all_failed": (
        "{count} 张图片都无法打标，没有写任何标注。",
        "None of the {count} image(s) could be tagged; no caption was written.",
    ),
    "tag.stopped": (
        "打标已停止：完成了 {done}/{total} 张，已写好的标注都保留。",
        "tagging stopped after {done} of {total} image(s); the captions written are kept.",
    ),
    "tag.stopped_hint": (
        "用 skip 模式再打标一次，就会从没有标注的图片接着做。",
        "Tag again in skip mode to carry on with the images that have no caption.",
    ),
}
