"""LoCon, LoHa, LoKr and DoRA: the files are what kohya's sd-scripts and LyCORIS write, and they do
what was trained, checked without the training code.

For each network type on the tiny SD1.5 and SDXL models: the file's layer names are the set
kohya's / LyCORIS' rules select (worked out here from the base model's own module classes or its
original-layout checkpoint, not from Danlu's name mapping), each names a layer of the base
model, and the U-Net rebuilt as base + ΔW from the saved tensors with the published formulas
(LoCon: up·down·α/r, 4-D for convs; LoHa: (w1a·w1b)⊙(w2a·w2b)·α/r; LoKr: w1 ⊗ (w2a·w2b)·α/r;
DoRA: (W + ΔW)·m / ‖W + ΔW‖ per input channel, as AUTOMATIC1111 and ComfyUI apply it) gives the
trained model's output. Then what must keep working with them: diffusers' load_lora_weights (LoCon),
stop and resume, the LR finder, two processes, every optimizer, the comparison grid's strengths.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from conftest import make_dataset, tiny_run_values
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from trainer.config import config_from_dict
from trainer.preflight import preflight

NETWORKS = {
    "kohya_locon": {"network_args": ["conv_dim=4", "conv_alpha=2"]},
    "lycoris_locon": {"network_module": "lycoris.kohya", "network_args": ["algo=locon", "conv_dim=4", "conv_alpha=2"]},
    "loha": {"network_module": "lycoris.kohya", "network_args": ["algo=loha", "conv_dim=2", "conv_alpha=1"]},
    # factor 4 on the tiny widths gives both forms of the second factor: full (lokr_w2) and decomposed
    "lokr": {"network_module": "lycoris.kohya", "network_args": ["algo=lokr", "factor=4", "conv_dim=2"]},
    "dora": {"network_module": "lycoris.kohya", "network_args": ["algo=locon", "dora_wd=True", "conv_dim=2"]},
}


def _train(tmp_path: Path, model: Path, **overrides):
    from trainer.train import run_training

    data = make_dataset(tmp_path / "train", {"2_aidou": [(64, 64), (64, 64)]})
    values = tiny_run_values(model, data, tmp_path / "out", max_train_epochs=2, **overrides)
    cfg = config_from_dict(values)
    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    for module in (run.model.unet, *run.model.text_encoders):
        module.eval()
    return final, run, events


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_sd15_folder, tiny_sdxl_file):
    """One run per (network, family), trained once for every test here that reads it."""
    cache = {}

    def get(network: str, family: str):
        if (network, family) not in cache:
            model = tiny_sd15_folder if family == "sd15" else tiny_sdxl_file
            cache[(network, family)] = _train(tmp_path_factory.mktemp(f"{network}-{family}"), model, **NETWORKS[network])
        return cache[(network, family)]

    return get


# ---- the layers each rule selects, from the base model itself ------------------------------------


def _kohya_rule_sd15(unet, *, blocks: tuple[str, ...], named: tuple[str, ...], conv: bool) -> set[str]:
    """sd-scripts' networks.lora / LyCORIS' walk: every Linear and Conv2d inside a block of the given
    classes (3x3 convs only with a conv dim), plus the layers named outright; diffusers' module paths."""
    found = set()
    for path, module in unet.named_modules():
        if type(module).__name__ in blocks:
            for child_path, child in module.named_modules():
                kind = type(child).__name__
                if kind == "Linear" or (kind == "Conv2d" and (conv or child.kernel_size == (1, 1))):
                    found.add("lora_unet_" + f"{path}.{child_path}".replace(".", "_"))
        elif path in named:
            found.add("lora_unet_" + path.replace(".", "_"))
    return found


def _sgm_rule_sdxl(checkpoint: dict, *, transformers_only: bool, conv: bool) -> set[str]:
    """The same rules on sd-scripts' SGM U-Net, read off the original-layout checkpoint: every 2-D or 4-D
    weight inside input_blocks 1.., middle_block and output_blocks (the transformer at index 1 of a block
    for plain LoRA); nothing outside the blocks (conv_in, time_embed, out), which no rule names there."""
    found = set()
    for key, tensor in checkpoint.items():
        if not key.startswith("model.diffusion_model.") or not key.endswith(".weight") or tensor.dim() < 2:
            continue
        path = key[len("model.diffusion_model."):-len(".weight")]
        if not re.match(r"(input_blocks\.([1-9]\d*)|middle_block|output_blocks\.\d+)\.", path):
            continue
        if transformers_only and not re.match(r"(input_blocks\.\d+\.1|middle_block\.1|output_blocks\.\d+\.1)\."
                                              r"(proj_in|proj_out|transformer_blocks\.)", path):
            continue
        if not conv and tensor.dim() == 4 and tensor.shape[2:] != (1, 1):
            continue
        found.add("lora_unet_" + path.replace(".", "_"))
    return found


def _text_encoder_names(prefix: str, layers: int) -> set[str]:
    """kohya's text-encoder layers (CLIPAttention's q/k/v/out_proj, CLIPMLP's fc1/fc2), HF CLIP names."""
    parts = ("self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj", "self_attn_out_proj", "mlp_fc1", "mlp_fc2")
    return {f"{prefix}text_model_encoder_layers_{i}_{p}" for i in range(layers) for p in parts}


def _sgm_checkpoint_names(checkpoint: dict) -> dict[str, str]:
    """ComfyUI's model-first map: "lora_unet_" + every SGM module path (dots as underscores) -> its key."""
    return {"lora_unet_" + k[len("model.diffusion_model."):-len(".weight")].replace(".", "_"): k
            for k in checkpoint if k.startswith("model.diffusion_model.") and k.endswith(".weight")}


def _expected(network: str, family: str, unet, checkpoint, encoders) -> set[str]:
    conv = True  # every network here trains the 3x3 convs
    if family == "sd15":
        if network == "kohya_locon":
            unet_names = _kohya_rule_sd15(unet, blocks=("Transformer2DModel", "ResnetBlock2D", "Downsample2D",
                                                        "Upsample2D"), named=(), conv=conv)
        else:  # LyCORIS' "full" preset on SD1 (lycoris-lora 3.2.0.post2 / 4.1.3 less Anima's TimestepEmbedding)
            unet_names = _kohya_rule_sd15(unet, blocks=("Transformer2DModel", "ResnetBlock2D", "Downsample2D",
                                                        "Upsample2D"),
                                          named=("conv_in", "conv_out", "time_embedding.linear_1",
                                                 "time_embedding.linear_2"), conv=conv)
        return unet_names | _text_encoder_names("lora_te_", encoders[0].config.num_hidden_layers)
    return (_sgm_rule_sdxl(checkpoint, transformers_only=False, conv=conv)
            | _text_encoder_names("lora_te1_", encoders[0].config.num_hidden_layers)
            | _text_encoder_names("lora_te2_", encoders[1].config.num_hidden_layers))


# ---- ΔW from the saved tensors, by the published formulas --------------------------------------


def delta_weight(state: dict, name: str, weight: torch.Tensor) -> torch.Tensor:
    """The change a file makes to one layer's weight W, as WebUI and ComfyUI compute it."""
    t = {k[len(name) + 1:]: v.double() for k, v in state.items() if k.startswith(name + ".")}
    W = weight.double()
    alpha = float(t["alpha"]) if "alpha" in t else None
    if "lora_down.weight" in t:  # LoRA / LoCon: up · down · α/r
        down, up = t["lora_down.weight"], t["lora_up.weight"]
        rank = down.shape[0]
        delta = (up.flatten(1) @ down.flatten(1)).reshape(W.shape) * (alpha / rank)
    elif "hada_w1_a" in t:  # LoHa: (w1a · w1b) ⊙ (w2a · w2b) · α/r
        rank = t["hada_w1_b"].shape[0]
        delta = ((t["hada_w1_a"] @ t["hada_w1_b"]) * (t["hada_w2_a"] @ t["hada_w2_b"])).reshape(W.shape) * (alpha / rank)
    else:  # LoKr: w1 ⊗ w2, each factor whole or a product, α/r when one is a product
        rank = None
        w1 = t.get("lokr_w1")
        if w1 is None:
            w1, rank = t["lokr_w1_a"] @ t["lokr_w1_b"], t["lokr_w1_b"].shape[0]
        w2 = t.get("lokr_w2")
        if w2 is None:
            w2, rank = t["lokr_w2_a"] @ t["lokr_w2_b"], t["lokr_w2_b"].shape[0]
        if w2.dim() == 4:
            w1 = w1[:, :, None, None]
        delta = torch.kron(w1, w2).reshape(W.shape) * (alpha / rank if rank else 1.0)
    if "dora_scale" in t:  # DoRA: magnitude per input channel over the direction of W + ΔW (A1111's formula)
        merged = W + delta
        norm = merged.transpose(0, 1).reshape(W.shape[1], -1).norm(dim=1)
        norm = norm.reshape(1, W.shape[1], *[1] * (W.dim() - 2))
        assert t["dora_scale"].shape == norm.shape, "the magnitude is kept per input channel"
        delta = merged * (t["dora_scale"] / norm) - W
    return delta


def _merged(base: dict, key_of: dict[str, str], state: dict, strength: float = 1.0) -> dict:
    merged = dict(base)
    names = {k.split(".", 1)[0] for k in state}
    for name in names:
        if name not in key_of:
            continue  # another model's layer (the text encoders here)
        key = key_of[name]
        merged[key] = (base[key].double() + strength * delta_weight(state, name, base[key])).to(base[key].dtype)
    return merged


def _probe(unet, sdxl: bool):
    generator = torch.Generator().manual_seed(5)
    latents = torch.randn(2, 4, 8, 8, generator=generator)
    hidden = torch.randn(2, 77, unet.config.cross_attention_dim, generator=generator)
    kwargs = {}
    if sdxl:
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(2, pooled, generator=generator),
                                       "time_ids": torch.tensor([[64, 64, 0, 0, 64, 64]] * 2, dtype=torch.float32)}
    with torch.no_grad():
        return unet(latents, torch.tensor([999, 300]), hidden, **kwargs).sample


def _base_unet(family: str, tiny_sd15_folder, tiny_sdxl_file, weights: dict | None = None, tmp_path=None):
    """A fresh base U-Net (optionally with other weights): diffusers' own loading, not the trainer's network code."""
    if family == "sd15":
        from diffusers import UNet2DConditionModel

        unet = UNet2DConditionModel.from_pretrained(str(tiny_sd15_folder / "unet"), local_files_only=True)
        if weights is not None:
            unet.load_state_dict(weights)
        return unet.eval()
    from trainer.model_loading import load_base_model

    path = tiny_sdxl_file
    if weights is not None:
        path = tmp_path / "merged.safetensors"
        save_file({k: v.contiguous() for k, v in weights.items()}, str(path))
    return load_base_model(path).unet.eval()


def _base_weights(family: str, tiny_sd15_folder, tiny_sdxl_file):
    """(the weights ΔW is added to, layer name -> key): the diffusers U-Net for SD1 (kohya's SD1 names
    are its module paths), the original-layout checkpoint for SDXL (ComfyUI's model-first mapping)."""
    if family == "sd15":
        unet = _base_unet("sd15", tiny_sd15_folder, tiny_sdxl_file)
        weights = unet.state_dict()
        return weights, {"lora_unet_" + k[:-len(".weight")].replace(".", "_"): k for k in weights if k.endswith(".weight")}
    checkpoint = load_file(str(tiny_sdxl_file))
    return checkpoint, _sgm_checkpoint_names(checkpoint)


# ---- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_the_file_has_kohyas_layers_and_rebuilds_the_trained_unet(trained, network, family, tiny_sd15_folder,
                                                                  tiny_sdxl_file, tmp_path):
    final, run, _ = trained(network, family)
    with safe_open(str(final), "pt") as f:
        keys, meta = list(f.keys()), f.metadata()
    state = load_file(str(final))
    layers = {k.split(".", 1)[0] for k in keys}

    base, key_of = _base_weights(family, tiny_sd15_folder, tiny_sdxl_file)
    base_unet = _base_unet(family, tiny_sd15_folder, tiny_sdxl_file)
    # The names: the set kohya's / LyCORIS' rules select, every U-Net one a layer of the base model.
    checkpoint = base if family == "sdxl" else None
    assert layers == _expected(network, family, base_unet, checkpoint, run.model.text_encoders)
    unet_layers = {n for n in layers if n.startswith("lora_unet_")}
    assert unet_layers <= set(key_of), sorted(unet_layers - set(key_of))[:5]
    convs = [n for n in unet_layers if base[key_of[n]].dim() == 4 and base[key_of[n]].shape[2:] != (1, 1)]
    assert convs, "the 3x3 convs of the ResNet blocks train"
    if network in ("kohya_locon", "lycoris_locon"):  # LoCon's conv factors are 4-D, kohya's shapes
        name = convs[0]
        assert state[f"{name}.lora_down.weight"].dim() == 4 and state[f"{name}.lora_down.weight"].shape[2:] == (3, 3)
        assert state[f"{name}.lora_up.weight"].shape[2:] == (1, 1)
    # The metadata says what trained, as kohya writes it.
    module = NETWORKS[network].get("network_module", "networks.lora")
    assert meta["ss_network_module"] == module
    expected_args = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in run.cfg.network_args}
    assert json.loads(meta["ss_network_args"]) == {**expected_args, "dropout": None}

    # The effect: base + ΔW from the file's tensors is the trained U-Net.
    merged = _base_unet(family, tiny_sd15_folder, tiny_sdxl_file, _merged(base, key_of, state), tmp_path)
    sdxl = family == "sdxl"
    trained_out, base_out, merged_out = _probe(run.model.unet, sdxl), _probe(base_unet, sdxl), _probe(merged, sdxl)
    assert (trained_out - base_out).abs().max() > 1e-4, "training changed the U-Net"
    torch.testing.assert_close(merged_out, trained_out, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("network", ["loha", "dora"])
def test_the_text_encoder_part_rebuilds_too(trained, network, tiny_sd15_folder):
    from transformers import CLIPTextModel, CLIPTokenizer

    final, run, _ = trained(network, "sd15")
    state = load_file(str(final))
    encoder = CLIPTextModel.from_pretrained(str(tiny_sd15_folder / "text_encoder"), local_files_only=True).eval()
    weights = encoder.state_dict()
    key_of = {}
    for key in weights:
        if key.endswith(".weight"):
            path = key[:-len(".weight")]
            path = path if path.startswith("text_model.") else "text_model." + path
            key_of["lora_te_" + path.replace(".", "_")] = key
    assert {n for n in (k.split(".", 1)[0] for k in state) if n.startswith("lora_te_")} <= set(key_of)
    ids = CLIPTokenizer.from_pretrained(str(tiny_sd15_folder / "tokenizer"))(
        ["aidou, 1girl, red block"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        base_out = encoder(ids).last_hidden_state
        encoder.load_state_dict(_merged(weights, key_of, state))
        merged_out = encoder(ids).last_hidden_state
        trained_out = run.model.text_encoder(ids).last_hidden_state
    assert (trained_out - base_out).abs().max() > 1e-4
    torch.testing.assert_close(merged_out, trained_out, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
@pytest.mark.parametrize("network", ["kohya_locon", "lycoris_locon"])
def test_diffusers_loads_locon_files_as_trained(trained, network, family, tiny_sd15_folder, tiny_sdxl_folder):
    """diffusers' load_lora_weights reads kohya's LoCon keys (4-D convs, SGM ResNet names for SDXL)."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    final, run, _ = trained(network, family)
    pipeline = StableDiffusionPipeline if family == "sd15" else StableDiffusionXLPipeline
    folder = tiny_sd15_folder if family == "sd15" else tiny_sdxl_folder
    pipe = pipeline.from_pretrained(str(folder), local_files_only=True, **(
        {"safety_checker": None, "requires_safety_checker": False} if family == "sd15" else {}))
    pipe.load_lora_weights(str(final))
    sdxl = family == "sdxl"
    torch.testing.assert_close(_probe(pipe.unet, sdxl), _probe(run.model.unet, sdxl), atol=2e-5, rtol=1e-4)


def test_network_weights_starts_from_a_lycoris_file_whatever_its_alpha(trained, tmp_path, tiny_sd15_folder):
    from trainer.errors import ModelError
    from trainer.train import prepare

    final, first, _ = trained("loha", "sd15")
    values = tiny_run_values(tiny_sd15_folder, make_dataset(tmp_path / "train", {"1_x": [(64, 64)]}), tmp_path / "out",
                             network_weights=str(final), max_train_epochs=1, network_alpha=4, **NETWORKS["loha"])
    cfg = config_from_dict(values)
    run = prepare(cfg, preflight(cfg), lambda event: None)
    run.model.unet.eval()
    torch.testing.assert_close(_probe(run.model.unet, False), _probe(first.model.unet, False), atol=2e-5, rtol=1e-4)
    exported = run.network.export(torch.float32)  # the linear layers at the new alpha, the convs at conv_alpha
    assert float(exported["lora_unet_time_embedding_linear_1.alpha"]) == 4.0
    assert float(exported["lora_unet_conv_in.alpha"]) == 1.0
    # another algorithm's file: said plainly, before any step
    other = config_from_dict({**values, **NETWORKS["lokr"], "output_dir": str(tmp_path / "out2")})
    with pytest.raises(ModelError) as err:
        prepare(other, preflight(other), lambda event: None)
    assert err.value.msg.id == "lora.other_network" and err.value.field == "network_weights"


@pytest.mark.parametrize("network", ["kohya_locon_loraplus", "loha_scalar", "lokr_dora"])
def test_stop_and_resume_equals_straight_through(tmp_path, tiny_sd15_folder, network):
    from trainer.control import send_request
    from trainer.errors import Stopped
    from trainer.train import run_training

    # LoRA+: four optimizer groups, their state resumed too
    args = {"kohya_locon_loraplus": {"network_args": [*NETWORKS["kohya_locon"]["network_args"], "loraplus_lr_ratio=4"]},
            "loha_scalar": {"network_module": "lycoris.kohya", "network_args": ["algo=loha", "use_scalar=True",
                                                                                "rank_dropout=0.2"]},
            "lokr_dora": {"network_module": "lycoris.kohya",
                          "network_args": ["algo=lokr", "factor=4", "dora_wd=True", "module_dropout=0.2"]}}[network]
    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 96)], "2_y": [(96, 64)]})
    values = tiny_run_values(tiny_sd15_folder, data, tmp_path / "straight", max_train_epochs=3, shuffle_caption=True,
                             gradient_accumulation_steps=2, lr_scheduler="cosine", **args)
    cfg = config_from_dict(values)
    straight, _ = run_training(cfg, preflight(cfg), lambda e: None)

    stopped_out = tmp_path / "stopped"

    def stop_in_epoch_two(event):
        if event.type == "step" and event.step == 6:
            send_request(stopped_out, "stop")

    cfg = config_from_dict({**values, "output_dir": str(stopped_out)})
    with pytest.raises(Stopped):
        run_training(cfg, preflight(cfg), stop_in_epoch_two)
    cfg = config_from_dict({**values, "output_dir": str(stopped_out), "resume": str(stopped_out / "tiny-state")})
    events = []
    resumed, _ = run_training(cfg, preflight(cfg), events.append)
    assert [e.step for e in events if e.type == "step"] == list(range(7, 13))
    first, second = load_file(str(straight)), load_file(str(resumed))
    assert first.keys() == second.keys() and first
    for key in first:
        torch.testing.assert_close(second[key], first[key], atol=1e-6, rtol=1e-5)


def test_a_state_of_another_network_is_refused(tmp_path, tiny_sd15_folder):
    from trainer.control import send_request
    from trainer.errors import ConfigError, Stopped
    from trainer.train import prepare, run_training

    data = make_dataset(tmp_path / "train", {"5_x": [(64, 64)]})
    values = tiny_run_values(tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=3, **NETWORKS["loha"])
    cfg = config_from_dict(values)
    with pytest.raises(Stopped):
        run_training(cfg, preflight(cfg), lambda e: e.type == "step" and send_request(tmp_path / "out", "stop"))
    other = config_from_dict({**values, **NETWORKS["lokr"], "resume": str(tmp_path / "out" / "tiny-state")})
    with pytest.raises(ConfigError) as err:
        prepare(other, preflight(other), lambda e: None)
    assert "network_args" in err.value.text("en")


def test_the_lr_finder_runs_on_a_lycoris_network(tmp_path, tiny_sd15_folder):
    from trainer.lr_finder import find_lr

    data = make_dataset(tmp_path / "train", {"4_x": [(64, 64), (64, 64)]})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=5,
                                           **NETWORKS["lokr"]))
    result = find_lr(cfg, preflight(cfg), lambda e: None, max_steps=6)
    assert len(result.curve) == 6 and all(v > 0 for _, v in result.curve)
    assert (tmp_path / "out" / "lr_finder.json").is_file()


def test_two_processes_train_a_lycoris_network_with_module_dropout(tmp_path, tiny_sd15_file):
    """Layers skipped by module_dropout get no gradient on one process: DistributedDataParallel is told."""
    from conftest import run_cli, write_config

    from trainer import events as ev

    data = make_dataset(tmp_path / "train", {"3_x": [(64, 64), (64, 64), (64, 64)]})
    config = write_config(tmp_path / "run.toml", **tiny_run_values(
        tiny_sd15_file, data, tmp_path / "out", max_train_epochs=1, network_module="lycoris.kohya",
        network_args=["algo=loha", "module_dropout=0.5", "conv_dim=2"]))
    result = run_cli(config, "--num-processes", "2", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    events = ev.read_events(tmp_path / "out" / "events.jsonl")
    assert [e.step for e in events if e.type == "step"] == [1, 2, 3, 4, 5]
    weights = load_file(str(tmp_path / "out" / "tiny.safetensors"))
    assert any("hada_w1_a" in k for k in weights) and all(torch.isfinite(w).all() for w in weights.values())


def _optimizers():
    from test_trainer_parts import ALL_OPTIMIZERS

    return ALL_OPTIMIZERS


@pytest.mark.parametrize("optimizer", _optimizers())
def test_every_optimizer_steps_a_lycoris_network(tmp_path, tiny_sd15_folder, optimizer):
    """LoKr with DoRA and conv layers: full and factored matrices, 4-D factors, per-channel magnitudes."""
    from trainer.optimizers import ADAPTIVE
    from trainer.train import run_training

    lr = 1.0 if optimizer.lower() in ADAPTIVE else 1e-4
    data = make_dataset(tmp_path / "train", {"1_x": [(64, 64), (64, 64)]})
    cfg = config_from_dict(tiny_run_values(
        tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1, optimizer_type=optimizer, learning_rate=lr,
        unet_lr=lr, text_encoder_lr=lr, lr_scheduler="adafactor" if optimizer == "AdaFactor" else "constant",
        network_module="lycoris.kohya", network_args=["algo=lokr", "factor=4", "dora_wd=True", "conv_dim=2"]))
    events = []
    final, run = run_training(cfg, preflight(cfg), events.append)
    assert len([e for e in events if e.type == "step"]) == 2
    weights = load_file(str(final))
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert any(float(w.abs().max()) > 0 for k, w in weights.items() if k.endswith("lokr_w2") or k.endswith("lokr_w2_b"))


@pytest.mark.parametrize("network", ["kohya_locon", "loha", "dora"])
def test_the_comparison_applies_a_lycoris_file_at_a_strength(trained, network, tmp_path, tiny_sd15_folder,
                                                            tiny_sdxl_file):
    """trainer.compare's renderer: strength 1 is the trained U-Net, 0.5 is W + 0.5 (W_file - W) by the
    published formulas (for DoRA: halfway to the decomposed weight, as WebUI and ComfyUI), 0 is the base."""
    from trainer import compare

    final, run, _ = trained(network, "sd15")
    row = compare.read_row(final, final.name, "tiny", final.parent)
    renderer = compare.Renderer(run.cfg, [row], run.cfg.sample_sampler)
    assert not row.plain, "conv layers or LyCORIS tensors: LyCORIS' loader applies the file"
    renderer.load(row)
    unet = renderer.model.unet
    base, key_of = _base_weights("sd15", tiny_sd15_folder, tiny_sdxl_file)
    state = load_file(str(final))
    for strength in (1.0, 0.5, 0.0):
        renderer.set_strength(strength)
        expected = _base_unet("sd15", tiny_sd15_folder, tiny_sdxl_file, _merged(base, key_of, state, strength))
        torch.testing.assert_close(_probe(unet, False), _probe(expected, False), atol=2e-5, rtol=1e-4)


# ---- LoRA+ ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("network", ["kohya_lora", "lycoris_locon"])
def test_loraplus_gives_the_up_factors_the_rate_times_the_ratio(tmp_path, tiny_sd15_folder, network):
    """One AdamW step from up = 0 moves each up weight by its group's rate (Adam's first step is
    lr·g/(|g| + eps)), so the saved file shows the rate each factor learnt at: the U-Net's ups at
    unet_lr x 16, the text encoder's at text_encoder_lr x 4, the downs not at all."""
    from trainer.train import run_training

    module = {"network_module": "lycoris.kohya", "network_args": ["algo=locon"]} if network == "lycoris_locon" else {}
    args = [*module.get("network_args", []), "loraplus_lr_ratio=16", "loraplus_text_encoder_lr_ratio=4"]
    data = make_dataset(tmp_path / "train", {"1_aidou": [(64, 64)]})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1,
                                           **{**module, "network_args": args}))
    final, run = run_training(cfg, preflight(cfg), lambda event: None)[:2]
    groups = {g["name"]: g for g in run.optimizer.param_groups}
    assert sorted(groups) == ["text_encoder", "text_encoder_plus", "unet", "unet_plus"]
    assert groups["unet_plus"]["lr"] == pytest.approx(1e-3 * 16)
    assert groups["text_encoder_plus"]["lr"] == pytest.approx(5e-4 * 4)
    assert groups["unet"]["lr"] == pytest.approx(1e-3) and groups["text_encoder"]["lr"] == pytest.approx(5e-4)

    tensors = load_file(str(final))
    ups = {key: t for key, t in tensors.items() if key.endswith("lora_up.weight")}
    assert ups and len(ups) * 2 <= len([k for k in tensors if k.endswith(".weight")])
    for prefix, rate in (("lora_unet_", 1e-3 * 16), ("lora_te_", 5e-4 * 4)):
        moved = torch.cat([t.abs().flatten() for key, t in ups.items() if key.startswith(prefix)])
        moved = moved[moved > 0]
        assert moved.numel() > 0, prefix
        # |step| = lr·|g|/(|g| + eps): the rate itself, less only where a gradient is as small as eps.
        assert moved.max() == pytest.approx(rate, rel=1e-3) and moved.median() == pytest.approx(rate, rel=1e-3), \
            (prefix, moved.min(), moved.median(), moved.max())


def test_loraplus_is_noted_as_having_no_effect_on_loha_and_trains(tmp_path, tiny_sd15_folder):
    from trainer.train import run_training

    data = make_dataset(tmp_path / "train", {"1_aidou": [(64, 64)]})
    cfg = config_from_dict(tiny_run_values(tiny_sd15_folder, data, tmp_path / "out", max_train_epochs=1,
                                           network_module="lycoris.kohya",
                                           network_args=["algo=loha", "loraplus_lr_ratio=16"]))
    assert [n.id for n in cfg.notes if n.id == "config.note_loraplus_no_up"] == ["config.note_loraplus_no_up"]
    final, run = run_training(cfg, preflight(cfg), lambda event: None)[:2]
    assert sorted(g["name"] for g in run.optimizer.param_groups) == ["text_encoder", "unet"]
    assert final.exists()


@pytest.mark.parametrize("value", ["0", "-2", "fast", "nan"])
def test_a_loraplus_ratio_must_be_above_zero(tmp_path, value):
    from trainer.errors import ConfigError

    values = tiny_run_values(Path("model.safetensors"), Path("train"), tmp_path / "out",
                             network_args=[f"loraplus_unet_lr_ratio={value}"])
    with pytest.raises(ConfigError) as caught:
        config_from_dict(values, check_paths=False)
    assert f"loraplus_unet_lr_ratio={value}" in str(caught.value) and "16" in str(caught.value)


def test_loraplus_ratios_read_as_sd_scripts_reads_them():
    from trainer.config.network_args import LoraPlusRatios, loraplus_ratios

    assert loraplus_ratios([]) == LoraPlusRatios(None, None)
    assert loraplus_ratios(["loraplus_lr_ratio=8"]) == LoraPlusRatios(8.0, 8.0)
    assert loraplus_ratios(["loraplus_lr_ratio=8", "loraplus_unet_lr_ratio=16"]) == LoraPlusRatios(16.0, 8.0)
    assert loraplus_ratios(["loraplus_text_encoder_lr_ratio=4"]) == LoraPlusRatios(None, 4.0)
    assert loraplus_ratios(["loraplus_lr_ratio=None"]) == LoraPlusRatios(None, None)
