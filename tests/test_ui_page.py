"""The page is built from the schema, and the UI process never imports the training stack."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from trainer.config import TrainConfig
from ui.formmap import network_arg_specs

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "diffusers", "peft", "accelerate", "transformers", "bitsandbytes")
# Modules that hold logic and must work without gradio (docs/DESIGN.md: jobs.py has no gradio in it).
GRADIO_FREE = ("jobs", "proc", "runstate", "formmap", "arithmetic", "datacheck", "dataset_view", "presets",
               "tensorboard", "i18n", "model_info", "panel_view")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_ui_module_imports_the_training_stack():
    for path in [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py"))]:
        assert not _imports(path) & set(HEAVY), path
    for name in GRADIO_FREE:
        assert "gradio" not in _imports(ROOT / "ui" / f"{name}.py"), name


def test_importing_app_and_building_the_page_leaves_torch_out(tmp_path):
    code = f"""
import json, sys
import app
from trainer.preflight import preflight  # what app.main imports
from ui.jobs import JobRegistry
from ui.page import build_page
from pathlib import Path
root = Path({str(tmp_path)!r})
demo = build_page(JobRegistry(root, watch=False), "zh", root)
fields = {{name: c.elem_id for name, c in demo.danlu_page.form.fields.items()}}
ids = [b.elem_id for b in demo.blocks.values() if getattr(b, "elem_id", None)]
print(json.dumps({{"heavy": [m for m in {HEAVY!r} if m in sys.modules], "fields": fields, "ids": ids}}))
"""
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"the UI process imported {report['heavy']}"
    # One component per schema field, its elem_id the config key, plus one per network_args entry
    # the form shows as a field of its own.
    expected = list(TrainConfig.model_fields) + list(network_arg_specs())
    assert report["fields"] == {name: name for name in expected}
    duplicates = {i for i in report["ids"] if report["ids"].count(i) > 1}
    assert not duplicates, f"elem_ids used twice: {duplicates}"
    for main in ("start", "stop", "save_now", "sample_now", "status", "log", "loss_chart", "samples"):
        assert main in report["ids"], main


def test_listen_without_auth_is_refused_before_anything_starts():
    result = subprocess.run([sys.executable, "app.py", "--listen", "--no-browser"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False"))
    assert result.returncode == 2
    assert "--auth" in result.stderr and "拒绝启动" in result.stderr and "Refusing to start" in result.stderr


def test_auth_with_a_user_only_generates_a_password():
    import app

    args = app.parse_args(["--listen", "--auth", "me"])
    user, password = app.credentials(args)
    assert user == "me" and len(password) >= 12 and args.generated_password == password
    assert app.credentials(app.parse_args(["--auth", "me:secret"])) == ("me", "secret")
