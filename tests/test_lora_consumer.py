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
    assert first.keys() == second.keys()
    for key in first:
        torch.testing.assert_close(first[key], second[key], atol=0, rtol=0)


def test_network_weights_starts_from_an_existing_lora(tmp_path, tiny_sd15_file, trained):
    """network_weights with another alpha: the starting model equals the file's model."""
    from trainer.lora import kohya_state_dict

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
    state = kohya_state_dict(run.lora, 4.0, torch.float32)
    assert float(state["lora_unet_down_blocks_0_attentions_0_proj_in.alpha"]) == 4.0


def test_network_weights_with_another_rank_is_a_clear_error(tmp_path, tiny_sd15_file, trained):
    from trainer.errors import ModelError
    from trainer.train import prepare

    final, _, _ = trained
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_file, make_dataset(tmp_path / "train", {"1_x": [(64, 64)]}), tmp_path / "out",
        network_weights=str(final), network_dim=8, network_alpha=4,
    ))
    with pytest.raises(ModelError, match="network_dim = 4"):
        prepare(cfg, preflight(cfg), lambda event: None)
