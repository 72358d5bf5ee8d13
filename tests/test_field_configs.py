"""Configs written by the tools people come from train in Danlu unchanged, with the same meaning.

tests/data/field_configs/ holds lora-scripts' shipped configs and the files its GUI saves,
the run files kohya_ss writes for sd-scripts, and sd-scripts' own --output_config (each
names its source in its first line). Only their paths are pointed at test data here. Each
must load with sd-scripts' meaning (what Danlu reads differently is said in a note), pass
the preflight against a real (tiny) base model and data set, and the lora-scripts files
train for real through the CLI. The one kohya_ss file that asks for something Danlu cannot
do (caption dropout) is refused naming exactly that option.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_dataset

from trainer.config import TrainConfig, load_config
from trainer.errors import ConfigError
from trainer.events import read_events
from trainer.preflight import preflight

ROOT = Path(__file__).resolve().parents[1]
FIELD = ROOT / "tests" / "data" / "field_configs"
SD15 = [
    "lora_scripts_default.toml",
    "lora_scripts_lora.toml",
    "lora_scripts_gui_master_sd.toml",
    "lora_scripts_gui_master_sd_preview.toml",
    "lora_scripts_gui_basic.toml",
    "lora_scripts_gui_export_master_sd_preview.toml",
    "kohya_ss_gui_lora_sd15_defaults.toml",
    "sd_scripts_output_config_sd15.toml",
    # LoCon, LoHa, LoKr (networks.lora's conv_dim and LyCORIS' lycoris.kohya)
    "lora_scripts_gui_master_sd_lycoris_lokr.toml",
    "kohya_ss_gui_kohya_locon_sd15.toml",
    "kohya_ss_gui_loha_sd15.toml",
    "kohya_ss_gui_lokr_sd15.toml",
]
SDXL = ["lora_scripts_gui_master_sdxl.toml", "lora_scripts_gui_master_sdxl_lycoris_dora.toml"]


CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff60\u3000-\u303f]")


def place(name: str, folder: Path, model: Path) -> Path:
    """The field file with its placeholders pointed at this test's model, data and output."""
    data = make_dataset(folder / "train", {"1_aki": [(64, 64)]}) if not (folder / "train").exists() else folder / "train"
    for image in data.rglob("*.png"):  # sd-scripts' --output_config example reads .caption files
        shutil.copy(image.with_suffix(".txt"), image.with_suffix(".caption"))
    output = folder / "output"
    (output / "sample").mkdir(parents=True, exist_ok=True)
    (output / "sample" / "prompt.txt").write_text("", encoding="utf-8")  # kohya_ss writes it, empty by default
    prompts = folder / "prompts.txt"
    shutil.copy(FIELD / "lora_scripts_gui_master_sd_preview-promopt.txt", prompts)
    text = (FIELD / name).read_text(encoding="utf-8")
    for placeholder, path in (("@MODEL@", model), ("@DATA@", data), ("@OUTPUT@", output), ("@PROMPT_FILE@", prompts)):
        text = text.replace(placeholder, path.as_posix())
    target = folder / name
    target.write_text(text, encoding="utf-8")
    return target


def note_ids(cfg: TrainConfig) -> set[str]:
    return {n.id for n in cfg.notes}


def test_every_field_file_is_here():
    # The parametrised tests below would pass vacuously on an empty folder.
    assert {p.name for p in FIELD.glob("*.toml")} == set(SD15 + SDXL + ["kohya_ss_gui_lora_sdxl_preset.toml"])


@pytest.mark.parametrize("name", SD15)
def test_sd15_field_configs_load_and_pass_the_preflight(name, tmp_path, tiny_sd15_file, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths (logging_dir = "./logs") are read from here, as sd-scripts does
    cfg = load_config(place(name, tmp_path, tiny_sd15_file))
    checked = preflight(cfg)
    assert checked.info.family == "sd15" and checked.plan.total_steps > 0
    assert cfg.notes, "each of these files holds something read differently, and says so"
    for note in cfg.notes:  # every reading is said in both languages
        assert CJK.search(note.text("zh")) and not CJK.search(note.text("en")), note.id


@pytest.mark.parametrize("name", SDXL)
def test_sdxl_field_configs_load_and_pass_the_preflight(name, tmp_path, tiny_sdxl_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(place(name, tmp_path, tiny_sdxl_file))
    assert preflight(cfg).info.family == "sdxl"


def test_what_each_tool_means_is_what_danlu_reads(tmp_path, tiny_sd15_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # lora-scripts' shipped file: previews every epoch, prompts come from its command line.
    cfg = load_config(place("lora_scripts_default.toml", tmp_path, tiny_sd15_file))
    assert cfg.sample_every_n_epochs == 1 and not cfg.sample_prompts
    assert "config.note_preview_without_prompts" in note_ids(cfg)
    # kohya_ss: text_encoder_lr = [x, x], max_timestep = 1000, its own form keys, huber_scale at its default.
    cfg = load_config(place("kohya_ss_gui_lora_sd15_defaults.toml", tmp_path, tiny_sd15_file))
    assert cfg.text_encoder_lr == 0.0001 and cfg.max_train_steps == 1600
    assert {"config.note_same_as_default", "config.note_gui_key_ignored", "config.note_default_ignored"} <= note_ids(cfg)
    assert {"max_timestep", "huber_scale"} <= set(cfg.ignored_keys)
    # lora-scripts' exported file: the preview form becomes the prompt line its backend would write.
    cfg = load_config(place("lora_scripts_gui_export_master_sd_preview.toml", tmp_path, tiny_sd15_file))
    assert cfg.sample_prompts and "--w" in cfg.sample_prompts and "config.note_prompt_form" in note_ids(cfg)
    # sd-scripts' own output config leaves out what it leaves at its defaults: dim 4, alpha 1, constant, .caption.
    cfg = load_config(place("sd_scripts_output_config_sd15.toml", tmp_path, tiny_sd15_file))
    assert (cfg.network_dim, cfg.network_alpha, cfg.lr_scheduler) == (4, 1.0, "constant")
    assert cfg.caption_extension == ".caption" and "config.note_sd_scripts_defaults" in note_ids(cfg)


def test_the_one_kohya_ss_file_danlu_cannot_train_is_refused_naming_only_that(tmp_path, tiny_sdxl_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        load_config(place("kohya_ss_gui_lora_sdxl_preset.toml", tmp_path, tiny_sdxl_file))
    assert [p.field for p in refused.value.problems] == ["caption_dropout_rate"]
    assert "caption_dropout_rate" in refused.value.hint_text("zh") + refused.value.text("zh")


def test_the_network_each_tool_asks_for_is_what_danlu_reads(tmp_path, tiny_sd15_file, tiny_sdxl_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # kohya_ss' "Kohya LoCon": kohya's own LoCon.
    cfg = load_config(place("kohya_ss_gui_kohya_locon_sd15.toml", tmp_path, tiny_sd15_file))
    assert (cfg.network_module, cfg.network_args) == ("networks.lora", ["conv_dim=1", "conv_alpha=1"])
    # kohya_ss' LyCORIS types write every LyCORIS widget; its LoKr writes decompose_both=False, which
    # LyCORIS reads as on, so Danlu trains it on too and says so.
    cfg = load_config(place("kohya_ss_gui_lokr_sd15.toml", tmp_path, tiny_sd15_file))
    assert cfg.network_module == "lycoris.kohya" and "algo=lokr" in cfg.network_args
    assert "config.note_decompose_both_text" in note_ids(cfg)
    cfg = load_config(place("kohya_ss_gui_loha_sd15.toml", tmp_path, tiny_sd15_file))
    assert "algo=loha" in cfg.network_args and "config.note_decompose_both_text" not in note_ids(cfg)
    # lora-scripts' LyCORIS form: conv_dim, conv_alpha, dropout, algo and the LoKr factor.
    cfg = load_config(place("lora_scripts_gui_master_sd_lycoris_lokr.toml", tmp_path, tiny_sd15_file))
    assert cfg.network_args == ["conv_dim=4", "conv_alpha=1", "dropout=0", "algo=lokr", "factor=-1"]
    # DoRA without wd_on_output: trained with the magnitude per input channel, written into the run's args.
    cfg = load_config(place("lora_scripts_gui_master_sdxl_lycoris_dora.toml", tmp_path, tiny_sdxl_file))
    assert cfg.network_args[-2:] == ["dora_wd=True", "wd_on_output=False"] and "config.note_dora_axis" in note_ids(cfg)


@pytest.mark.parametrize("name", ["lora_scripts_default.toml", "lora_scripts_gui_master_sd.toml",
                                  "lora_scripts_gui_master_sd_lycoris_lokr.toml"])
def test_lora_scripts_files_train_unchanged(name, tmp_path, tiny_sd15_file, monkeypatch):
    config = place(name, tmp_path, tiny_sd15_file)
    # Run from the test's folder: these files name their logging_dir relative to where sd-scripts runs.
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "trainer", "--config", str(config), "--lang", "zh"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    monkeypatch.chdir(tmp_path)
    cfg = load_config(config)
    output = Path(cfg.output_dir)
    assert (output / f"{cfg.output_name}.safetensors").is_file()
    finished = [e for e in read_events(output / "events.jsonl") if e.type == "finished"]
    assert finished and finished[-1].status == "ok"
    log = (output / "train.log").read_text(encoding="utf-8")
    assert "忽略" in log  # the notes on what was read differently reach train.log, in the run's language
    assert list((tmp_path / "logs").rglob("events.out.tfevents.*"))  # logging_dir = "./logs", from the run's folder
