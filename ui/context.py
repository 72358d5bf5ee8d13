"""What every section of the page shares: the server's registry and readers, the form, the texts."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import gradio as gr

from .fields import Form, Texts
from .i18n import t
from .jobs import JobRegistry
from .presets import apply_preset, list_presets
from .runstate import RunReaders


def start_values(output_root: Path) -> dict:
    """The form as the page opens: the preset the preset box shows as chosen (the first one,
    the tutorial's beginner values), so the preset shown is the one in effect and a person who
    fills in only the base model and the images folder can start at once."""
    presets = list_presets()
    values = apply_preset(presets[0].path, {}) if presets else {}
    values["output_dir"] = str(output_root)
    return values


@dataclass
class Page:
    lang: str  # the language the page is built in (--lang); each tab may switch its own
    registry: JobRegistry
    readers: RunReaders
    output_root: Path
    listen: bool = False  # reachable from other computers (then TensorBoard, loopback only, is not)
    form: Form = field(init=False)
    texts: Texts = field(default_factory=Texts)
    lang_radio: Optional[gr.Radio] = None
    # {"run": name or None, "follow": bool}: which run this tab shows; follow = switch to the
    # next run the queue starts (off after a past run was opened on purpose).
    shown: Optional[gr.State] = None
    notice: Optional[gr.Markdown] = None  # one line answering the last button press
    tools: Optional[JobRegistry] = None  # tagging and download jobs (ui/tools.py), output/.tools/

    def __post_init__(self) -> None:
        self.form = Form(lang=self.lang, values_at_start=start_values(self.output_root))

    def title(self, key: str, level: int = 3) -> gr.Markdown:
        """A section heading that follows the language switch."""
        prefix = "#" * level + " "
        return self.texts.add(gr.Markdown(prefix + t(key, self.lang)), key, "value", lambda text: prefix + text)
