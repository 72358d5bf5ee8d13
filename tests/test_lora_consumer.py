"""The LoRA file in a real consumer: diffusers' load_lora_weights must reproduce the trained model.

Trains in-process (trainer.train.run_training, the same code the CLI runs) so the trained
modules are at hand, then loads the written kohya file into a fresh pipeline built from the
original-layout single file and compares U-Net and text-encoder outputs.
"""
from __future__ import annotations

import pytest
import torch
from conftest import make_dataset, tiny_run_values

from trainer.config import config_from_dict
from trainer.preflight import preflight
from trainer.train import run_training


def _train(tmp_path, model, **overrides):
    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64), (64, 64)]})
    cfg = config_from_dict(tiny_run_values(model, data, tmp_path / "out", max_train_epochs=2, **overrides))
    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    return final, run, events


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_sd15_file):
    return _train(tmp_path_factory.mktemp("consumer"), tiny_sd15_file)


def _fresh_pipeline(tiny_sd15_file, tiny_sd15_folder):
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline.from_single_file(
        str(tiny_sd15_file), config=str(tiny_sd15_folder), local_files_only=True,
        safety_checker=None, requires_safety_checker=False,
    )


def _probe_inputs(tokenizer):
    generator = torch.Generator().manual_seed(7)
    latents = torch.randn(2, 4, 8, 8, generator=generator)
    ids = tokenizer(["aidou, 1girl, red block", "a photo of a cat"], padding="max_length", max_length=77,
                    truncation=True, return_tensors="pt").input_ids
    return latents, torch.tensor([999, 250]), ids


@torch.no_grad()
def _outputs(unet, text_encoder, latents, timesteps, ids):
    hidden = text_encoder(ids).last_hidden_state
    return hidden, unet(latents, timesteps, hidden).sample


def test_load_lora_weights_reproduces_the_trained_model(trained, tiny_sd15_file, tiny_sd15_folder):
    final, run, _ = trained
    run.model.unet.eval()
    run.model.text_encoder.eval()
    latents, timesteps, ids = _probe_inputs(run.model.tokenizer)
    trained_hidden, trained_out = _outputs(run.model.unet, run.model.text_encoder, latents, timesteps, ids)

    pipe = _fresh_pipeline(tiny_sd15_file, tiny_sd15_folder)
    base_hidden, base_out = _outputs(pipe.unet, pipe.text_encoder, latents, timesteps, ids)
    pipe.load_lora_weights(str(final))  # raises if any kohya key is left unconverted
    lora_hidden, lora_out = _outputs(pipe.unet, pipe.text_encoder, latents, timesteps, ids)

    # The LoRA changes both models...
    assert (lora_hidden - base_hidden).abs().max() > 1e-3
    assert (lora_out - base_out).abs().max() > 1e-4
    # ...and the file reproduces exactly what was trained (alpha/rank scale, every layer, both encoders).
    torch.testing.assert_close(lora_hidden, trained_hidden, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(lora_out, trained_out, atol=1e-5, rtol=1e-4)


def test_same_seed_same_lora(tmp_path, tiny_sd15_file, trained):
    from safetensors.torch import load_file

    final, _, _ = trained
    again, _, _ = _train(tmp_path, tiny_sd15_file)
    first, second = load_file(str(final)), load_file(str(again))
    assert first.keys() == second.keys() and first
    for key in first:
        torch.testing.assert_close(first[key], second[key], atol=0, rtol=0)


def test_network_weights_starts_from_an_existing_lora(tmp_path, tiny_sd15_file, trained):
    """network_weights with another alpha: the starting model equals the file's model."""
    final, first_run, _ = trained
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_file, make_dataset(tmp_path / "train", {"1_x": [(64, 64)]}), tmp_path / "out",
        network_weights=str(final), network_alpha=4, max_train_epochs=1,
    ))
    from trainer.train import prepare

    run = prepare(cfg, preflight(cfg), lambda event: None)
    latents, timesteps, ids = _probe_inputs(run.model.tokenizer)
    run.model.unet.eval()
    run.model.text_encoder.eval()
    first_run.model.unet.eval()
    first_run.model.text_encoder.eval()
    start = _outputs(run.model.unet, run.model.text_encoder, latents, timesteps, ids)
    before = _outputs(first_run.model.unet, first_run.model.text_encoder, latents, timesteps, ids)
    torch.testing.assert_close(start[1], before[1], atol=1e-5, rtol=1e-4)
    # Written back with alpha 4 it has the same effect as the file written with alpha 2.
    state = run.network.export(torch.float32)
    assert float(state["lora_unet_down_blocks_0_attentions_0_proj_in.alpha"]) == 4.0


def test_network_weights_with_another_rank_is_a_clear_error(tmp_path, tiny_sd15_file, trained):
    from trainer.errors import ModelError
    from trainer.train import prepare

    final, _, _ = trained
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_file, make_dataset(tmp_path / "train", {"1_x": [(64, 64)]}), tmp_path / "out",
        network_weights=str(final), network_dim=8, network_alpha=4,
    ))
    with pytest.raises(ModelError) as err:
        prepare(cfg, preflight(cfg), lambda event: None)
    assert err.value.msg.id == "lora.rank_mismatch" and err.value.field == "network_dim"
    assert "has rank 4 at " in err.value.text("en") and "but network_dim is 8." in err.value.text("en")
    assert err.value.hint_text("en") == "Set network_dim = 4 to continue from this LoRA."
    assert err.value.hint_text("zh") == "要接着这个 LoRA 训练，请设置 network_dim = 4。"


# ---- SDXL -------------------------------------------------------------------------------

@torch.no_grad()
def _sdxl_outputs(unet, te1, te2, tok1, tok2, latents, timesteps):
    from trainer.text_encoding import encode_sdxl, tokenize

    captions = ["aidou, 1girl, red block", "a photo of a cat"]
    hidden, pooled = encode_sdxl(te1, te2, tokenize(tok1, captions, None), tokenize(tok2, captions, None))
    time_ids = torch.tensor([[64, 64, 0, 0, 64, 64], [96, 64, 16, 0, 64, 64]], dtype=torch.float32)
    out = unet(latents, timesteps, hidden, added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids}).sample
    return hidden, out


def test_sdxl_lora_is_kohya_sdxl_and_reproduces_the_trained_model(tmp_path, tiny_sdxl_file, tiny_sdxl_folder):
    from diffusers import StableDiffusionXLPipeline
    from safetensors import safe_open

    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64), (64, 128)]})
    cfg = config_from_dict(tiny_run_values(tiny_sdxl_file, data, tmp_path / "out", max_train_epochs=2,
                                           max_bucket_reso=128, bucket_reso_steps=32))
    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    assert [e.base_model_type for e in events if e.type == "started"] == ["sdxl"]

    with safe_open(str(final), "pt") as f:
        keys, meta = set(f.keys()), f.metadata()
    modules = {k.split(".")[0] for k in keys}
    assert {m.split("_")[1] for m in modules} == {"unet", "te1", "te2"}
    # kohya's SDXL U-Net names are the original SGM blocks: with layers_per_block 1, down level 1's
    # attention is input_blocks 1 + 1*2 + 0 = 3 and level 2's is input_blocks 5 (2 transformer blocks)
    assert "lora_unet_input_blocks_3_1_transformer_blocks_0_attn1_to_k" in modules
    assert "lora_unet_input_blocks_5_1_transformer_blocks_1_attn2_to_v" in modules
    assert "lora_unet_middle_block_1_transformer_blocks_1_ff_net_2" in modules
    assert "lora_unet_output_blocks_0_1_proj_out" in modules
    assert not any("down_blocks" in m or "up_blocks" in m for m in modules)
    assert "lora_te2_text_model_encoder_layers_9_self_attn_out_proj" in modules
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"

    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    timesteps = torch.tensor([999, 250])
    model = run.model
    for module in (model.unet, *model.text_encoders):
        module.eval()
    trained = _sdxl_outputs(model.unet, model.text_encoder, model.text_encoder_2, model.tokenizer, model.tokenizer_2,
                            latents, timesteps)
    pipe = StableDiffusionXLPipeline.from_pretrained(str(tiny_sdxl_folder), local_files_only=True)
    base = _sdxl_outputs(pipe.unet, pipe.text_encoder, pipe.text_encoder_2, pipe.tokenizer, pipe.tokenizer_2,
                         latents, timesteps)
    pipe.load_lora_weights(str(final))
    loaded = _sdxl_outputs(pipe.unet, pipe.text_encoder, pipe.text_encoder_2, pipe.tokenizer, pipe.tokenizer_2,
                           latents, timesteps)
    assert (loaded[1] - base[1]).abs().max() > 1e-4
    torch.testing.assert_close(loaded[0], trained[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(loaded[1], trained[1], atol=1e-5, rtol=1e-4)
