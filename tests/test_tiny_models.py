"""The tiny-model fixtures write the layouts users bring, and diffusers reads them offline.

The single files are checked against the INSTALLED diffusers' own forward converters
(original -> diffusers): converting our export back must give exactly the original
tensors, key for key. That proves the exporter writes the real LDM / SGM layout.
"""

from __future__ import annotations

import os
import socket
import time
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

if __package__:
    from . import tiny_models as tm  # noqa: E402
else:
    import tiny_models as tm  # noqa: E402

from safetensors.torch import load_file  # noqa: E402

TIMINGS: dict[str, float] = {}


# --- fixtures ----------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails loudly."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _make(kind: str, tmp_path_factory):
    build = getattr(tm, f"build_tiny_{kind}_components")
    save_folder = getattr(tm, f"save_tiny_{kind}_diffusers")
    save_file = getattr(tm, f"save_tiny_{kind}_single_file")
    root = tmp_path_factory.mktemp(kind)

    t0 = time.perf_counter()
    components = build(seed=0)
    t1 = time.perf_counter()
    folder = save_folder(root / "diffusers", components=components)
    t2 = time.perf_counter()
    file = save_file(root / f"{kind}.safetensors", components=components)
    t3 = time.perf_counter()
    TIMINGS.update({f"{kind} build": t1 - t0, f"{kind} save diffusers": t2 - t1, f"{kind} save single file": t3 - t2})
    return SimpleNamespace(components=components, folder=folder, file=file)


@pytest.fixture(scope="module")
def sd15(tmp_path_factory):
    return _make("sd15", tmp_path_factory)


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory):
    return _make("sdxl", tmp_path_factory)


@pytest.fixture(scope="module", autouse=True)
def _report_timings():
    yield
    if TIMINGS:
        print("\n" + "\n".join(f"  {k}: {v:.2f} s" for k, v in TIMINGS.items()))


def assert_same_tensors(got: dict, want: dict, what: str):
    assert want, f"{what}: nothing to compare"
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"{what}: missing {missing[:10]} extra {extra[:10]}"
    different = [
        k for k in want if got[k].dtype != want[k].dtype or got[k].shape != want[k].shape or not torch.equal(got[k], want[k])
    ]
    assert not different, f"{what}: {len(different)} tensors differ, e.g. {different[:10]}"


def _strip(prefix: str, sd: dict) -> dict:
    return {k.removeprefix(prefix): v for k, v in sd.items()}


def _count(ckpt: dict, prefix: str) -> int:
    return sum(k.startswith(prefix) for k in ckpt)


# --- builders ----------------------------------------------------------------


def test_network_guard_refuses_connections(no_network):
    with pytest.raises(OSError, match="offline test"):
        socket.create_connection(("127.0.0.1", 9))


def test_builders_are_deterministic_and_seeded():
    a, b, c = tm.build_tiny_sd15_components(0), tm.build_tiny_sd15_components(0), tm.build_tiny_sd15_components(1)
    for name in ("unet", "vae", "text_encoder"):
        assert_same_tensors(a[name].state_dict(), b[name].state_dict(), name)
    w = "conv_in.weight"
    assert not torch.equal(a["unet"].state_dict()[w], c["unet"].state_dict()[w])
    # the global RNG is left alone
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tm.build_tiny_sd15_components(0)
    assert torch.equal(torch.rand(3), expected)


def test_configs_match_the_real_structure(sd15, sdxl):
    c = sd15.components
    assert c["vae"].config.scaling_factor == 0.18215
    assert 2 ** (len(c["vae"].config.block_out_channels) - 1) == 8
    assert c["text_encoder"].config.hidden_size == c["unet"].config.cross_attention_dim == 32
    assert c["scheduler"].config.beta_schedule == "scaled_linear"
    tok = c["tokenizer"]
    assert tok("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tok.model_max_length == 77

    x = sdxl.components
    assert x["vae"].config.scaling_factor == 0.13025
    te1, te2 = x["text_encoder"].config, x["text_encoder_2"].config
    assert te1.hidden_size != te2.hidden_size
    assert x["unet"].config.cross_attention_dim == te1.hidden_size + te2.hidden_size
    assert x["unet"].config.projection_class_embeddings_input_dim == 6 * 8 + te2.projection_dim
    assert x["tokenizer_2"].pad_token == "!"


# --- single file: the original layout ----------------------------------------


def test_sd15_single_file_has_the_ldm_layout(sd15):
    from diffusers import DDPMScheduler
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    ckpt = load_file(sd15.file)
    assert infer_diffusers_model_type(ckpt) == "v1"
    # names and shapes as in v1-5-pruned-emaonly.safetensors
    assert ckpt["model.diffusion_model.input_blocks.0.0.weight"].shape == (32, 4, 3, 3)
    assert ckpt["model.diffusion_model.input_blocks.1.1.proj_in.weight"].ndim == 4  # 1x1 conv in SD1
    assert ckpt["model.diffusion_model.input_blocks.2.0.op.weight"].shape == (32, 32, 3, 3)
    assert ckpt["model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight"].shape == (64, 32)
    assert "model.diffusion_model.middle_block.2.emb_layers.1.weight" in ckpt
    assert "model.diffusion_model.output_blocks.1.1.conv.weight" in ckpt  # upsampler of the attention-less level
    assert "model.diffusion_model.output_blocks.3.2.conv.weight" in ckpt  # upsampler after an attention
    assert "model.diffusion_model.output_blocks.5.0.skip_connection.weight" in ckpt
    assert ckpt["first_stage_model.encoder.mid.attn_1.q.weight"].shape == (32, 32, 1, 1)
    assert ckpt["first_stage_model.decoder.mid.attn_1.proj_out.weight"].shape == (32, 32, 1, 1)
    assert ckpt["first_stage_model.decoder.up.0.block.0.nin_shortcut.weight"].shape == (8, 16, 1, 1)
    assert "first_stage_model.decoder.up.3.upsample.conv.weight" in ckpt
    assert "first_stage_model.decoder.up.0.upsample.conv.weight" not in ckpt
    assert "cond_stage_model.transformer.text_model.final_layer_norm.weight" in ckpt
    pos = ckpt["cond_stage_model.transformer.text_model.embeddings.position_ids"]
    assert pos.dtype == torch.int64 and torch.equal(pos, torch.arange(77)[None])
    # schedule buffers with SD's values
    sched = DDPMScheduler(**tm.SD_SCHEDULER_CONFIG)
    torch.testing.assert_close(ckpt["alphas_cumprod"], sched.alphas_cumprod, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(ckpt["betas"], sched.betas, rtol=1e-6, atol=1e-9)
    assert ckpt["betas"].dtype == torch.float32 and ckpt["betas"].shape == (1000,)
    torch.testing.assert_close(ckpt["sqrt_one_minus_alphas_cumprod"], (1 - sched.alphas_cumprod).sqrt())


def test_sd15_single_file_converts_back_exactly_with_diffusers_converters(sd15):
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
    )

    c = sd15.components
    ckpt = load_file(sd15.file)
    unet_sd, vae_sd, te_sd = c["unet"].state_dict(), c["vae"].state_dict(), c["text_encoder"].state_dict()

    assert_same_tensors(convert_ldm_unet_checkpoint(ckpt, dict(c["unet"].config)), unet_sd, "unet")
    assert_same_tensors(convert_ldm_vae_checkpoint(ckpt, dict(c["vae"].config)), vae_sd, "vae")
    clip = convert_ldm_clip_checkpoint(ckpt)  # keeps the text_model. level and position_ids
    assert torch.equal(clip.pop("text_model.embeddings.position_ids"), torch.arange(77)[None])
    assert_same_tensors(_strip("text_model.", clip), te_sd, "text_encoder")

    # nothing else in the file than the three models and the buffers the real file has
    assert _count(ckpt, "model.diffusion_model.") == len(unet_sd)
    assert _count(ckpt, "first_stage_model.") == len(vae_sd)
    assert _count(ckpt, "cond_stage_model.transformer.text_model.") == len(te_sd) + 1
    rest = {k for k in ckpt if not k.startswith(("model.diffusion_model.", "first_stage_model.", "cond_stage_model."))}
    assert rest == {
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
        "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
        "model_ema.decay", "model_ema.num_updates",
    }  # fmt: skip


def test_sdxl_single_file_has_the_sgm_layout(sdxl):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    x = sdxl.components
    ckpt = load_file(sdxl.file)
    assert infer_diffusers_model_type(ckpt) == "xl_base"
    assert ckpt["model.diffusion_model.label_emb.0.0.weight"].shape == (128, 6 * 8 + 64)
    assert ckpt["model.diffusion_model.input_blocks.5.1.proj_in.weight"].ndim == 2  # linear projection
    assert "model.diffusion_model.input_blocks.5.1.transformer_blocks.1.attn2.to_k.weight" in ckpt
    assert "model.diffusion_model.middle_block.1.transformer_blocks.1.ff.net.2.weight" in ckpt
    assert "model.diffusion_model.output_blocks.1.2.conv.weight" in ckpt  # upsampler after an attention
    assert "model.diffusion_model.output_blocks.3.2.conv.weight" in ckpt
    assert ckpt["first_stage_model.encoder.mid.attn_1.k.weight"].shape == (32, 32, 1, 1)
    assert "conditioner.embedders.0.transformer.text_model.embeddings.position_ids" in ckpt
    oc = "conditioner.embedders.1.model."
    assert ckpt[oc + "transformer.resblocks.0.attn.in_proj_weight"].shape == (3 * 64, 64)
    assert ckpt[oc + "transformer.resblocks.9.mlp.c_fc.weight"].shape == (128, 64)
    assert ckpt[oc + "positional_embedding"].shape == (77, 64)
    assert ckpt[oc + "token_embedding.weight"].shape == (49408, 64)
    assert ckpt[oc + "ln_final.weight"].shape == (64,)
    assert torch.equal(ckpt[oc + "text_projection"], x["text_encoder_2"].text_projection.weight.T)
    assert ckpt[oc + "logit_scale"].ndim == 0
    q = x["text_encoder_2"].state_dict()["text_model.encoder.layers.1.self_attn.v_proj.bias"]
    assert torch.equal(ckpt[oc + "transformer.resblocks.1.attn.in_proj_bias"][128:], q)
    assert not any(k.startswith(("betas", "alphas_cumprod", "cond_stage_model.")) for k in ckpt)


def test_sdxl_single_file_converts_back_exactly_with_diffusers_converters(sdxl):
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        convert_open_clip_checkpoint,
    )

    x = sdxl.components
    ckpt = load_file(sdxl.file)
    unet_sd, vae_sd = x["unet"].state_dict(), x["vae"].state_dict()
    te_sd, te2_sd = x["text_encoder"].state_dict(), x["text_encoder_2"].state_dict()

    assert_same_tensors(convert_ldm_unet_checkpoint(ckpt, dict(x["unet"].config)), unet_sd, "unet")
    assert_same_tensors(convert_ldm_vae_checkpoint(ckpt, dict(x["vae"].config)), vae_sd, "vae")
    clip = convert_ldm_clip_checkpoint(ckpt)
    assert torch.equal(clip.pop("text_model.embeddings.position_ids"), torch.arange(77)[None])
    assert_same_tensors(_strip("text_model.", clip), te_sd, "text_encoder")
    open_clip = convert_open_clip_checkpoint(x["text_encoder_2"], ckpt, prefix="conditioner.embedders.1.model.")
    assert_same_tensors(open_clip, te2_sd, "text_encoder_2")  # CLIPTextModelWithProjection keeps text_model.

    assert _count(ckpt, "model.diffusion_model.") == len(unet_sd)
    assert _count(ckpt, "first_stage_model.") == len(vae_sd)
    assert _count(ckpt, "conditioner.embedders.0.transformer.text_model.") == len(te_sd) + 1
    # OpenCLIP: q/k/v fused (3 -> 1 per weight and bias) and logit_scale added
    n_layers = x["text_encoder_2"].config.num_hidden_layers
    assert _count(ckpt, "conditioner.embedders.1.model.") == len(te2_sd) - 4 * n_layers + 1
    assert len(ckpt) == len(unet_sd) + len(vae_sd) + len(te_sd) + 1 + len(te2_sd) - 4 * n_layers + 1


# --- diffusers folder -----------------------------------------------------------


def _check_image(images):
    assert images.shape == (1, 64, 64, 3)
    assert np.isfinite(images).all()


def test_sd15_diffusers_folder_loads_offline_and_generates(sd15, no_network):
    from diffusers import StableDiffusionPipeline

    files = {p.name for p in (sd15.folder / "tokenizer").iterdir()}
    assert {"vocab.json", "merges.txt", "tokenizer_config.json"} <= files  # as published folders
    pipe = StableDiffusionPipeline.from_pretrained(sd15.folder, local_files_only=True)
    assert pipe.safety_checker is None
    assert pipe.tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert_same_tensors(pipe.unet.state_dict(), sd15.components["unet"].state_dict(), "unet")
    t = time.perf_counter()
    out = pipe("a photo of a cat", height=64, width=64, num_inference_steps=2, output_type="np")
    TIMINGS["sd15 pipeline call (2 steps, 64x64)"] = time.perf_counter() - t
    _check_image(out.images)


def test_sdxl_diffusers_folder_loads_offline_and_generates(sdxl, no_network):
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline.from_pretrained(sdxl.folder, local_files_only=True)
    assert pipe.tokenizer_2.pad_token == "!" and pipe.tokenizer.pad_token == "<|endoftext|>"
    assert pipe.config.force_zeros_for_empty_prompt
    assert_same_tensors(pipe.text_encoder_2.state_dict(), sdxl.components["text_encoder_2"].state_dict(), "te2")
    t = time.perf_counter()
    out = pipe("a photo of a cat", height=64, width=64, num_inference_steps=2, output_type="np")
    TIMINGS["sdxl pipeline call (2 steps, 64x64)"] = time.perf_counter() - t
    _check_image(out.images)


# --- diffusers' from_single_file with a local config ---------------------------


def test_sd15_from_single_file_with_local_config(sd15, no_network):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_single_file(
        str(sd15.file), config=str(sd15.folder), local_files_only=True
    )
    c = sd15.components
    for name in ("unet", "vae", "text_encoder"):
        assert_same_tensors(getattr(pipe, name).state_dict(), c[name].state_dict(), name)


def test_sdxl_from_single_file_with_local_config(sdxl, no_network):
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline.from_single_file(
        str(sdxl.file), config=str(sdxl.folder), local_files_only=True
    )
    x = sdxl.components
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        assert_same_tensors(getattr(pipe, name).state_dict(), x[name].state_dict(), name)
