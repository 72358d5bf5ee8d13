"""The trainer's parts on their own: model detection and loading, text encoding, prompts, events."""
from __future__ import annotations

import pickle

import pytest
import torch
from conftest import ROOT, make_dataset, tiny_run_values

from trainer import events as ev
from trainer.errors import ModelError
from trainer.model_detect import detect_base_model
from trainer.prompts import load_prompts, parse_line


# ---- detection --------------------------------------------------------------------------

def test_detects_each_layout_and_family(tiny_sd15_file, tiny_sd15_folder, tiny_sdxl_file):
    assert (detect_base_model(tiny_sd15_file).family, detect_base_model(tiny_sd15_file).layout) == ("sd15", "single_file")
    assert (detect_base_model(tiny_sd15_folder).family, detect_base_model(tiny_sd15_folder).layout) == ("sd15", "diffusers")
    assert detect_base_model(tiny_sdxl_file).family == "sdxl"
    assert detect_base_model(tiny_sdxl_file).train_type == "sdxl-lora"


def test_a_lora_or_vae_given_as_base_model_says_what_it_is(tmp_path):
    from safetensors.torch import save_file

    lora = tmp_path / "some_lora.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(1, 1)}, str(lora))
    with pytest.raises(ModelError) as err:
        detect_base_model(lora)
    assert err.value.msg.id == "model.no_unet" and err.value.msg.args["what"].id == "model.looks_like_lora"
    assert "it looks like a LoRA, not a base model" in err.value.text("en")
    assert "LoRA，不是底模" in err.value.text("zh") and str(lora) in err.value.text("zh")
    assert err.value.hint_msg.id == "model.hint_full_model" and "底模" in err.value.hint_text("zh")
    vae = tmp_path / "vae.safetensors"
    save_file({"encoder.conv_in.weight": torch.zeros(1), "decoder.conv_out.weight": torch.zeros(1)}, str(vae))
    with pytest.raises(ModelError) as err:
        detect_base_model(vae)
    assert err.value.msg.args["what"].id == "model.looks_like_vae" and "put it in the vae field" in err.value.text("en")
    assert "vae 一栏" in err.value.text("zh")
    broken = tmp_path / "half_downloaded.safetensors"
    broken.write_bytes(b"\x10\x00")
    with pytest.raises(ModelError) as err:
        detect_base_model(broken)
    assert err.value.msg.id == "model.not_safetensors" and err.value.msg.args["detail"].id == "model.header_too_short"
    assert err.value.text("en") == f"Cannot read {broken} as a .safetensors file: the file is shorter than a safetensors header"
    assert "Download it again" in err.value.hint_text("en") and "重新下载" in err.value.hint_text("zh")
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(ModelError) as err:
        detect_base_model(missing)
    assert err.value.text("en") == f"Base model not found: {missing}" and err.value.text("zh") == f"找不到底模：{missing}"
    assert "pretrained_model_name_or_path" in err.value.hint_text("zh") and "训练底模" in err.value.hint_text("zh")


def test_untrainable_models_are_refused_in_both_languages():
    from trainer.model_detect import ModelInfo, check_trainable

    for info, msg_id, word_zh in [
        (ModelInfo("sd2", "single_file", "/m/v2-1_768.safetensors"), "model.sd2_not_supported", "SD2.x"),
        (ModelInfo("sdxl_refiner", "single_file", "/m/refiner.safetensors"), "model.refiner", "refiner"),
        (ModelInfo("sd15", "single_file", "/m/inpaint.safetensors", in_channels=9), "model.inpainting", "9 个输入通道"),
    ]:
        with pytest.raises(ModelError) as err:
            check_trainable(info)
        assert err.value.msg.id == msg_id and err.value.field == "pretrained_model_name_or_path"
        name = info.path.rsplit("/", 1)[1]
        assert err.value.text("en").startswith(name) and name in err.value.text("zh") and word_zh in err.value.text("zh")
        assert err.value.hint_text("zh").startswith("请选择") and err.value.hint_text("en").startswith("Choose")


def test_detection_does_not_import_torch(tiny_sd15_file):
    import subprocess
    import sys

    code = (f"import sys; from trainer.model_detect import detect_base_model; "
            f"print(detect_base_model(r'{tiny_sd15_file}').family); assert 'torch' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT))
    assert result.returncode == 0 and result.stdout.strip() == "sd15", result.stderr


# ---- loading ----------------------------------------------------------------------------

def _module_outputs(model):
    generator = torch.Generator().manual_seed(3)
    ids = model.tokenizer(["aidou, red block"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = model.text_encoder(ids).last_hidden_state
        out = model.unet(torch.randn(1, 4, 8, 8, generator=generator), torch.tensor([500]), hidden).sample
        latent = model.vae.encode(torch.rand(1, 3, 64, 64, generator=generator) * 2 - 1).latent_dist.mean
    return hidden, out, latent


def test_single_file_loads_as_the_same_model_as_the_diffusers_folder(tiny_sd15_file, tiny_sd15_folder):
    """Sizes read from tensor shapes + shipped configs give the very model that was saved."""
    from trainer.model_loading import load_base_model

    from_file = load_base_model(tiny_sd15_file)
    from_folder = load_base_model(tiny_sd15_folder)
    assert list(from_file.unet.config.block_out_channels) == [32, 64, 64]
    assert from_file.unet.config.layers_per_block == 1 and from_file.unet.config.cross_attention_dim == 32
    assert from_file.text_encoder.config.num_hidden_layers == 2
    for a, b in zip(_module_outputs(from_file), _module_outputs(from_folder)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_ckpt_loads_with_weights_only_and_refuses_code(tmp_path, tiny_sd15_file):
    from safetensors.torch import load_file

    from trainer.model_loading import load_state_dict_file

    ckpt = tmp_path / "model.ckpt"
    torch.save({"state_dict": load_file(str(tiny_sd15_file)), "global_step": 470000}, str(ckpt))
    assert "model.diffusion_model.input_blocks.0.0.weight" in load_state_dict_file(ckpt)

    class Payload:
        def __reduce__(self):
            return (print, ("this pickle runs code",))

    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"state_dict": Payload()}))
    with pytest.raises(ModelError) as err:
        load_state_dict_file(evil)
    assert err.value.msg.id == "model.unsafe_pickle" and err.value.text("en").startswith("evil.ckpt could not be loaded safely: ")
    assert "Use a .safetensors version of the model." in err.value.hint_text("en")
    assert ".safetensors 版本" in err.value.hint_text("zh")


# ---- text encoding ----------------------------------------------------------------------

def test_long_captions_and_clip_skip_follow_kohya(tiny_sd15_folder):
    from trainer.model_loading import load_base_model
    from trainer.text_encoding import encode, tokenize

    model = load_base_model(tiny_sd15_folder)
    caption = ", ".join(f"tag{i}" for i in range(60))  # well over 75 tokens
    ids = tokenize(model.tokenizer, [caption], 150)
    assert ids.shape == (1, 2, 77)
    assert ids[0, 0, 0] == ids[0, 1, 0] == 49406  # each chunk starts with BOS
    with torch.no_grad():
        assert encode(model.text_encoder, ids, None).shape == (1, 152, 32)  # BOS + 2 x 75 + EOS
        short = tokenize(model.tokenizer, ["a photo of a cat"], None)
        assert short[0, 0, :7].tolist() == [49406, 320, 1125, 539, 320, 2368, 49407]
        last = encode(model.text_encoder, short, None)
        skip2 = encode(model.text_encoder, short, 2)
        out = model.text_encoder(short[:, 0], output_hidden_states=True)
        penultimate = model.text_encoder.final_layer_norm(out.hidden_states[-2])
    torch.testing.assert_close(skip2, penultimate)
    assert not torch.allclose(last, skip2)


# ---- training options that change the loss ------------------------------------------------

def test_loss_options_train_and_stay_finite(tmp_path, tiny_sd15_folder):
    """min-SNR, noise offset, accumulation, checkpointing, clip skip, long captions, shuffled tags."""
    from trainer.config import config_from_dict
    from trainer.preflight import preflight
    from trainer.train import run_training

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 64), (64, 64)]})
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1, min_snr_gamma=5, noise_offset=0.05,
        gradient_accumulation_steps=2, gradient_checkpointing=True, clip_skip=2, max_token_length=150,
        shuffle_caption=True, keep_tokens=1, lr_scheduler="cosine_with_restarts", lr_warmup_steps=1,
    ))
    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    steps = [e for e in events if e.type == "step"]
    assert len(steps) == 5  # 9 batches, accumulation 2 -> ceil(9 / 2)
    assert all(0 < s.loss < 10 for s in steps)
    assert steps[0].lr_unet < 1e-3  # warm-up
    assert final.is_file()


ALL_OPTIMIZERS = ["AdamW", "AdamW8bit", "PagedAdamW8bit", "Lion", "Lion8bit", "PagedLion8bit", "SGDNesterov",
                  "SGDNesterov8bit", "DAdaptation", "DAdaptAdam", "DAdaptLion", "DAdaptAdaGrad", "DAdaptSGD", "Prodigy",
                  "AdaFactor", "torch.optim.RAdam"]


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS)
def test_every_optimizer_steps_and_logs_the_rate_it_used(tmp_path, tiny_sd15_folder, optimizer):
    from trainer.config import config_from_dict
    from trainer.optimizers import ADAPTIVE
    from trainer.preflight import preflight
    from trainer.train import run_training

    adaptive = optimizer.lower() in ADAPTIVE
    lr = 1.0 if adaptive else 1e-4
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64), (64, 64), (64, 64)]})
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1, optimizer_type=optimizer,
        learning_rate=lr, unet_lr=lr, text_encoder_lr=lr, network_train_unet_only=True,
        lr_scheduler="adafactor" if optimizer == "AdaFactor" else "constant",
    ))
    events = []
    run_training(cfg, preflight(cfg), events.append)
    steps = [e for e in events if e.type == "step"]
    assert len(steps) == 3 and all(s.lr_unet > 0 for s in steps[1:])
    if adaptive:  # the logged rate is d * lr, not the nominal 1
        assert steps[-1].lr_unet != 1.0
    assert not [e for e in events if e.type == "warning" and e.kind == "optimizer"]


def test_optimizer_traps_are_warned(tmp_path, tiny_sd15_folder):
    from trainer.optimizers import optimizer_warnings

    adaptive = optimizer_warnings("DAdaptation", [1e-4, 1e-5], "cosine")
    assert [m.id for m in adaptive] == ["optimizer.adaptive_lr_not_1", "optimizer.adaptive_scheduler"]
    assert "these are 0.0001, 1e-05. Set unet_lr and text_encoder_lr to 1." in adaptive[0].text("en")
    assert "现在是 0.0001、1e-05" in adaptive[0].text("zh")
    assert 'lr_scheduler = "constant"' in adaptive[1].text("zh") and "cosine" in adaptive[1].text("zh")
    assert optimizer_warnings("DAdaptation", [1.0, 1.0], "constant") == []
    (lion,) = optimizer_warnings("Lion", [1e-4 * 3], "constant")
    assert lion.id == "optimizer.lion_lr_high"
    assert "divides the rate by 3" in lion.text("en") and "for example 0.0001" in lion.text("en")
    assert "除以 3" in lion.text("zh") and "0.0003" in lion.text("zh")
    assert optimizer_warnings("Lion", [3e-5], "constant") == []
    assert [m.id for m in optimizer_warnings("AdaFactor", [1e-4], "constant")] == ["optimizer.adafactor_scheduler"]


def test_warmup_ratio_and_polynomial_power():
    from trainer.optimizers import build_scheduler, warmup_steps

    assert warmup_steps(0.1, 200) == 20 and warmup_steps(15, 200) == 15
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = build_scheduler("polynomial", optimizer, warmup=0, total_steps=10, num_cycles=1, power=2.0)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx((1 - 5 / 10) ** 2, abs=1e-6)


# ---- prompts and events -----------------------------------------------------------------

def test_kohya_prompt_lines():
    p = parse_line("masterpiece, 1girl --n lowres, bad hands --w 513 --h 768 --d 42 --l 6.5 --s 28", (512, 512))
    assert (p.prompt, p.negative_prompt) == ("masterpiece, 1girl", "lowres, bad hands")
    assert (p.width, p.height, p.seed, p.scale, p.steps) == (512, 768, 42, 6.5, 28)
    prompts = load_prompts("# a comment\n\nfirst --w 64\nsecond", (256, 256))
    assert [(x.prompt, x.width, x.height) for x in prompts] == [("first", 64, 256), ("second", 256, 256)]


def test_prompt_errors_say_what_to_write_in_both_languages(tmp_path):
    from trainer.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_line("1girl --w wide", (512, 512))
    assert err.value.text("en") == "Preview prompt option --w has the value 'wide', which is not a number: 1girl --w wide"
    assert err.value.text("zh") == "预览图提示词的参数 --w 的值是“wide”，不是数字：1girl --w wide"
    assert "--w 512" in err.value.hint_text("zh") and err.value.field == "sample_prompts"
    with pytest.raises(ConfigError) as err:
        load_prompts(str(tmp_path / "missing.txt"), (512, 512))
    assert err.value.msg.id == "prompts.file_not_found" and "sample_prompts" in err.value.hint_text("zh")
    with pytest.raises(ConfigError) as err:
        load_prompts(str(tmp_path / "p.toml"), (512, 512))
    assert err.value.text("en") == "p.toml: TOML prompt files are not supported yet." and ".txt" in err.value.hint_text("zh")
    for name, text, msg_id in [("bad.json", "[{", "prompts.bad_json"), ("items.json", '["1girl"]', "prompts.bad_json_item")]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_prompts(str(tmp_path / name), (512, 512))
        assert err.value.msg.id == msg_id and '[{"prompt": "1girl", "width": 512}]' in err.value.hint_text("en")


def test_events_round_trip_and_tolerate_a_half_written_line(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = ev.EventWriter(path)
    writer.emit(ev.Step(step=1, total_steps=2, epoch=1, loss=float("nan"), avg_loss=0.5, lr_unet=1e-4,
                        lr_text_encoder=None, it_per_s=2.0, eta_s=0.5))
    writer.emit(ev.ErrorEvent(kind="data", message="图片损坏: a.png", hint="re-save it"))
    writer.close()
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"type": "step", "step": 2')  # the trainer is mid-write
    reader = ev.EventReader(path)
    first = reader.read_new()
    assert [e.type for e in first] == ["step", "error"]
    assert first[0].loss == "nan" and first[1].message == "图片损坏: a.png"
    assert reader.read_new() == []
    with open(path, "a", encoding="utf-8") as f:
        f.write(', "total_steps": 2, "epoch": 1, "loss": 0.4, "avg_loss": 0.4, "lr_unet": null, '
                '"lr_text_encoder": null, "it_per_s": 1, "eta_s": 0, "new_field": 1}\n')
    (second,) = reader.read_new()
    assert second.step == 2 and second.extra == {"new_field": 1}
