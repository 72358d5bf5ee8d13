"""The run panel: Start / Stop / Save now / Preview now, and the live view of one run.

Live areas (elem_ids): status, messages, loss_chart, samples, loras, log, queue. They are
refreshed by polling (`gr.Timer(1.0).tick`), reading the run folder through the shared
RunReaders: the run lives in its own process and the page only looks at its folder, so a
closed, reloaded or second tab shows the same run. Each tab remembers what it last
received (`seen`) and is sent only what changed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import gradio as gr

from trainer.config import TrainConfig

from . import panel_view as view
from . import sec_compare
from .context import Page
from .config_box import load_into_form
from .formmap import format_float, read_config_text
from .i18n import both, say, t
from .jobs import RUN_KINDS, Job
from .runstate import log_tail, lora_files, run_config, state_folders
from .submit import submit
from .tensorboard import TensorBoardFailed, ensure_tensorboard


@dataclass
class RunPanel:
    start: gr.Button
    stop: gr.Button
    save_now: gr.Button
    sample_now: gr.Button
    tensorboard: gr.Button
    tb_link: gr.HTML
    queue: gr.HTML
    status: gr.HTML
    messages: gr.HTML
    lr_group: gr.Group
    lr_text: gr.Markdown
    lr_chart: gr.LinePlot
    fill_adamw: gr.Button
    fill_lion: gr.Button
    loss_chart: gr.LinePlot
    samples: gr.Gallery
    loras: gr.HTML
    resume: gr.Button
    log: gr.Textbox
    timer: gr.Timer
    seen: gr.State
    compare: sec_compare.CompareSection = None  # type: ignore[assignment]


def build(page: Page) -> RunPanel:
    lang, texts = page.lang, page.texts
    page.title("section_run")
    with gr.Row():
        start = texts.add(gr.Button(t("start", lang), variant="primary", elem_id="start", scale=2), "start", "value")
        stop = texts.add(gr.Button(t("stop", lang), variant="stop", elem_id="stop", interactive=False), "stop", "value")
    with gr.Row():
        save_now = texts.add(gr.Button(t("save_now", lang), elem_id="save_now", size="sm", interactive=False),
                             "save_now", "value")
        sample_now = texts.add(gr.Button(t("sample_now", lang), elem_id="sample_now", size="sm", interactive=False),
                               "sample_now", "value")
        tensorboard = texts.add(gr.Button(t("tensorboard", lang), elem_id="open_tensorboard", size="sm"),
                                "tensorboard", "value")
    page.notice = gr.Markdown("", elem_id="notice", visible=False, elem_classes=["notice"])
    tb_link = gr.HTML("", elem_id="tensorboard_link", visible=False)
    queue = gr.HTML("", elem_id="queue", visible=False)
    # Both languages until the first refresh (a second later) writes the run's status in the chosen one.
    status = gr.HTML(both(lambda chosen: view.status_html(None, None, chosen)), elem_id="status")
    messages = gr.HTML("", elem_id="messages", visible=False)
    with gr.Group(visible=False, elem_id="lr_finder") as lr_group:
        page.title("lr_finder_title", level=4)
        lr_text = gr.Markdown("", elem_id="lr_finder_text")
        lr_chart = gr.LinePlot(x="step", y="lr", height=180, show_label=False, elem_id="lr_chart")
        with gr.Row():
            fill_adamw = texts.add(gr.Button(t("lr_finder_fill_adamw", lang), size="sm", elem_id="fill_adamw"),
                                   "lr_finder_fill_adamw", "value")
            fill_lion = texts.add(gr.Button(t("lr_finder_fill_lion", lang), size="sm", elem_id="fill_lion"),
                                  "lr_finder_fill_lion", "value")
    loss_chart = texts.add(gr.LinePlot(view.loss_frame(None, lang), x="step", y="loss", color="series",
                                       color_map=view.LOSS_COLORS, colors_in_legend=[], label=t("loss_label", lang), height=260,
                                       elem_id="loss_chart"), "loss_label")
    samples = texts.add(gr.Gallery(label=t("samples_label", lang), columns=4, height=420, object_fit="contain",
                                   elem_id="samples", interactive=False, visible=False), "samples_label")
    page.title("loras_label", level=4)
    loras = gr.HTML("", elem_id="loras")
    resume = texts.add(gr.Button(t("resume_button", lang), elem_id="resume_run", size="sm", visible=False),
                       "resume_button", "value")
    compare = sec_compare.build(page)
    log = texts.add(gr.Textbox("", label=t("log_label", lang), lines=12, max_lines=12, autoscroll=True,
                               interactive=False, elem_id="log"), "log_label")
    return RunPanel(start=start, stop=stop, save_now=save_now, sample_now=sample_now, tensorboard=tensorboard,
                    tb_link=tb_link, queue=queue, status=status, messages=messages, lr_group=lr_group, lr_text=lr_text,
                    lr_chart=lr_chart, fill_adamw=fill_adamw, fill_lion=fill_lion, loss_chart=loss_chart,
                    samples=samples, loras=loras, resume=resume, log=log, timer=gr.Timer(1.0), seen=gr.State({}),
                    compare=compare)


def choose_job(page: Page, shown: dict) -> tuple[Optional[Job], Optional[dict]]:
    """The run this tab shows, and the new `shown` value when it changed on its own.

    A tab that follows (the default) moves on to the run the queue started once its run
    has ended; with nothing chosen yet it shows the running job, else the newest.
    """
    name, follow = shown.get("run"), shown.get("follow", True)
    job = page.registry.get(name) if name else None
    if job is not None and (not follow or job.active or job.status == "queued"):
        return job, None
    active = page.registry.active(kinds=RUN_KINDS)
    if job is not None and (active is None or active.name == job.name):
        return job, None
    pick = active
    if pick is None:
        jobs = page.registry.jobs(kinds=RUN_KINDS)
        pick = jobs[0] if jobs else None
    if pick is None:
        return None, None
    return pick, {"run": pick.name, "follow": True}


def _log_signature(job: Optional[Job]) -> tuple:
    if job is None:
        return ()
    try:
        stat = (job.folder / "console.log").stat()
    except FileNotFoundError:
        return (job.name,)
    return job.name, stat.st_size, stat.st_mtime_ns


def refresh(page: Page, panel: RunPanel, data: dict) -> dict:
    """One poll: only the areas whose content changed since this tab last looked."""
    lang = data[page.lang_radio]
    seen = dict(data[panel.seen] or {})
    job, new_shown = choose_job(page, data[page.shown] or {})
    out: dict[Any, Any] = {}
    if new_shown is not None:
        out[page.shown] = new_shown
    state = page.readers.state(job.folder) if job else None
    files = tuple(f.path.name for f in lora_files(job.folder)) if job else ()
    key = (job.name if job else None, job.status if job else None, job.killed if job else None,
           state.version if state else -1, files, lang)
    if seen.get("main") != key:
        seen["main"] = key
        config = run_config(job.folder) if job else {}
        out[panel.status] = view.status_html(job, state, lang)
        messages = view.messages_html(job, state, lang)
        out[panel.messages] = gr.update(value=messages, visible=bool(messages))
        out[panel.loss_chart] = view.loss_frame(state, lang)
        out[panel.loras] = view.loras_html(job, state, lang, str(config.get("output_name", "lora")))
        items, width = view.gallery_items(state, lang)
        gallery_key = (tuple(items), width)
        if seen.get("gallery") != gallery_key:
            seen["gallery"] = gallery_key
            out[panel.samples] = gr.update(value=items, columns=width, visible=bool(items))
        adaptive = view.adaptive_run(state, config)
        out[panel.lr_group] = gr.update(visible=adaptive)
        if adaptive and state is not None:
            out[panel.lr_text] = view.lr_markdown(state, lang)
            out[panel.lr_chart] = view.lr_frame(state)
        running = bool(job and job.status == "running")
        out[panel.stop] = gr.update(interactive=bool(job and (job.active or job.status == "queued")))
        out[panel.save_now] = gr.update(interactive=running)
        out[panel.sample_now] = gr.update(interactive=running)
        # A stopped (or state-saving) run can go on from its saved training state.
        out[panel.resume] = gr.update(visible=bool(job and not job.active and job.status != "queued"
                                                   and state_folders(job.folder)))
    log_key = _log_signature(job)
    if seen.get("log") != log_key:
        seen["log"] = log_key
        out[panel.log] = log_tail(job.folder) if job else ""
    queue = view.queue_html(page.registry.queue(), lang)
    if seen.get("queue") != queue:
        seen["queue"] = queue
        out[panel.queue] = gr.update(value=queue, visible=bool(queue))
    out[panel.seen] = seen
    return out


def _notice(key: str, **values) -> dict:
    """The answer to a button press, in both languages (ui/i18n.py both())."""
    return gr.update(value=say(key, **values), visible=True)


def wire(page: Page, panel: RunPanel) -> None:
    registry = page.registry
    lang_radio = page.lang_radio
    shown_name = lambda data: (data[page.shown] or {}).get("run")  # noqa: E731

    panel.start.click(lambda data: submit(page, data), inputs=page.form.inputs() | {lang_radio},
                      outputs=set(page.form.errors.values()) | {page.notice, page.shown})

    def stop(data: dict) -> dict:
        name = shown_name(data)
        result = registry.stop(name) if name else "not_active"
        if result == "cancelled":
            return {page.notice: _notice("cancelled_run", name=name)}
        if result == "stopping":
            grace = int(registry.stop_grace_s + registry.kill_grace_s)
            return {page.notice: _notice("stop_sent", grace=grace)}
        return {page.notice: _notice("nothing_running")}

    panel.stop.click(stop, inputs={page.shown, lang_radio}, outputs={page.notice})

    def request(command: str, key: str):
        def handler(data: dict) -> dict:
            name = shown_name(data)
            if name and registry.request(name, command):
                text = both(lambda lang: t("request_sent", lang, what=t(key, lang)))
                return {page.notice: gr.update(value=text, visible=True)}
            return {page.notice: _notice("nothing_running")}
        return handler

    panel.save_now.click(request("save", "save_now"), inputs={page.shown, lang_radio}, outputs={page.notice})
    panel.sample_now.click(request("sample", "sample_now"), inputs={page.shown, lang_radio}, outputs={page.notice})

    def open_tensorboard(data: dict) -> dict:
        return gr.update(value=tensorboard_html(data), visible=True)

    def tensorboard_html(data: dict) -> str:
        name = shown_name(data)
        job = registry.get(name) if name else None
        if job is None:
            return both(lambda lang: view.e(t("nothing_running", lang)))
        logdir = run_config(job.folder).get("logging_dir") or str(job.folder / "logs")
        if not Path(logdir).is_dir():
            return both(lambda lang: view.e(t("tb_no_logs", lang)))
        try:
            url = ensure_tensorboard(Path(logdir), job.folder / "tensorboard.log")
        except TensorBoardFailed as exc:
            failed = exc
            return both(lambda lang: view.e(t("tb_failed", lang, message=t(failed.key, lang, **failed.values))))
        except OSError as exc:
            detail = exc.strerror or str(exc)
            return both(lambda lang: view.e(t("tb_failed", lang, message=detail)))
        link = f"<a href='{view.e(url)}' target='_blank' rel='noopener'>{view.e(url)}</a>"
        return both(lambda lang: f"{view.e(t('tb_started', lang))}{link} "
                                 f"{view.e(t('tb_remote', lang) if page.listen else '')}")

    panel.tensorboard.click(open_tensorboard, inputs={page.shown, lang_radio}, outputs=panel.tb_link)

    def fill(optimizer: str, divisor: float):
        def handler(data: dict) -> dict:
            name = shown_name(data)
            job = registry.get(name) if name else None
            found = view.lr_suggestion(page.readers.state(job.folder)) if job else None
            if found is None:
                return {page.notice: _notice("lr_finder_none")}
            unet = view.round_rate(found[0] / divisor)
            fields = page.form.fields
            return {
                fields["optimizer_type"]: optimizer,
                fields["unet_lr"]: format_float(unet),
                fields["text_encoder_lr"]: format_float(view.round_rate(unet / 10)),
                fields["learning_rate"]: format_float(unet),
                fields["lr_scheduler"]: TrainConfig.model_fields["lr_scheduler"].default,
                page.notice: _notice("lr_finder_filled", unet=format_float(unet), optimizer=optimizer),
            }
        return handler

    fill_outputs = {page.form.fields[n] for n in ("optimizer_type", "unet_lr", "text_encoder_lr", "learning_rate",
                                                  "lr_scheduler")} | {page.notice}
    # The tutorial: train with the found rate using AdamW8bit, or Lion with a third of it.
    panel.fill_adamw.click(fill("AdamW8bit", 1.0), inputs={page.shown, lang_radio}, outputs=fill_outputs)
    panel.fill_lion.click(fill("Lion", 3.0), inputs={page.shown, lang_radio}, outputs=fill_outputs)

    def resume(data: dict) -> dict:
        name = shown_name(data)
        job = registry.get(name) if name else None
        states = state_folders(job.folder) if job else []
        if not states:
            return {page.notice: _notice("nothing_running")}
        try:
            loaded = read_config_text((job.folder / "config.toml").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
            return {page.notice: _notice("toml_read_error", message=str(exc))}
        loaded.form["resume"] = str(states[-1])
        updates = load_into_form(page, data, loaded, job.name)
        updates[page.notice] = _notice("resume_ready", state=states[-1].name, name=job.name)
        return updates

    form = page.form
    panel.resume.click(resume, inputs=form.inputs() | {page.shown, lang_radio},
                       outputs=set(form.fields.values()) | set(form.errors.values()) | {page.notice})

    live = {panel.status, panel.messages, panel.loss_chart, panel.samples, panel.loras, panel.log, panel.queue,
            panel.lr_group, panel.lr_text, panel.lr_chart, panel.stop, panel.save_now, panel.sample_now, panel.resume,
            panel.seen,
            page.shown}
    panel.timer.tick(lambda data: refresh(page, panel, data), inputs={page.shown, lang_radio, panel.seen},
                     outputs=live, show_progress="hidden", concurrency_limit=None)
