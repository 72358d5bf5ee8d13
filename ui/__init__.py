"""Danlu's web page (Gradio) and the job registry behind it.

Modules without gradio (jobs, proc, runstate, formmap, arithmetic, datacheck, presets,
tensorboard, i18n) hold the logic and are unit-tested on their own; the gradio modules
(fields, sec_*, run_panel, runs_tab, page) only lay out components and wire events.
Nothing here imports torch: the trainer runs in its own process.
"""
