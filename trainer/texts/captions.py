"""Messages of the caption editor (see trainer/texts/__init__.py): trainer/captions.py.

Words of the tutorial: 标注 (caption), tag, 触发词 (trigger word).
"""

TEXTS: dict[str, tuple[str, str]] = {
    "captions.no_tag": ("先填写一个 tag。", "Type a tag first."),
    "captions.one_tag": (
        "一次只能填一个 tag（不能含逗号或换行）：{tag}",
        "One tag at a time (no commas or line breaks): {tag}",
    ),
    "captions.no_trigger": (
        "{folder} 的文件夹名没有触发词部分（应写成 repeat_触发词，例如 10_aidou），"
        "所以没有可以移到最前面的触发词。",
        "The folder name {folder} has no trigger word (name it repeat_trigger, e.g. 10_aidou), so there is "
        "no trigger word to move to the front.",
    ),
    "captions.not_a_subset": (
        "{folder} 不是训练集里「repeat次数_触发词」形式的子文件夹：{reason}",
        "{folder} is not a <repeats>_<trigger word> subfolder of the training folder: {reason}",
    ),
    "captions.bad_extension": (
        "标注文件扩展名不能包含路径分隔符：{extension}",
        "The caption file extension may not contain a path separator: {extension}",
    ),
    "captions.no_such_image": ("{name} 不是这个文件夹里的图片。", "{name} is not an image in this folder."),
    "captions.write_failed": ("写不进去：{detail}", "cannot be written: {detail}"),
    "captions.journal_unwritable": (
        "撤销记录写不进去（{path}：{detail}），为了能撤销，这次没有修改任何标注文件。",
        "The undo record cannot be written ({path}: {detail}); so that the change could be undone, no "
        "caption file was changed.",
    ),
}
