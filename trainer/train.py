"""The training loop: get a batch, forward, backward, step, then the named schedule checks.

Reads top to bottom like nanoGPT's train.py. Everything the run needs is prepared by
`prepare()`; `train()` runs epochs; files and events go through small helpers so the loop
stays short. Errors are typed (trainer.errors) and become `error` events in cli.py.
"""
from __future__ import annotations

import contextlib
import logging
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from . import events as ev
from . import losses
from .advice import fitting_advice
from .config import TrainConfig
from .config.network_args import loraplus_ratios
from .control import ControlInbox
from .dataset import DatasetScan, dataset_dirs, process_caption, tag_frequency
from .divergence import DIVERGING_ADVICE, LossWatch, flat_or_black
from .errors import Diverged, OutOfMemory, Stopped
from .images import load_image
from .latents import LatentCache, augment_of, file_identity
from .lora import NonFiniteWeights
from .messages import M, Msg
from .metadata import checkpoint_metadata, serialize_with_hashes, training_metadata
from .model_loading import BaseModel, load_base_model, load_state_dict_file, training_noise_scheduler
from .network import Network, Part, build_network
from .optimizers import ADAPTIVE, build_optimizer, build_scheduler, effective_lrs, optimizer_warnings
from .plan import StepPlan, epoch_batches, process_batches, training_scan, validation_batches
from .preflight import Preflight, check_train_type
from .safe_write import atomic_write_bytes, ensure_free_space
from .state import Position, caption_rng_for, load_training_state, save_training_state
from .stopping import StopSignals
from .text_encoding import encode, encode_sdxl, tokenize

log = logging.getLogger("trainer")

SAVE_DTYPES = {"float": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class Run:
    """Everything prepared for one training run."""

    cfg: TrainConfig
    emit: Callable[[ev.Event], None]
    scan: DatasetScan
    plan: StepPlan
    model: BaseModel
    network: Network  # what trains: kohya's LoRA / LoCon or a LyCORIS network (trainer/network.py)
    lora: list[Part]  # network.parts: the U-Net's layers first when it trains, then each text encoder's
    optimizer: torch.optim.Optimizer
    lr_scheduler: object
    accelerator: object
    prompts: list
    base_metadata: dict
    weight_dtype: torch.dtype
    output_dir: Path
    generator: torch.Generator = None  # noise, timesteps and VAE sampling: saved with the state, so resume is exact
    inbox: ControlInbox = None
    signals: StopSignals | None = None
    latent_cache: LatentCache | None = None
    text_cache: dict | None = None  # caption -> (hidden states, pooled) with cache_text_encoder_outputs
    token_ids: tuple = field(default_factory=lambda: ({}, {}))  # per tokenizer: caption -> ids
    vae_encodes: int = 0
    global_step: int = 0
    epoch: int = 0
    tensorboard: object = None
    epoch_files: list[Path] = field(default_factory=list)  # per-epoch LoRAs, oldest first
    epoch_states: list[Path] = field(default_factory=list)
    last_good: str | None = None  # the newest LoRA written, named in disk-full errors
    resumed_from: Position | None = None
    # What the forward passes call: the modules themselves, or their DistributedDataParallel
    # wrappers when several GPUs train together (only these synchronise gradients).
    unet_forward: object = None
    text_encoder_forwards: list = field(default_factory=list)
    losses: deque = field(default_factory=deque)  # the last epoch's step losses, for avg_loss
    advice: dict | None = None  # over/under-fitting advice, once finished
    validation_latents: list | None = None  # each validation batch's latents, encoded once
    validations: list = field(default_factory=list)  # the Validation events of this run, oldest first

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and events when several train together."""
        return self.accelerator.is_main_process


# ---------------------------------------------------------------------------------------
# Preparation


def _mixed_precision(cfg: TrainConfig, emit) -> tuple[str, torch.dtype]:
    if not torch.cuda.is_available():
        if cfg.mixed_precision == "bf16":  # PyTorch's CPU autocast does bf16 (slowly, but it runs)
            emit(ev.warning("cpu", M("run.no_gpu_bf16")))
            return "bf16", torch.bfloat16
        if cfg.mixed_precision != "no":
            emit(ev.warning("cpu", M("run.no_gpu_float32", precision=cfg.mixed_precision)))
        return "no", torch.float32
    if cfg.mixed_precision == "bf16" and not torch.cuda.is_bf16_supported():
        emit(ev.warning("bf16", M("run.no_bf16"), M("run.no_bf16_hint")))
        return "fp16", torch.float16
    return cfg.mixed_precision, {"no": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[cfg.mixed_precision]


def _scan_info(cfg: TrainConfig, scan: DatasetScan) -> dict:
    def _name_as_kohya(path: str) -> str:
        # kohya: the file or folder name when the path exists, else the name as given (a Hub id)
        return Path(path).name if Path(path).exists() else path

    return {
        "train_counts": [(len(s.items), s.repeats) for s in scan.train_subsets],
        "reg_counts": [(len(s.items), s.repeats) for s in scan.reg_subsets],
        "tag_frequency": tag_frequency(scan),
        "dataset_dirs": dataset_dirs(scan),
        # kohya's ss_reg_dataset_dirs: the regularization folders, in the form of ss_dataset_dirs
        "reg_dataset_dirs": {s.name: {"n_repeats": s.repeats, "img_count": len(s.items)} for s in scan.reg_subsets},
        "trigger_words": sorted({s.class_token for s in scan.train_subsets}),
        "model_name": _name_as_kohya(cfg.pretrained_model_name_or_path),
        "vae_name": _name_as_kohya(cfg.vae) if cfg.vae else None,
    }


def _optimizer_groups(cfg: TrainConfig, network: Network) -> list[dict]:
    """One group per part ("unet", "text_encoder"); with LoRA+ the part's up factors get a group of
    their own ("unet_plus", "text_encoder_plus") at the part's rate x the ratio, as sd-scripts does."""
    ratios = loraplus_ratios(cfg.network_args)
    groups: list[dict] = []

    def add(name: str, parts: list, lr: float | None, ratio: float | None) -> None:
        params = [p for part in parts for p in part.parameters()]
        up = [p for part in parts for p in part.up_parameters()] if ratio is not None and lr is not None else []
        faster = {id(p) for p in up}
        groups.append({"params": [p for p in params if id(p) not in faster], "lr": lr, "name": name})
        if up:
            groups.append({"params": up, "lr": lr * ratio, "name": name + PLUS_SUFFIX})

    if network.unet is not None:
        add("unet", [network.unet], cfg.unet_learning_rate, ratios.unet)
    if network.text_encoders:
        add("text_encoder", network.text_encoders, cfg.text_encoder_learning_rate, ratios.text_encoder)
    return groups


PLUS_SUFFIX = "_plus"  # LoRA+'s groups


def _accelerator_handlers(cfg: TrainConfig) -> list:
    """LyCORIS' module_dropout skips whole layers in some steps: with several processes,
    DistributedDataParallel must then expect parameters without gradients."""
    if cfg.network_module != "lycoris.kohya":
        return []
    from .config.network_args import lycoris_settings

    dropout = lycoris_settings(cfg.network_args, cfg.network_dim, cfg.network_alpha).kwargs.get("module_dropout")
    if not dropout or float(dropout) == 0:
        return []
    from accelerate.utils import DistributedDataParallelKwargs

    return [DistributedDataParallelKwargs(find_unused_parameters=True)]


def _attention(cfg: TrainConfig, model: BaseModel) -> None:
    """xformers when asked for and installed; otherwise PyTorch's SDPA, which diffusers uses by default."""
    import importlib.util

    if cfg.xformers and importlib.util.find_spec("xformers") is not None:
        model.unet.enable_xformers_memory_efficient_attention()
        log.info("%s", M("run.attention_xformers"))
    elif cfg.xformers:
        log.info("%s", M("run.xformers_missing"))


def _allow_fp16_gradients(accelerator) -> None:
    """full_fp16: the grad scaler must unscale fp16 gradients, which it refuses by default (kohya patches it the same way)."""
    scaler = accelerator.scaler
    original = scaler._unscale_grads_

    def unscale(optimizer, inv_scale, found_inf, allow_fp16):
        return original(optimizer, inv_scale, found_inf, True)

    scaler._unscale_grads_ = unscale


def _load_model(cfg: TrainConfig, device, weight_dtype) -> BaseModel:
    """The base model, on the device, frozen, in the training precision (the VAE in float32)."""
    log.info("%s", M("run.loading_model", path=cfg.pretrained_model_name_or_path))
    model = load_base_model(cfg.pretrained_model_name_or_path, cfg.vae)
    check_train_type(cfg, model.info)  # a .ckpt's type is only known once loaded
    # The VAE stays float32: SD1.5's VAE overflows in fp16 (NaN latents, black previews).
    for module in (model.vae, model.unet, *model.text_encoders):
        dtype = torch.float32 if module is model.vae else weight_dtype
        module.to(device=device, dtype=None if module.dtype == dtype else dtype)  # no needless cast warning
    if cfg.zero_terminal_snr:
        model.noise_scheduler = training_noise_scheduler(zero_terminal_snr=True)
    _attention(cfg, model)
    return model


def _prepare_network(cfg: TrainConfig, model: BaseModel, network: Network, weight_dtype) -> None:
    """The network's precision, starting weights and checkpointing; the modules' train/eval modes."""
    if cfg.full_fp16 or cfg.full_bf16:
        # kohya's full_fp16/full_bf16: the LoRA weights (and so their gradients and optimizer
        # state) in half precision too: less memory, less precision.
        network.cast(weight_dtype)
    if cfg.network_weights:
        count = network.load_weights(load_state_dict_file(Path(cfg.network_weights)))
        log.info("%s", M("run.started_from_lora", path=cfg.network_weights, count=count))
    if cfg.gradient_checkpointing:
        model.unet.enable_gradient_checkpointing()
        for encoder in model.text_encoders if network.text_encoders else []:
            encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.unet.train(network.unet is not None)
    for encoder in model.text_encoders:
        encoder.train(bool(network.text_encoders))


def _optimization(cfg: TrainConfig, plan: StepPlan, network: Network, accelerator, emit):
    """Optimizer (prepared by accelerate, for its grad scaler) and learning-rate scheduler."""
    optimizer = build_optimizer(cfg.optimizer_type, _optimizer_groups(cfg, network), cfg.optimizer_args)
    base_lrs = [g["lr"] for g in optimizer.param_groups if not g.get("name", "").endswith(PLUS_SUFFIX)]
    for message in optimizer_warnings(cfg.optimizer_type, base_lrs, cfg.lr_scheduler):
        emit(ev.warning("optimizer", message))
    lr_scheduler = build_scheduler(
        cfg.lr_scheduler, optimizer, warmup=cfg.lr_warmup_steps, total_steps=plan.total_steps,
        num_cycles=cfg.lr_scheduler_num_cycles, power=cfg.lr_scheduler_power,
    )
    optimizer = accelerator.prepare(optimizer)
    if cfg.full_fp16 and accelerator.scaler is not None:
        _allow_fp16_gradients(accelerator)
    return optimizer, lr_scheduler


def _latent_cache(cfg: TrainConfig, model: BaseModel, device, *, to_disk: bool | None = None) -> LatentCache:
    """cache_latents(_to_disk): disk entries are tied to the VAE's own file (its path, size, date)."""
    vae_source = Path(cfg.vae or cfg.pretrained_model_name_or_path)
    if vae_source.is_dir() and (vae_source / "vae").is_dir():
        vae_source = vae_source / "vae"
    return LatentCache(model.vae, device, seed=cfg.seed, vae_identity=file_identity(vae_source),
                       to_disk=cfg.cache_latents_to_disk if to_disk is None else to_disk,
                       batch_size=cfg.vae_batch_size)


def prepare(cfg: TrainConfig, checked: Preflight, emit, *, signals: StopSignals | None = None,
            requests_since: float | None = None) -> Run:
    """Everything before the first step. Control requests made after `requests_since` (the
    trainer process's start, from the CLI; this call otherwise) are for this run and kept."""
    requests_since = time.time() if requests_since is None else requests_since
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed

    output_dir = Path(cfg.output_dir)
    scan, plan, prompts = checked.scan, checked.plan, checked.prompts
    for message in scan.warnings:
        emit(ev.warning("data", message))
    mixed_precision, weight_dtype = _mixed_precision(cfg, emit)
    # Each run sets its own precision; accelerate keeps it process-wide, so an earlier in-process run's
    # setting is cleared first (the distributed state, PartialState, is kept).
    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(mixed_precision=mixed_precision, cpu=not torch.cuda.is_available(),
                              kwargs_handlers=_accelerator_handlers(cfg))
    set_seed(cfg.seed)

    model = _load_model(cfg, accelerator.device, weight_dtype)
    network = build_network(cfg, model, train_unet=cfg.train_unet, train_text_encoder=cfg.train_text_encoder)
    _prepare_network(cfg, model, network, weight_dtype)
    device = accelerator.device

    optimizer, lr_scheduler = _optimization(cfg, plan, network, accelerator, emit)
    optimizer_desc = f"{type(optimizer.optimizer).__module__}.{type(optimizer.optimizer).__name__}"
    if cfg.optimizer_args:
        optimizer_desc += "(" + ",".join(cfg.optimizer_args) + ")"
    if cfg.validation_split and not plan.validation:
        emit(ev.warning("config", M("run.validation_none", split=cfg.validation_split), M("run.validation_none_hint")))
    # kohya's metadata describes the training data set: the held-out images are not in it.
    base_metadata = training_metadata(cfg, plan, _scan_info(cfg, training_scan(scan, plan)), base_family=model.info.family,
                                      started_at=time.time(), optimizer_desc=optimizer_desc)
    run = Run(cfg=cfg, emit=emit, scan=scan, plan=plan, model=model, network=network, lora=network.parts,
              optimizer=optimizer,
              lr_scheduler=lr_scheduler, accelerator=accelerator, prompts=prompts, base_metadata=base_metadata,
              weight_dtype=weight_dtype, output_dir=output_dir,
              # Each process draws its own noise; the same seed on every process would repeat it.
              generator=torch.Generator().manual_seed(cfg.seed + 7919 * accelerator.process_index),
              inbox=ControlInbox(output_dir))
    run.unet_forward, run.text_encoder_forwards = model.unet, list(model.text_encoders)
    if accelerator.num_processes > 1:
        if network.unet is not None:
            run.unet_forward = accelerator.prepare(model.unet)
        if network.text_encoders:
            run.text_encoder_forwards = [accelerator.prepare(m) for m in model.text_encoders]
    run.signals = signals
    if run.is_main:
        run.inbox.clear_stale(before=requests_since)
    if cfg.cache_latents or cfg.cache_latents_to_disk:
        run.latent_cache = _latent_cache(cfg, model, device)
    if cfg.resume:
        run.resumed_from = load_training_state(run, Path(cfg.resume))
        log.info("%s", M("run.resuming", path=cfg.resume, step=run.resumed_from.global_step))
    if cfg.log_with == "tensorboard" and run.is_main:
        from torch.utils.tensorboard import SummaryWriter

        run.tensorboard = SummaryWriter(str(cfg.resolved_logging_dir))
    return run


# ---------------------------------------------------------------------------------------
# Data


def _flips(run: Run, n: int) -> list[bool]:
    return [run.cfg.flip_aug and float(torch.rand((), generator=run.generator)) < 0.5 for _ in range(n)]


def prefill_caches(run: Run) -> None:
    """What is computed once before the first step: latents and text-encoder outputs, when asked for."""
    if run.latent_cache is not None:
        cache_all_latents(run)
    if run.cfg.cache_text_encoder_outputs:
        cache_text_outputs(run)
    if run.plan.validation:
        run.validation_latents = encode_validation_latents(run)


def cache_all_latents(run: Run) -> None:
    """cache_latents: every image (and its mirror image with flip_aug) through the VAE once, before epoch 1."""
    unique = {}
    for entry in run.plan.entries:
        unique.setdefault(entry.ref.item.path, entry.ref)
    log.info("%s", M("run.caching_latents", count=len(unique)))
    run.latent_cache.fill(list(unique.values()), (False, True) if run.cfg.flip_aug else (False,))


@torch.no_grad()
def batch_latents(run: Run, refs) -> tuple[torch.Tensor, list[tuple[int, int, int, int]]]:
    """Latents of a batch and each image's crop box (SDXL conditions on it)."""
    if run.latent_cache is not None:
        latents = [run.latent_cache.get(r, flipped) for r, flipped in zip(refs, _flips(run, len(refs)))]
        return torch.stack(latents), [r.crop for r in refs]
    prepared = [load_image(r.item.path, r.resized, r.bucket, augment_of(run.cfg), run.generator) for r in refs]
    pixels = torch.stack([p.pixels for p in prepared]).to(run.device)
    vae = run.model.vae
    run.vae_encodes += len(refs)
    latents = vae.encode(pixels).latent_dist.sample(generator=run.generator) * vae.config.scaling_factor
    return latents, [p.crop for p in prepared]


# ---------------------------------------------------------------------------------------
# One optimisation micro-step


def sdxl_time_ids(refs, crops, device) -> torch.Tensor:
    """SDXL's size and crop conditioning per image: original (h, w), crop top-left, target (h, w)."""
    rows = []
    for r, (left, top, _, _) in zip(refs, crops):
        rows.append([r.item.height, r.item.width, top, left, r.bucket[1], r.bucket[0]])
    return torch.tensor(rows, dtype=torch.float32, device=device)


def encode_captions(run: Run, captions: list[str], *,
                    training: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hidden states (and SDXL's pooled embedding) of the captions, from the text encoders or their cache.
    training=False (validation): the encoders themselves, not their multi-GPU wrappers, and no gradients."""
    cfg, model = run.cfg, run.model
    if run.text_cache is not None:
        hidden, pooled = zip(*(run.text_cache[c] for c in captions))
        return torch.stack(hidden), torch.stack(pooled) if pooled[0] is not None else None
    ids = _token_ids(run, 0, captions)
    encoders = run.text_encoder_forwards if training else list(model.text_encoders)
    with torch.set_grad_enabled(training and cfg.train_text_encoder), run.accelerator.autocast():
        if not model.is_sdxl:
            return encode(encoders[0], ids, cfg.clip_skip), None
        return encode_sdxl(encoders[0], encoders[1], ids, _token_ids(run, 1, captions))


def _token_ids(run: Run, which: int, captions: list[str]) -> torch.Tensor:
    """Token ids, tokenized once per caption: without shuffle_caption a caption comes back every
    epoch unchanged, and the tokenizer costs ~0.6 ms a step on a tiny model (bench/RESULTS.md)."""
    tokenizer = (run.model.tokenizer, run.model.tokenizer_2)[which]
    if run.cfg.shuffle_caption:  # a new caption almost every time: nothing worth keeping
        return tokenize(tokenizer, captions, run.cfg.max_token_length)
    cache = run.token_ids[which]
    missing = [c for c in dict.fromkeys(captions) if c not in cache]
    if missing:
        for caption, row in zip(missing, tokenize(tokenizer, missing, run.cfg.max_token_length)):
            cache[caption] = row
    return torch.stack([cache[c] for c in captions])


@torch.no_grad()
def cache_text_outputs(run: Run) -> None:
    """cache_text_encoder_outputs: each caption encoded once; the encoders then leave the GPU."""
    captions = sorted({e.ref.item.caption for e in run.plan.entries} | {r.item.caption for r in run.plan.validation})
    cache = {}
    for start in range(0, len(captions), 16):
        chunk = captions[start : start + 16]
        hidden, pooled = encode_captions(run, chunk)
        for i, caption in enumerate(chunk):
            cache[caption] = (hidden[i], pooled[i] if pooled is not None else None)
    run.text_cache = cache
    log.info("cached the text encoder outputs of %d captions", len(captions))
    if run.device.type == "cuda":
        for encoder in run.model.text_encoders:
            encoder.to("cpu")


def conditioning(run: Run, refs, captions: list[str], crops, *,
                 training: bool = True) -> tuple[torch.Tensor, dict | None]:
    """The U-Net's text conditioning for a batch (and SDXL's added conditions)."""
    hidden, pooled = encode_captions(run, captions, training=training)
    if not run.model.is_sdxl:
        return hidden, None
    time_ids = sdxl_time_ids(refs, crops, hidden.device).to(hidden.dtype)
    return hidden, {"text_embeds": pooled, "time_ids": time_ids}


def compute_loss(run: Run, refs, rng: random.Random) -> torch.Tensor:
    cfg = run.cfg
    latents, crops = batch_latents(run, refs)
    latents = latents.to(run.weight_dtype)
    captions = [process_caption(r.item.caption, cfg.shuffle_caption, cfg.keep_tokens, rng) for r in refs]
    hidden, added_cond = conditioning(run, refs, captions, crops)
    noise, noisy, timesteps = noised(run, latents, run.generator)
    return per_sample_loss(run, run.unet_forward, refs, latents, noise, noisy, timesteps, hidden, added_cond).mean()


def noised(run: Run, latents: torch.Tensor, generator: torch.Generator,
           timesteps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(noise, noisy latents, timesteps): every draw from `generator`, in this order; random
    timesteps unless given (validation gives its fixed ones)."""
    cfg, scheduler = run.cfg, run.model.noise_scheduler
    noise = losses.randn(latents.shape, generator, latents)
    if cfg.noise_offset:
        # Offset noise (crosslabs.org/blog/diffusion-with-offset-noise): lets the model learn
        # very dark and very bright images.
        noise = noise + cfg.noise_offset * losses.randn((*latents.shape[:2], 1, 1), generator, latents)
    if cfg.multires_noise_iterations:
        noise = losses.pyramid_noise(noise, generator, cfg.multires_noise_iterations, cfg.multires_noise_discount)
    if timesteps is None:
        steps = scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (latents.shape[0],), generator=generator).to(latents.device)
    # Input perturbation (Ning et al. 2023, arXiv:2301.11706): the input gets extra noise, the target does not.
    noise_in = noise + cfg.ip_noise_gamma * losses.randn(latents.shape, generator, latents) if cfg.ip_noise_gamma else noise
    return noise, scheduler.add_noise(latents, noise_in, timesteps), timesteps


def per_sample_loss(run: Run, unet, refs, latents, noise, noisy, timesteps, hidden, added_cond) -> torch.Tensor:
    """Each image's loss, weighted as training weighs it (prior_loss_weight, Min-SNR, v-prediction scaling)."""
    cfg, scheduler = run.cfg, run.model.noise_scheduler
    steps = scheduler.config.num_train_timesteps
    with run.accelerator.autocast():
        prediction = unet(noisy, timesteps, hidden, added_cond_kwargs=added_cond).sample
    target = scheduler.get_velocity(latents, noise, timesteps) if cfg.v_parameterization else noise
    huber_c = None
    if cfg.loss_type in ("huber", "smooth_l1"):
        huber_c = losses.huber_c_for(timesteps, scheduler.alphas_cumprod, cfg.huber_c, cfg.huber_schedule, steps)
    loss = losses.per_sample_loss(prediction, target, cfg.loss_type, huber_c)
    loss = loss * torch.tensor([r.loss_weight for r in refs], device=loss.device)
    if cfg.min_snr_gamma or cfg.scale_v_pred_loss_like_noise_pred:
        snr_t = losses.snr(scheduler.alphas_cumprod, timesteps)
        if cfg.min_snr_gamma:
            loss = loss * losses.min_snr_weight(snr_t, cfg.min_snr_gamma, cfg.v_parameterization)
        if cfg.scale_v_pred_loss_like_noise_pred:
            loss = loss * snr_t / (snr_t + 1)
    return loss


# ---------------------------------------------------------------------------------------
# Validation loss (validation_split; sd-scripts' train_network.py and docs/validation.md)

# sd-scripts evaluates each held-out batch at 4 timesteps spread evenly inside the schedule
# (np.linspace(0, 1000, 6)[1:-1]: 200, 400, 600, 800), so the number follows the weights,
# not the luck of a random timestep.
VALIDATION_TIMESTEPS = 4


def validation_timesteps(num_train_timesteps: int) -> list[int]:
    return [num_train_timesteps * (i + 1) // (VALIDATION_TIMESTEPS + 1) for i in range(VALIDATION_TIMESTEPS)]


def validation_seed(cfg: TrainConfig) -> int:
    """validation_seed, else seed (sd-scripts: "training `--seed` used otherwise")."""
    return cfg.seed if cfg.validation_seed is None else cfg.validation_seed


def _validation_batches(run: Run) -> list:
    batches = validation_batches(run.plan)
    return batches[: run.cfg.max_validation_steps] if run.cfg.max_validation_steps else batches


@torch.no_grad()
def encode_validation_latents(run: Run) -> list[torch.Tensor]:
    """Each validation batch's latents, once: through the latent cache when there is one (its
    entries are sampled with a generator seeded by the image, so they are the same in any run),
    otherwise by a private in-memory one. Never flipped, never colour-shifted or randomly cropped."""
    batches = _validation_batches(run)
    cache = run.latent_cache or _latent_cache(run.cfg, run.model, run.device, to_disk=False)
    cache.fill([ref for batch in batches for ref in batch])
    return [torch.stack([cache.get(ref, False) for ref in batch]) for batch in batches]


@torch.no_grad()
def validation_loss(run: Run) -> tuple[float, int, int]:
    """(mean loss, images, batches) of the held-out images at the fixed timesteps.

    The noise comes from a generator seeded with validation_seed afresh at every evaluation, the
    latents were encoded once, the captions are used as written (no shuffling) and every module is
    in eval mode: the same weights always give the same number. The training draws (the run's
    generator, torch's global state, the caption shuffles) are not touched, so how often a run
    validates never changes what it trains. Every process computes the same number on its own
    (the weights are the same on all), so none waits for another.
    """
    cfg, model = run.cfg, run.model
    if run.validation_latents is None:
        run.validation_latents = encode_validation_latents(run)
    batches = _validation_batches(run)
    timesteps = validation_timesteps(model.noise_scheduler.config.num_train_timesteps)
    generator = torch.Generator().manual_seed(validation_seed(cfg))
    modules = [model.unet, *model.text_encoders]
    modes = [m.training for m in modules]
    total, count = 0.0, 0
    devices = [run.device] if run.device.type == "cuda" else []
    try:
        for m in modules:
            m.eval()
        with torch.random.fork_rng(devices=devices):  # nothing here draws from it; kept untouched regardless
            for refs, latents in zip(batches, run.validation_latents):
                latents = latents.to(run.weight_dtype)
                hidden, added_cond = conditioning(run, refs, [r.item.caption for r in refs], [r.crop for r in refs],
                                                  training=False)
                for t in timesteps:
                    fixed = torch.full((len(refs),), t, dtype=torch.long, device=latents.device)
                    noise, noisy, fixed = noised(run, latents, generator, fixed)
                    loss = per_sample_loss(run, model.unet, refs, latents, noise, noisy, fixed, hidden, added_cond)
                    total += float(loss.float().sum())
                    count += len(refs)
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
    return total / max(1, count), sum(len(b) for b in batches), len(batches)


def validate(run: Run, *, end_of_epoch: bool) -> ev.Validation:
    """Evaluate the validation loss now; an event, a TensorBoard scalar and a log line (main process)."""
    loss, images, batches = validation_loss(run)
    point = ev.Validation(epoch=run.epoch, step=run.global_step, loss=loss, images=images, steps=batches,
                          end_of_epoch=end_of_epoch,
                          timesteps=validation_timesteps(run.model.noise_scheduler.config.num_train_timesteps),
                          train_loss=sum(run.losses) / len(run.losses) if run.losses else None)
    run.validations.append(point)
    if run.is_main:
        run.emit(point)
        if run.tensorboard is not None:
            run.tensorboard.add_scalar("loss/validation", loss, run.global_step)  # sd-scripts' name
        log.info("%s", M("run.validation_line", loss=loss, epoch=run.epoch, step=run.global_step, images=images))
    return point


def earlier_validations(run: Run) -> list[ev.Validation]:
    """A resumed run's evaluations before the resume, from the events of the run it continues
    (the state folder's run folder), so the end-of-run advice sees the whole run."""
    if run.resumed_from is None or not run.cfg.resume:
        return []
    kept: dict[tuple[int, bool], ev.Validation] = {}
    for event in ev.read_events(Path(run.cfg.resume).parent / "events.jsonl"):
        if isinstance(event, ev.Validation) and event.step <= run.resumed_from.global_step:
            kept[(event.step, event.end_of_epoch)] = event  # the newest, if that stretch ran more than once
    return sorted(kept.values(), key=lambda e: (e.step, e.end_of_epoch))


# ---------------------------------------------------------------------------------------
# Saving and sampling


def _read_back(path: Path) -> None:
    """Open a written LoRA again, so nothing older is deleted on the strength of a bad file."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        for key in f.keys():
            f.get_slice(key)


def save_lora(run: Run, path: Path, *, final: bool, state: Path | None = None) -> Path:
    if not run.is_main:
        return path
    try:
        tensors = run.network.export(SAVE_DTYPES[run.cfg.save_precision])
    except NonFiniteWeights as exc:
        raise Diverged(M("run.not_saving_bad_weights", name=path.name, detail=exc.msg), hint=DIVERGED_HINT) from exc
    data = serialize_with_hashes(tensors, checkpoint_metadata(run.base_metadata, epoch=run.epoch, step=run.global_step))
    ensure_free_space(path.parent, len(data), path.name, keep=run.last_good)
    atomic_write_bytes(path, data)
    run.last_good = str(path)
    log.info("%s", M("run.saved", path=path))
    run.emit(ev.Checkpoint(path=str(path), epoch=run.epoch, step=run.global_step, final=final,
                           extra={"state": str(state)} if state else {}))
    return path


def save_state(run: Run, folder: Path, position: Position) -> Path:
    if not run.is_main:
        return folder
    save_training_state(run, folder, position)
    log.info("%s", M("run.saved_state", path=folder))
    return folder


def _prune(paths: list[Path], keep: int | None) -> None:
    """save_last_n_epochs(_state): drop the oldest, only after the newest was written and read."""
    import shutil

    while keep and len(paths) > keep:
        old = paths.pop(0)
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
        log.info("%s", M("run.pruned", name=old.name, keep=keep))


def save_epoch(run: Run, epoch: int) -> None:
    cfg = run.cfg
    if not run.is_main:
        return
    state = None
    if cfg.save_state:
        position = Position(global_step=run.global_step, epoch=epoch + 1, next_batch=0, losses=list(run.losses))
        state = save_state(run, run.output_dir / f"{cfg.output_name}-{epoch:06d}-state", position)
        run.epoch_states.append(state)
    path = save_lora(run, run.output_dir / f"{cfg.output_name}-{epoch:06d}.safetensors", final=False, state=state)
    _read_back(path)
    run.epoch_files.append(path)
    _prune(run.epoch_files, cfg.save_last_n_epochs)
    _prune(run.epoch_states, cfg.save_last_n_epochs_state)


def sample(run: Run, *, by_epoch: bool) -> None:
    from PIL import Image as PILImage

    from .sampling import render_samples

    if not run.prompts or not run.is_main:
        return
    log.info("%s", M("run.rendering_previews", count=len(run.prompts)))
    for encoder in run.model.text_encoders:  # they may have left the GPU with cache_text_encoder_outputs
        encoder.to(run.device)
    paths = render_samples(
        model=run.model, sampler=run.cfg.sample_sampler, prompts=run.prompts, clip_skip=run.cfg.clip_skip,
        out_dir=run.output_dir / "sample", output_name=run.cfg.output_name,
        epoch=run.epoch if by_epoch else None, step=run.global_step, seed=run.cfg.seed, device=run.device,
        v_prediction=run.cfg.v_parameterization, zero_terminal_snr=run.cfg.zero_terminal_snr,
    )
    if run.text_cache is not None and run.device.type == "cuda":
        for encoder in run.model.text_encoders:
            encoder.to("cpu")
    run.emit(ev.Sample(epoch=run.epoch, step=run.global_step, paths=paths))
    bad = []
    for path in paths:
        with PILImage.open(path) as image:
            if kind := flat_or_black(image):
                bad.append(M("run.bad_preview_" + kind, name=Path(path).name))
    if bad:
        diverging(run, M("run.black_previews", files=bad))


def diverging(run: Run, message: Msg) -> None:
    """A warning of kind diverging; with stop_on_diverging it stops the run (keeping the last good file)."""
    run.emit(ev.warning("diverging", message, DIVERGING_ADVICE))
    log.warning("%s", message)
    if run.cfg.stop_on_diverging:
        raise Diverged(M("run.stopped_on_diverging", reason=message), hint=DIVERGED_HINT)


class Due:
    """The schedule, as named predicates the loop reads aloud."""

    def __init__(self, cfg: TrainConfig, plan: StepPlan):
        self.cfg, self.plan = cfg, plan

    def save(self, epoch: int) -> bool:
        n = self.cfg.save_every_n_epochs
        return bool(n) and epoch % n == 0 and epoch < self.plan.epochs

    def sample_epoch(self, epoch: int) -> bool:
        n = self.cfg.sample_every_n_epochs
        return bool(n) and epoch % n == 0

    def sample_step(self, step: int) -> bool:
        n = self.cfg.sample_every_n_steps
        return bool(n) and step % n == 0

    def final_state(self) -> bool:
        return self.cfg.save_state or self.cfg.save_state_on_train_end

    # Validation as sd-scripts schedules it: at the end of every epoch (or every
    # validate_every_n_epochs-th), and also every validate_every_n_steps steps when set.
    def validate_epoch(self, epoch: int) -> bool:
        n = self.cfg.validate_every_n_epochs
        return bool(self.plan.validation) and (not n or epoch % n == 0)

    def validate_step(self, step: int) -> bool:
        n = self.cfg.validate_every_n_steps
        return bool(self.plan.validation) and bool(n) and step % n == 0


DIVERGED_HINT = M("run.diverged_hint")


# ---------------------------------------------------------------------------------------
# The loop


def _log_step(run: Run, loss: float, avg: float, lrs: list[float], it_s: float) -> None:
    names = [g.get("name", str(i)) for i, g in enumerate(run.optimizer.param_groups)]
    lr_by_name = dict(zip(names, lrs))
    remaining = run.plan.total_steps - run.global_step
    run.emit(ev.Step(step=run.global_step, total_steps=run.plan.total_steps, epoch=run.epoch, loss=loss, avg_loss=avg,
                     lr_unet=lr_by_name.get("unet"), lr_text_encoder=lr_by_name.get("text_encoder"),
                     it_per_s=it_s, eta_s=remaining / it_s if it_s > 0 else 0.0))
    if run.tensorboard is not None:
        tb, step = run.tensorboard, run.global_step
        tb.add_scalar("loss/current", loss, step)
        tb.add_scalar("loss/average", avg, step)
        for name, lr in lr_by_name.items():
            # sd-scripts' tags: lr/unet, lr/textencoder, and LoRA+'s lr/unet_plus, lr/textencoder_plus
            tb.add_scalar("lr/" + name.replace("text_encoder", "textencoder"), lr, step)
        if run.cfg.optimizer_type.lower() in ADAPTIVE:
            tb.add_scalar("lr/d*lr", lrs[0], step)
    if run.global_step % 10 == 0 or run.global_step == run.plan.total_steps:
        log.info("%s", M("run.step_line", step=run.global_step, total=run.plan.total_steps, epoch=run.epoch,
                         loss=loss, avg=avg, speed=it_s))


@dataclass
class StepDone:
    epoch: int
    next_batch: int  # where this epoch continues
    caption_rng: random.Random
    loss: float
    lrs: list[float]


@dataclass
class EpochDone:
    epoch: int


def _gradient_sync(run: Run, steps_now: bool) -> contextlib.AbstractContextManager:
    """accelerate's no_sync on every DDP-wrapped model for the micro-steps that only
    accumulate: with several GPUs the gradients are all-reduced once per optimizer step, not
    once per batch. One process: nothing to skip (accelerate's no_sync is then a no-op too)."""
    stack = contextlib.ExitStack()
    if not steps_now and run.accelerator.num_processes > 1:
        for model in (run.unet_forward, *run.text_encoder_forwards):
            if model is not None:
                stack.enter_context(run.accelerator.no_sync(model))
    return stack


def optimisation_steps(run: Run, start: Position):
    """The optimisation itself: yields StepDone after each optimizer step and EpochDone after each epoch."""
    cfg, plan = run.cfg, run.plan
    params = run.network.parameters()
    accum = cfg.gradient_accumulation_steps
    check_grads = run.accelerator.scaler is None  # with fp16's grad scaler, inf gradients are skipped, not fatal
    for epoch in range(start.epoch, plan.epochs + 1):
        run.epoch, run.vae_encodes = epoch, 0
        batches = process_batches(epoch_batches(plan, epoch, cfg.seed), run.accelerator.process_index,
                                  run.accelerator.num_processes)
        caption_rng = caption_rng_for(cfg.seed, epoch)
        first = start.next_batch if epoch == start.epoch else 0
        if first and start.caption_rng is not None:
            caption_rng.setstate(start.caption_rng)
        micro_losses = []
        for index in range(first, len(batches)):
            # The optimizer steps after every `accum` batches and at the epoch's end.
            steps_now = (index + 1) % accum == 0 or index + 1 == len(batches)
            with _gradient_sync(run, steps_now):
                loss = compute_loss(run, batches[index], caption_rng)
                every_loss = run.accelerator.gather(loss.detach().reshape(1))  # all processes decide together
                if not torch.isfinite(every_loss).all():
                    raise Diverged(M("run.loss_not_finite", value=str(loss.item()), step=run.global_step + 1,
                                     epoch=epoch), hint=DIVERGED_HINT)
                run.accelerator.backward(loss / accum)
            micro_losses.append(every_loss.mean().item())
            if not steps_now:
                continue
            if cfg.max_grad_norm:
                norm = run.accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
                if check_grads and not torch.isfinite(norm):
                    raise Diverged(M("run.grads_not_finite", step=run.global_step + 1), hint=DIVERGED_HINT)
            if run.accelerator.scaler is None:
                # What accelerate's wrapper does without a grad scaler (no XLA, no LOMO here),
                # minus its is_lomo_available() check, an importlib search on every step.
                run.optimizer.optimizer.step()
            else:
                run.optimizer.step()  # fp16: the grad scaler unscales, skips inf steps, updates its scale
            lrs = effective_lrs(run.optimizer.optimizer)  # the rates this step used, before the scheduler moves on
            run.lr_scheduler.step()
            run.optimizer.zero_grad(set_to_none=True)
            run.global_step += 1
            yield StepDone(epoch, index + 1, caption_rng, sum(micro_losses) / len(micro_losses), lrs)
            micro_losses = []
            if run.global_step >= plan.total_steps:
                break
        yield EpochDone(epoch)
        if run.global_step >= plan.total_steps:
            return


def requests(run: Run, **due_now) -> dict:
    """What the step boundary must do, decided by the main process and agreed by all: the
    person's stop / save / sample requests (control files), a stop signal (Ctrl+C, SIGTERM),
    and what the loop itself has due (`sample=True`, `diverging=Msg`). Every loop (training,
    the learning-rate finder, the wait before the first step) asks here, so each honours them."""
    decision = {"stop": None, "save": False, "sample": bool(due_now.get("sample")), "diverging": due_now.get("diverging")}
    if run.is_main:
        run.inbox.poll()
        if run.signals is not None and run.signals.requested:
            decision["stop"] = M("run.by_signal")
        elif run.inbox.take("stop"):
            decision["stop"] = M("run.by_request")
        decision["save"] = run.inbox.take("save")
        decision["sample"] = run.inbox.take("sample") or decision["sample"]
    return _agree(run, decision)


def obey(run: Run, decision: dict, position: Position) -> None:
    """Stop (saving this very step), save a LoRA now, or render previews now, as decided."""
    if decision["stop"]:
        stop_now(run, position, decision["stop"])
    if decision["save"]:
        save_lora(run, run.output_dir / f"{run.cfg.output_name}-step{run.global_step:06d}.safetensors", final=False)
    if decision["sample"]:
        sample(run, by_epoch=False)


def stop_now(run: Run, position: Position, reason: Msg) -> None:
    """Save a LoRA and the training state of this very step, then end with the stopped code."""
    if run.global_step > 0:
        state = save_state(run, run.output_dir / f"{run.cfg.output_name}-state", position)
        save_lora(run, run.output_dir / f"{run.cfg.output_name}-step{run.global_step:06d}.safetensors",
                  final=False, state=state)
    raise Stopped(M("run.stopped_at", reason=reason, step=run.global_step), hint=M("run.stopped_hint"))


def _agree(run: Run, decision: dict) -> dict:
    """The main process's decision for this step, the same on every process (they must step together)."""
    if run.accelerator.num_processes == 1:
        return decision
    from accelerate.utils import broadcast_object_list

    box = [decision]
    broadcast_object_list(box, from_process=0)
    return box[0]


def train(run: Run) -> Path:
    cfg, plan = run.cfg, run.plan
    due = Due(cfg, plan)
    start = run.resumed_from or Position()
    run.global_step = start.global_step
    run.losses = deque(start.losses, maxlen=max(1, plan.steps_per_epoch))
    run.emit(ev.Started(
        total_steps=plan.total_steps, tutorial_steps=plan.tutorial_steps, epochs=plan.epochs, images=plan.images,
        repeats=plan.repeats, batches_per_epoch=plan.batches_per_epoch, steps_per_epoch=plan.steps_per_epoch,
        buckets=plan.buckets, base_model_type=run.model.info.family,
        explanation={lang: plan.explanation(lang) for lang in ("zh", "en")}, output_dir=str(run.output_dir),
        device=str(run.device), extra={"resumed_at_step": start.global_step} if run.resumed_from else {},
    ))
    # A stop asked for while the model was loading is honoured before the first step.
    obey(run, requests(run), start)
    prefill_caches(run)
    watch = LossWatch()
    run.validations = earlier_validations(run)
    all_losses: list[float] = list(start.losses)
    step_times: deque[float] = deque(maxlen=20)
    epoch_start = tick = time.perf_counter()
    for done in optimisation_steps(run, start):
        if isinstance(done, EpochDone):
            run.emit(ev.Epoch(epoch=done.epoch, epochs=plan.epochs, step=run.global_step,
                              avg_loss=sum(run.losses) / max(1, len(run.losses)),
                              seconds=time.perf_counter() - epoch_start, vae_encodes=run.vae_encodes))
            if due.validate_epoch(done.epoch):
                validate(run, end_of_epoch=True)
            if due.save(done.epoch):
                save_epoch(run, done.epoch)
            if due.sample_epoch(done.epoch):
                sample(run, by_epoch=True)
            epoch_start = time.perf_counter()
            continue
        now = time.perf_counter()
        step_times.append(now - tick)
        tick = now
        run.losses.append(done.loss)
        all_losses.append(done.loss)
        if run.is_main:
            _log_step(run, done.loss, sum(run.losses) / len(run.losses), done.lrs, len(step_times) / sum(step_times))
        if due.validate_step(run.global_step):
            ends_epoch = done.next_batch >= plan.batches_per_process or run.global_step >= plan.total_steps
            if not (ends_epoch and due.validate_epoch(done.epoch)):  # else the epoch's end evaluates these weights
                validate(run, end_of_epoch=ends_epoch)
        diverging_now = watch.update(run.global_step, done.loss) if run.is_main else None
        decision = requests(run, diverging=diverging_now, sample=due.sample_step(run.global_step))
        if decision["diverging"]:
            diverging(run, decision["diverging"])
        obey(run, decision, Position(run.global_step, done.epoch, done.next_batch, done.caption_rng.getstate(),
                                     list(run.losses)))
    final_state = None
    if due.final_state():
        final_state = save_state(run, run.output_dir / f"{cfg.output_name}-state",
                                 Position(run.global_step, plan.epochs + 1, 0, None, list(run.losses)))
    final = save_lora(run, run.output_dir / f"{cfg.output_name}.safetensors", final=True, state=final_state)
    run.advice = fitting_advice(all_losses, views_per_image=plan.train_items / max(1, plan.images) * plan.epochs,
                                validation=run.validations)
    if run.tensorboard is not None:
        run.tensorboard.close()
    return final


def memory_hint(cfg: TrainConfig) -> Msg:
    """The memory savers this run does not use yet, most effective first."""
    savers: list = []
    if not cfg.gradient_checkpointing:
        savers.append("gradient_checkpointing = true")
    if cfg.mixed_precision == "no":
        savers.append(M("run.saver_mixed_precision"))
    if not (cfg.cache_latents or cfg.cache_latents_to_disk):
        savers.append("cache_latents = true")
    if cfg.train_text_encoder and not cfg.network_train_unet_only:
        savers.append("network_train_unet_only = true")
    elif not cfg.cache_text_encoder_outputs and not cfg.shuffle_caption:
        savers.append("cache_text_encoder_outputs = true")
    if cfg.mixed_precision == "bf16" and not cfg.full_bf16:
        savers.append("full_bf16 = true")
    if cfg.train_batch_size > 1:
        savers.append(M("run.saver_batch", batch=cfg.train_batch_size))
    width, height = cfg.resolution_wh
    savers.append(M("run.saver_resolution", width=width, height=height))
    savers.append(M("run.saver_dim", dim=cfg.network_dim))
    return M("run.memory_hint", savers=savers)


_SIZE = r"([\d.]+ ?[KMGT]?i?B)"


def out_of_memory_message(text: str) -> Msg:
    """PyTorch's CUDA out-of-memory text (English, whatever the reader's language) as a message:
    the sizes it names, in the reader's words; other wordings as they are."""
    amount = re.search(rf"Tried to allocate {_SIZE}", text)
    # torch >= 2.1: "GPU 0 has a total capacity of 7.79 GiB of which 12.44 MiB is free";
    # older: "(GPU 0; 7.79 GiB total capacity; ...; 12.44 MiB free; ...)".
    total = re.search(rf"total capacity of {_SIZE}", text) or re.search(rf"{_SIZE} total capacity", text)
    free = re.search(rf"of which {_SIZE} is free", text) or re.search(rf"; {_SIZE} free", text)
    if amount and total and free:
        return M("run.out_of_memory_alloc_free", amount=amount.group(1), total=total.group(1), free=free.group(1))
    if amount:
        return M("run.out_of_memory_alloc", amount=amount.group(1))
    return M("run.out_of_memory", detail=(text.splitlines() or [""])[0])


def run_training(cfg: TrainConfig, checked: Preflight, emit, signals: StopSignals | None = None,
                 requests_since: float | None = None) -> tuple[Path, Run]:
    """Prepare and train; OOM and Ctrl+C become typed errors, Ctrl+C after saving the current state."""
    run = None
    try:
        run = prepare(cfg, checked, emit, signals=signals, requests_since=requests_since)
        return train(run), run
    except torch.OutOfMemoryError as exc:
        log.info("%s", " ".join(str(exc).split()))  # PyTorch's own words, for a bug report
        raise OutOfMemory(out_of_memory_message(str(exc)), hint=memory_hint(cfg)) from exc
    except KeyboardInterrupt:
        # Without StopSignals installed (in-process use) Ctrl+C arrives as an exception mid-step.
        if run is not None and run.global_step > 0:
            save_lora(run, run.output_dir / f"{cfg.output_name}-step{run.global_step:06d}.safetensors", final=False)
        raise Stopped(M("run.stopped_by_user"), hint=M("run.stopped_saved") if run else None) from None
