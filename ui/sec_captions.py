"""一、路径 → 训练集: the caption editor, under the dataset check (issue 12, part 3).

Per `N_name` subfolder of the training folder: its tag table; add, remove or replace a tag in
every caption, or move the trigger word to the front, each shown first as "将修改 N 个文件"
(a plan, trainer/captions.py) and written only by Apply; undo of the last batch (kept in
Danlu's cache, so it survives a reload or a restart); and the images as thumbnails, where a
click shows that image's caption to edit and save.

After any edit the dataset check's report (when it is shown) is written again, and the step
arithmetic recounts: its poll timer is switched on with a state it cannot match, so its next
tick runs the same recount a form change runs (ui/sec_steps.py), against the folder as it is
now (ui/dataset_view.py keys its scans by the folders' mtimes, which every caption write
changes). The step counts do not depend on captions; what the recount picks up is a folder
that changed.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import gradio as gr

from trainer import captions
from trainer.captions import CaptionFolder, Plan
from trainer.errors import TrainerError

from . import caption_view as view
from .context import Page
from .datacheck import check_dataset
from .i18n import both, say, t
from .sec_steps import StepsSection

# Thumbnails go to the system's temporary folder: Gradio serves files from there (the training
# folder itself is never served), and they are made once per image version.
THUMBNAILS = Path(tempfile.gettempdir()) / "danlu-thumbnails"


@dataclass
class CaptionsSection:
    folder: gr.Dropdown
    reload: gr.Button
    summary: gr.Markdown  # the folder in a line and its tag table
    tag: gr.Dropdown  # the folder's tags, or one typed
    new: gr.Textbox
    add: gr.Button
    remove: gr.Button
    replace: gr.Button
    trigger: gr.Button
    preview: gr.Markdown  # "将修改 N 个文件" and the first changes
    apply: gr.Button
    undo: gr.Button
    result: gr.Markdown  # what Apply, Undo or Save did
    gallery: gr.Gallery
    gallery_note: gr.Markdown
    image: gr.Dropdown  # every image of the folder (the gallery may show fewer)
    caption: gr.Textbox
    save: gr.Button
    plan: gr.State  # the plan the preview shows: what Apply writes
    shown: gr.State  # the gallery's image names, in its order


def _button(page: Page, key: str, **extra) -> gr.Button:
    """A small button labelled with the page text `key` (its elem_id too), relabelled by the language switch."""
    return page.texts.add(gr.Button(t(key, page.lang), elem_id=key, size="sm", **extra), key, "value")


def build(page: Page) -> CaptionsSection:
    lang, texts = page.lang, page.texts
    with texts.add(gr.Accordion(t("cap_title", lang), open=False, elem_id="caption_editor"), "cap_title"):
        with gr.Row():
            folder = texts.add(gr.Dropdown(choices=[], value=None, label=t("cap_folder", lang), elem_id="cap_folder",
                                           scale=4), "cap_folder")
            reload = texts.add(gr.Button(t("cap_reload", lang), elem_id="cap_reload", size="sm", scale=1,
                                         elem_classes=["inline-button"]), "cap_reload", "value")
        summary = gr.Markdown(say("cap_none"), elem_id="cap_summary")
        with gr.Row():
            tag = gr.Dropdown(choices=[], value=None, allow_custom_value=True, filterable=True,
                              label=t("cap_tag", lang), info=t("cap_tag_info", lang), elem_id="cap_tag")
            texts.add(tag, "cap_tag")
            texts.add(tag, "cap_tag_info", "info")
            new = texts.add(gr.Textbox(label=t("cap_new", lang), elem_id="cap_new"), "cap_new")
        with gr.Row():
            add, remove = _button(page, "cap_add"), _button(page, "cap_remove")
            replace, trigger = _button(page, "cap_replace"), _button(page, "cap_trigger")
        preview = gr.Markdown("", elem_id="cap_preview")
        with gr.Row():
            apply = _button(page, "cap_apply", variant="primary")
            undo = _button(page, "cap_undo")
        result = gr.Markdown("", elem_id="cap_result", elem_classes=["notice"])
        gallery = texts.add(gr.Gallery(value=[], label=t("cap_gallery", lang), elem_id="cap_gallery", columns=8,
                                       height=300, allow_preview=False, object_fit="cover", interactive=False,
                                       buttons=[]), "cap_gallery")
        gallery_note = gr.Markdown("", elem_id="cap_gallery_note", elem_classes=["muted"])
        with gr.Row():
            image = texts.add(gr.Dropdown(choices=[], value=None, label=t("cap_image", lang), elem_id="cap_image",
                                          scale=1), "cap_image")
            caption = texts.add(gr.Textbox(label=t("cap_caption", lang), lines=2, elem_id="cap_text", scale=4),
                                "cap_caption")
        save = _button(page, "cap_save")
    return CaptionsSection(folder=folder, reload=reload, summary=summary, tag=tag, new=new, add=add, remove=remove,
                           replace=replace, trigger=trigger, preview=preview, apply=apply, undo=undo, result=result,
                           gallery=gallery, gallery_note=gallery_note, image=image, caption=caption, save=save,
                           plan=gr.State(None), shown=gr.State([]))


def _error(exc: TrainerError) -> str:
    return both(lambda lang: exc.line(lang))


def wire(page: Page, section: CaptionsSection, report: gr.Markdown, steps: StepsSection) -> None:
    """`report`: the dataset check's output; `steps`: the arithmetic's section (its poll timer and
    the state that timer compares)."""
    s = section
    train_dir = page.form.fields["train_data_dir"]
    extension = page.form.fields["caption_extension"]
    where = {train_dir, extension, s.folder}

    def folder_path(data: dict) -> Optional[Path]:
        name = data[s.folder]
        root = (data[train_dir] or "").strip()
        return Path(root) / name if name and root else None

    def read(data: dict) -> Optional[CaptionFolder]:
        path = folder_path(data)
        return captions.read_folder(path, data[extension] or ".txt") if path else None

    def caption_of(folder: CaptionFolder, name: Optional[str]) -> str:
        if not name:
            return ""
        try:
            return folder.file_of(name).line
        except TrainerError:
            return ""

    def refreshed(data: dict, folder: Optional[CaptionFolder]) -> dict:
        """The tag table, the tag list and the chosen image's caption, read again."""
        if folder is None:
            return {s.summary: say("cap_none"), s.tag: gr.update(choices=[]), s.caption: ""}
        return {s.summary: view.summary_markdown(folder), s.tag: gr.update(choices=view.tag_choices(folder)),
                s.caption: caption_of(folder, data[s.image])}

    view_outputs = [s.summary, s.tag, s.preview, s.result, s.plan, s.gallery, s.gallery_note, s.shown, s.image,
                    s.caption]

    def show(data: dict) -> dict:
        """Everything for the chosen folder: a folder chosen, or the training folder changed."""
        cleared = {s.preview: "", s.result: "", s.plan: None, s.caption: ""}
        try:
            folder = read(data)
        except TrainerError as exc:
            folder, problem = None, _error(exc)
        else:
            problem = None
        if folder is None:
            return {**cleared, s.summary: problem or say("cap_none"), s.tag: gr.update(choices=[], value=None),
                    s.gallery: [], s.gallery_note: "", s.shown: [], s.image: gr.update(choices=[], value=None)}
        thumbs = view.thumbnails(folder, THUMBNAILS)
        names = [f.image.name for f in folder.files]
        return {**cleared, s.summary: view.summary_markdown(folder),
                s.tag: gr.update(choices=view.tag_choices(folder), value=None), s.gallery: thumbs,
                s.gallery_note: view.thumbnails_note(folder), s.shown: [name for _, name in thumbs],
                s.image: gr.update(choices=names, value=None)}

    def list_folders(data: dict) -> dict:
        names = [p.name for p in captions.training_folders((data[train_dir] or "").strip())]
        chosen = data[s.folder] if data[s.folder] in names else (names[0] if names else None)
        return {s.folder: gr.update(choices=names, value=chosen), **show({**data, s.folder: chosen})}

    gr.on([train_dir.change, extension.change, s.reload.click], list_folders, inputs=where,
          outputs=[s.folder, *view_outputs], trigger_mode="always_last", show_progress="hidden")
    s.folder.input(show, inputs=where, outputs=view_outputs, show_progress="hidden")

    # ---- batch operations: a plan first, Apply writes it

    def planner(make: Callable[[CaptionFolder, dict], Plan]) -> Callable[[dict], dict]:
        def handler(data: dict) -> dict:
            try:
                folder = read(data)
                if folder is None:
                    return {s.preview: say("cap_none"), s.plan: None}
                plan = make(folder, data)
            except TrainerError as exc:
                return {s.preview: _error(exc), s.plan: None}
            return {s.preview: view.plan_markdown(plan), s.plan: plan}

        return handler

    asked = where | {s.tag, s.new}
    for button, make in ((s.add, lambda f, d: captions.plan_add(f, d[s.tag])),
                         (s.remove, lambda f, d: captions.plan_remove(f, d[s.tag])),
                         (s.replace, lambda f, d: captions.plan_replace(f, d[s.tag], d[s.new])),
                         (s.trigger, lambda f, d: captions.plan_move_trigger(f))):
        button.click(planner(make), inputs=asked, outputs=[s.preview, s.plan], show_progress="hidden")
    # A plan is for the tag it names: typing another one takes the preview away.
    gr.on([s.tag.input, s.new.input], lambda: ("", None), outputs=[s.preview, s.plan], show_progress="hidden")

    edited_outputs = [s.result, s.preview, s.plan, s.summary, s.tag, s.caption]

    def apply(data: dict) -> dict:
        plan: Optional[Plan] = data[s.plan]
        if plan is None:
            return {s.result: say("cap_no_plan")}
        try:
            outcome = captions.apply(plan)
            folder = read(data)
        except TrainerError as exc:
            return {s.result: _error(exc)}
        return {s.result: view.applied_markdown(plan, outcome), s.preview: "", s.plan: None,
                **refreshed(data, folder)}

    def undo(data: dict) -> dict:
        path = folder_path(data)
        if path is None:
            return {s.result: say("cap_none")}
        try:
            done = captions.undo(path)
            folder = read(data)
        except TrainerError as exc:
            return {s.result: _error(exc)}
        return {s.result: view.undone_markdown(done), s.preview: "", s.plan: None, **refreshed(data, folder)}

    # ---- one image's caption

    def pick(data: dict, evt: gr.SelectData) -> dict:
        names = data[s.shown]
        index = evt.index if isinstance(evt.index, int) else -1
        name = names[index] if 0 <= index < len(names) else None
        try:
            folder = read(data)
        except TrainerError as exc:
            return {s.result: _error(exc)}
        return {s.image: name, s.caption: caption_of(folder, name) if folder else ""}

    def choose(data: dict) -> dict:
        try:
            folder = read(data)
        except TrainerError as exc:
            return {s.result: _error(exc)}
        return {s.caption: caption_of(folder, data[s.image]) if folder else ""}

    def save(data: dict) -> dict:
        name = data[s.image]
        if not name:
            return {s.result: say("cap_pick_image")}
        try:
            folder = read(data)
            if folder is None:
                return {s.result: say("cap_none")}
            plan = captions.plan_set(folder, name, data[s.caption] or "")
            outcome = captions.apply(plan)
            folder = read(data)
        except TrainerError as exc:
            return {s.result: _error(exc)}
        # A batch preview counted the files as they were: it goes.
        return {s.result: view.applied_markdown(plan, outcome), s.preview: "", s.plan: None, **refreshed(data, folder)}

    s.gallery.select(pick, inputs=where | {s.shown}, outputs=[s.image, s.caption, s.result], show_progress="hidden")
    s.image.input(choose, inputs=where | {s.image}, outputs=[s.caption, s.result], show_progress="hidden")

    # ---- after an edit: the dataset check and the step arithmetic see the folder as it is now

    def after_edit(data: dict) -> dict:
        updates: dict = {steps.check_shown: "edited", steps.check_timer: gr.Timer(active=True)}
        if data[report]:  # the check is shown: write it again (never shown: nothing to refresh)
            updates[report] = check_dataset(page.form.values(data))
        return updates

    refresh_after = dict(fn=after_edit, inputs=page.form.inputs() | {report},
                         outputs=[report, steps.check_shown, steps.check_timer], show_progress="hidden")
    s.apply.click(apply, inputs=where | {s.plan, s.image}, outputs=edited_outputs,
                  show_progress="hidden").then(**refresh_after)
    s.undo.click(undo, inputs=where | {s.image}, outputs=edited_outputs, show_progress="hidden").then(**refresh_after)
    s.save.click(save, inputs=where | {s.image, s.caption}, outputs=edited_outputs,
                 show_progress="hidden").then(**refresh_after)
