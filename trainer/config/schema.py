"""Every training option, once: kohya sd-scripts key names, bounds, defaults and help (zh/en),
the tutorial section each belongs to, and the checks of single values. The page's form, the
TOML files and the presets derive from TrainConfig."""
from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from trainer.errors import ConfigError
from trainer.messages import M, Msg

from .checks import _cross_field_problems, _looks_like_prompt_file, _read_zero_rates, _resolve_and_check_paths
from .compat import _KOHYA_OTHER_OPTIMIZERS, SUPPORTED_OPTIMIZERS
from .network_args import NETWORK_MODULES, normalise_network_args
from .problems import _config_error, _FieldProblem, key_value_items

SECTIONS = ("paths", "steps", "effect", "preview", "advanced")

# The options that name a file or folder on this computer, and which: "file", "dir" or "any"
# (a model is a file or a diffusers folder). Checked to exist (trainer/config/checks.py);
# never carried by a preset (ui/formmap.py PERSONAL_FIELDS). sample_prompts may be a path too.
PATH_FIELDS = {
    "pretrained_model_name_or_path": "any",
    "vae": "any",
    "train_data_dir": "dir",
    "reg_data_dir": "dir",
    "network_weights": "file",
    "resume": "dir",
    "output_dir": "dir",
    "logging_dir": "dir",
}


SECTION_TITLES = {
    "paths": {"zh": "一、路径相关", "en": "1. Paths"},
    "steps": {"zh": "二、步数相关", "en": "2. Steps"},
    "effect": {"zh": "三、模型效果相关", "en": "3. Model quality"},
    "preview": {"zh": "训练预览图", "en": "Preview images"},
    "advanced": {"zh": "高级设置", "en": "Advanced"},
}


# Windows refuses these in file names (and "/" is a folder separator everywhere).
_WINDOWS_FORBIDDEN_CHARS = '<>:"/\\|?*'


# Windows refuses these in file names (and "/" is a folder separator everywhere).
_WINDOWS_FORBIDDEN_CHARS = '<>:"/\\|?*'
_WINDOWS_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {
    f"LPT{i}" for i in range(1, 10)
}


def _f(default: Any, section: str, zh: str, en: str, **bounds: Any) -> Any:
    assert section in SECTIONS, section
    return Field(
        default,
        description=en,
        json_schema_extra={"help_zh": zh, "help_en": en, "section": section},
        **bounds,
    )


# Optional int fields where sd-scripts (and the kohya_ss GUI, which writes 0 for "off")
# treat 0 as "not set": normalised to None so 0 does not trip the >= 1 bound.
_ZERO_MEANS_UNSET = (
    "multires_noise_iterations",
    "ip_noise_gamma",
    "save_every_n_epochs",
    "save_last_n_epochs",
    "save_last_n_epochs_state",
    "max_train_epochs",
    "max_train_steps",
    "sample_every_n_epochs",
    "sample_every_n_steps",
    "min_snr_gamma",
    # sd-scripts would divide by 0 (or validate nothing); kohya_ss writes 0 for "not set"
    "validate_every_n_epochs",
    "validate_every_n_steps",
    "max_validation_steps",
)


def _allows_none(annotation: Any) -> bool:
    import typing

    return annotation is type(None) or any(_allows_none(a) for a in typing.get_args(annotation))


class TrainConfig(BaseModel):
    """All training options. Field names are sd-scripts' command-line / TOML keys.

    Constructing it directly checks values and the rules across fields (a wrong field value
    raises pydantic's ValidationError, a cross-field problem a ConfigError) but never touches
    the filesystem. Files go through config_from_dict / load_config, which also turn unknown
    keys, not-supported-yet keys and missing paths into one ConfigError, and make paths absolute.
    """

    model_config = ConfigDict(extra="forbid")

    # ---- 一、路径相关 / paths -------------------------------------------------
    pretrained_model_name_or_path: str = _f(
        ...,
        "paths",
        "训练底模：作为训练基础的大模型文件（.safetensors / .ckpt）或 Diffusers 模型文件夹。"
        "推荐用 SD-v1-5-pruned-emaonly 或者 ReVAnimated 这种没有被融合过的大模型作为训练用的底模。"
        "训练 SDXL 的 LoRA 时，出图底模需要和训练底模一致，并且需要 16G 显存才能训练。"
        "Danlu 只从本地加载模型，不会联网下载。",
        "Base model to train on: a checkpoint file (.safetensors / .ckpt) or a Diffusers model folder. "
        "Use a base model that is not a merge, such as SD-v1-5-pruned-emaonly or ReVAnimated. "
        "For an SDXL LoRA, generate with the same base model you trained on; SDXL needs 16 GB of GPU memory. "
        "Danlu loads models from disk only and never downloads them.",
        min_length=1,
    )
    vae: Optional[str] = _f(
        None,
        "paths",
        "（可选）外置 VAE 文件路径，用它替换底模自带的 VAE。留空则使用底模自带的 VAE。",
        "(Optional) Path of a separate VAE file that replaces the base model's own VAE. "
        "Leave empty to use the VAE inside the base model.",
    )
    train_data_dir: str = _f(
        ...,
        "paths",
        "训练集文件夹。里面每个子文件夹的名字写成 repeat_名字，例如 30_aidou：30 就是 repeat，"
        "代表每张图片训练 30 次。训练集图片质量越好，模型效果越好，训练集质量由 image + tag 决定："
        "image 要有近景/远景/不同角度，清晰；tag 要描述全面准确——触发词+背景+视角+动作+光影+镜头构图"
        "（自然语言+单词描述）。",
        "Training images folder. Name each subfolder repeat_name, e.g. 30_aidou: 30 is the repeat, "
        "meaning every image in it is trained 30 times per epoch. The better the images, the better the "
        "LoRA; quality comes from image + tags: images with close-ups, long shots, different angles, sharp; "
        "tags that describe fully and accurately - trigger word + background + view + action + lighting + "
        "composition (natural language and single words).",
        min_length=1,
    )
    reg_data_dir: Optional[str] = _f(
        None,
        "paths",
        "（可选）正则化图片文件夹，子文件夹命名方式与训练集相同。正则化图片帮助模型只学到触发词对应的内容，"
        "不把其它东西一起学走。默认留空，不使用正则化图片。",
        "(Optional) Regularization images folder, subfolders named like the training set. Regularization "
        "images keep the model from learning more than the trigger word stands for. Leave empty (the "
        "default) to train without them.",
    )
    resolution: str = _f(
        "512",
        "paths",
        "训练分辨率：写一个数表示正方形（512），或者写“宽,高”（512,768），必须是 64 的倍数。"
        "训练集尺寸越大，训练效果越好，但是训练时间越长。不能超过最大分辨率（max_bucket_reso），"
        "但最大分辨率可以调大。SD1.5 常用 512，SDXL 常用 1024。",
        "Training resolution: one number for a square (512) or width,height (512,768), multiples of 64. "
        "Larger training images give better results but take longer to train. It may not exceed the "
        "largest bucket size (max_bucket_reso), which you can raise. SD 1.5 usually uses 512, SDXL 1024.",
    )
    # sd-scripts defaults to False; Danlu to True because users' images are rarely square, and
    # without buckets every image is cropped to the training resolution's shape.
    enable_bucket: bool = _f(
        True,
        "paths",
        "启用分桶（ARB）：把宽高比不同的图片分到不同的“桶”里训练，图片不用裁成正方形。"
        "大多数人的图片都不是正方形，所以 Danlu 默认开启。",
        "Aspect-ratio buckets: images of different shapes are trained in separate buckets instead of "
        "being cropped to one shape. Most people's images are not square, so Danlu turns this on by default.",
    )
    min_bucket_reso: int = _f(
        256,
        "paths",
        "分桶的最小边长（像素），不能大于训练分辨率的短边，需是 bucket_reso_steps 的倍数。",
        "Smallest bucket side in pixels; at most the resolution's shorter side and a multiple of "
        "bucket_reso_steps.",
        ge=64,
        le=4096,
    )
    max_bucket_reso: int = _f(
        1024,
        "paths",
        "分桶的最大边长（像素），不能小于训练分辨率的长边，需是 bucket_reso_steps 的倍数。",
        "Largest bucket side in pixels; at least the resolution's longer side and a multiple of "
        "bucket_reso_steps.",
        ge=64,
        le=4096,
    )
    bucket_reso_steps: int = _f(
        64,
        "paths",
        "分桶边长的步进单位（像素），必须是 8 的倍数。SD1.5 用 64；SDXL 可以用 32。",
        "Step between bucket sizes in pixels; a multiple of 8. Use 64 for SD 1.5; SDXL can use 32.",
        ge=8,
        le=512,
    )
    bucket_no_upscale: bool = _f(
        False,
        "paths",
        "分桶时不放大图片：比训练分辨率小的图片按原尺寸分桶，不会被放大。",
        "Do not upscale: images smaller than the training resolution get a bucket of their own size "
        "instead of being enlarged.",
    )
    output_dir: str = _f(
        "./output",
        "paths",
        "模型保存文件夹。训练好的 LoRA、预览图和日志都放在这里。",
        "Folder where the trained LoRA, the preview images and the logs are written.",
        min_length=1,
    )
    output_name: str = _f(
        "lora",
        "paths",
        "模型保存名称（文件名，不含扩展名）。可以用中文，但不能包含 / \\ : * ? \" < > | 这些字符。",
        "Name of the saved LoRA file, without extension. Any language is fine, but not the characters "
        '/ \\ : * ? " < > |.',
        min_length=1,
    )

    # ---- 二、步数相关 / steps --------------------------------------------------
    max_train_epochs: Optional[int] = _f(
        None,
        "steps",
        "epoch 训练轮次：所有图片（乘以各自的 repeat）完整训练一遍算一轮。它和 repeat 相似，越高训练时间越久，"
        "也容易导致过拟合，可以提升模型的准确率和效果，但是太高容易炸炉。初步测试建议用 10-20，"
        "过拟合就减少，收敛不足就增加；看训练集细节程度，假设场景细节多且是大场景，建议开高。"
        "总训练步数 = 图片数量 × repeat × epoch ÷ batch size。"
        "过拟合（步数太多，学过头）：降低训练集张数、repeat、epoch、network_dim、network_alpha，或者增加 batch size；"
        "欠拟合（步数太少，没学到）：反过来调整。",
        "Epochs: one epoch trains every image once (times its repeat). Like repeat, more epochs take longer "
        "and risk overfitting; they can improve accuracy, but too many make training blow up. Start with "
        "10-20: fewer if it overfits, more if it has not converged; go higher for large, detailed scenes. "
        "Total steps = images x repeat x epochs / batch size. Overfitting (too many steps, learned too much): "
        "lower the number of images, repeat, epochs, network_dim or network_alpha, or raise the batch size; "
        "underfitting (too few steps, learned too little): the opposite.",
        ge=1,
    )
    train_batch_size: int = _f(
        1,
        "steps",
        "batch size 同时训练的图片数量，比如同时训练 4 张图片：训练集一共 40 张图，一次训练 4 张，只需要跑 10 次。"
        "较大的 batch size 会使训练速度更快，显存占用更大，但收敛得慢（需要更多 epoch）；"
        "较小的 batch size 会使训练速度更慢，显存占用更小，但收敛得快（可以减少 epoch）。"
        "对硬件要求比较高，如果硬件好可以开高，默认为 1。",
        "Batch size: how many images are trained at once. With 40 images and a batch size of 4, one pass "
        "takes 10 steps. A larger batch trains faster and uses more GPU memory but converges more slowly "
        "(needs more epochs); a smaller batch is slower and uses less memory but converges faster (fewer "
        "epochs). It needs strong hardware; raise it if you have it. Default 1.",
        ge=1,
        le=64,
    )
    save_every_n_epochs: Optional[int] = _f(
        None,
        "steps",
        "每 N 轮（epoch）保存一次模型，方便之后挑选效果最好的一轮。留空或 0 则只在训练结束时保存。",
        "Save the LoRA every N epochs, so you can pick the best epoch afterwards. Empty or 0: save only at "
        "the end.",
        ge=1,
    )
    save_last_n_epochs: Optional[int] = _f(
        None,
        "steps",
        "只保留最近 N 个按轮保存的模型，更早的在新文件写好并校验后才删除，省硬盘。留空则全部保留。",
        "Keep only the last N per-epoch LoRA files; an older one is deleted only after the new one is "
        "written and read back. Empty: keep them all.",
        ge=1,
    )
    save_state: bool = _f(
        False,
        "advanced",
        "每次按轮保存时，同时保存完整训练状态（LoRA、优化器、学习率调度器、步数、随机数状态），"
        "训练结束时也保存一次，之后可以用 resume 从这里接着训练。停止训练时总会保存一次状态。",
        "With every per-epoch save, also save the full training state (LoRA, optimizer, scheduler, step, "
        "random states), and once more at the end, so resume can continue from it. Stopping a run always "
        "saves its state.",
    )
    save_state_on_train_end: bool = _f(
        False,
        "advanced",
        "只在训练结束时保存一次完整训练状态（用于之后接着多训几轮）。",
        "Save the full training state once, at the end (to train more epochs later).",
    )
    save_last_n_epochs_state: Optional[int] = _f(
        None,
        "advanced",
        "只保留最近 N 个按轮保存的训练状态。",
        "Keep only the last N per-epoch training states.",
        ge=1,
    )
    resume: Optional[str] = _f(
        None,
        "advanced",
        "从保存的训练状态文件夹（xxx-state）接着训练：同样的配置和种子下，停下再继续与一次训完结果相同。",
        "Continue from a saved training state folder (xxx-state): with the same config and seed, stopping "
        "and resuming gives the same result as one run straight through.",
    )
    stop_on_diverging: bool = _f(
        False,
        "advanced",
        "发现“炸炉”迹象（loss 远高于平时水平，或预览图全黑/纯色）时直接停止训练，而不只是警告。"
        "loss 变成 NaN 时无论如何都会停止。",
        "Stop the run when it shows signs of diverging (the loss far above its running level, or "
        "black/flat preview images) instead of only warning. A NaN loss always stops the run.",
    )
    # No hidden default: sd-scripts silently uses 1600 steps when neither this nor
    # max_train_epochs is set, which confused users; Danlu asks for one of them instead.
    max_train_steps: Optional[int] = _f(
        None,
        "steps",
        "最大训练步数。一般留空，由 epoch 决定；同时填写了 max_train_epochs 时以 epoch 为准（与 sd-scripts 相同）。"
        "两项都不填时 sd-scripts 会悄悄训练 1600 步，Danlu 不会：请至少填写其中一项。"
        "总训练步数 = 图片数量 × repeat × epoch ÷ batch size，例如 100 张图、每张训练 30 次、训练 10 轮、"
        "batch size 1：100×30×10÷1 = 30000 步。",
        "Maximum training steps. Usually leave empty and set epochs; when max_train_epochs is also set, "
        "epochs win (as in sd-scripts). sd-scripts silently trains 1600 steps when neither is set; Danlu "
        "does not, so set at least one. Total steps = images x repeat x epochs / batch size, e.g. 100 "
        "images x 30 repeats x 10 epochs / batch 1 = 30000 steps.",
        ge=1,
    )
    gradient_accumulation_steps: int = _f(
        1,
        "steps",
        "梯度累加步数：累加 N 步的梯度再更新一次，效果接近把 batch size 放大 N 倍，但不多占显存。默认 1（不累加）。",
        "Gradient accumulation: add up the gradients of N steps before each update, close to an N times "
        "larger batch without the extra memory. Default 1 (none).",
        ge=1,
        le=1024,
    )
    # Validation loss (sd-scripts' train_network.py --validation_split and the options beside it;
    # docs/validation.md). Held out per training folder: trainer/plan.py hold_out.
    validation_split: float = _f(
        0.0,
        "steps",
        "验证集比例：从每个训练文件夹里按这个比例随机留出图片（例如 0.1 = 10%），这些图片不参与训练，只用来算验证 loss。"
        "验证 loss 默认每轮算一次，用固定的时间步和固定的噪声，所以各轮之间可以直接比较；它画在 loss 曲线旁边，"
        "训练结束时的建议会指出验证 loss 最低的是哪一轮。验证 loss 上升、训练 loss 却在下降，就是过拟合了。"
        "留出的图片不乘 repeat，正则化图片不会被留出，每个文件夹至少留一张图片训练。0 为不留出（默认）。",
        "Validation split: the share of each training folder's images held out at random (e.g. 0.1 = 10%); they "
        "never train and only measure the validation loss. It is computed every epoch by default, at fixed "
        "timesteps with fixed noise, so epochs compare directly; it is drawn beside the loss curve, and the "
        "end-of-run advice names the epoch where it was lowest. A validation loss that rises while the training "
        "loss falls means over-fitting. Held-out images count once (no repeats), regularization images are never "
        "held out, and each folder keeps at least one image to train. 0 (default): nothing held out.",
        ge=0,
        lt=1,
        allow_inf_nan=False,
    )
    validation_seed: Optional[int] = _f(
        None,
        "advanced",
        "选验证图片用的随机种子：同一个种子、同样的图片，留出的总是同样那几张（和 sd-scripts 选的一样）；"
        "验证时的固定噪声也由它决定。留空则用 seed。",
        "Seed that chooses the held-out images: the same seed and images always hold out the same ones (the ones "
        "sd-scripts chooses); it also draws the validation's fixed noise. Empty: seed.",
        ge=0,
        le=2**32 - 1,
    )
    validate_every_n_epochs: Optional[int] = _f(
        None,
        "advanced",
        "每 N 轮算一次验证 loss（需要 validation_split）。留空或 0 则每轮都算（与 sd-scripts 相同）。",
        "Compute the validation loss every N epochs (needs validation_split). Empty or 0: every epoch (as "
        "sd-scripts).",
        ge=1,
    )
    validate_every_n_steps: Optional[int] = _f(
        None,
        "advanced",
        "另外每 N 步算一次验证 loss（需要 validation_split），每轮结束时照常也算。留空或 0 则不按步数算。",
        "Also compute the validation loss every N steps (needs validation_split); the end of each epoch still "
        "counts. Empty or 0: not by steps.",
        ge=1,
    )
    max_validation_steps: Optional[int] = _f(
        None,
        "advanced",
        "每次验证最多用几批（batch）留出的图片，每批在 4 个固定时间步上各算一次。图片多、验证太慢时再设。"
        "留空或 0 则用全部留出的图片。",
        "At most this many batches of held-out images per validation, each at 4 fixed timesteps. Set it when "
        "there are many images and validation is slow. Empty or 0: every held-out image.",
        ge=1,
    )

    # ---- 三、模型效果相关 / effect ----------------------------------------------
    unet_lr: Optional[float] = _f(
        None,
        "effect",
        "U-Net 学习率：控制模型每次迭代更新时对权重的调整幅度，可以视为决定每一步跨越多远。"
        "学习率较大时，每一步更新的幅度比较大，可能更快收敛，但容易不稳定，可能出现炸炉或者收敛太快，"
        "loss 值波动复杂（学太糙，没学懂）；学习率较小时，过程比较稳定，但可能收敛过慢，达不到最佳效果，"
        "loss 值波动平稳（学太慢，没学到）。过大过小都可能导致训练效果不佳，通常需要测试和调整来找到适合训练集的学习率。"
        "常用 1e-4（= 1/10000 = 0.0001）。留空则使用 learning_rate。设为 0 则不训练 U-Net（与 sd-scripts 相同）。",
        "U-Net learning rate: how far each update moves the weights, i.e. how big each step is. A large "
        "rate moves a lot per step and may converge sooner, but is unstable: training can blow up or "
        "converge too fast, and the loss jumps around (learned roughly, not understood). A small rate is "
        "stable but may converge too slowly to reach the best result, with a flat loss (learned too slowly, "
        "not learned). Both extremes give poor results; test and adjust to find the rate for your images. "
        "Common: 1e-4 (= 1/10000 = 0.0001). Empty: use learning_rate. 0: the U-Net is not trained "
        "(as in sd-scripts).",
        ge=0,
        allow_inf_nan=False,
    )
    text_encoder_lr: Optional[float] = _f(
        None,
        "effect",
        "文本编码器学习率，一般是 U-Net 学习率的十分之一或二分之一左右（例如 1e-4÷10 = 1e-5，1e-4÷2 = 5e-5）。"
        "新手可用默认。留空则使用 learning_rate。设为 0 则不训练文本编码器（与 sd-scripts 相同）。",
        "Text encoder learning rate, usually about a tenth or a half of the U-Net learning rate "
        "(e.g. 1e-4 / 10 = 1e-5, 1e-4 / 2 = 5e-5). Beginners can keep the default. Empty: use learning_rate. "
        "0: the text encoder is not trained (as in sd-scripts).",
        ge=0,
        allow_inf_nan=False,
    )
    learning_rate: float = _f(
        1e-4,
        "effect",
        "总学习率：分别设置了 unet_lr 和 text_encoder_lr 后，这个值就不起作用了。"
        "1e-4 = 1/10000 = 0.0001，1e-5 = 1/100000 = 0.00001。使用 DAdaptation 或 Prodigy 时设为 1。",
        "Overall learning rate, used where unet_lr or text_encoder_lr is empty. 1e-4 = 1/10000 = 0.0001, "
        "1e-5 = 1/100000 = 0.00001. Set it to 1 with DAdaptation or Prodigy.",
        ge=0,
        allow_inf_nan=False,
    )
    # AdamW8bit like lora-scripts (sd-scripts' own default is AdamW): same results, less memory.
    optimizer_type: str = _f(
        "AdamW8bit",
        "effect",
        "优化器。主流使用的是 AdamW8bit、DAdaptation、Lion、Prodigy（神童）这几个，其中 DAdaptation 是一个自适应学习率的优化器，"
        "一般用于测试一组素材的最优学习率：1. 把 unet_lr 设为 1，text_encoder_lr 设为 1，调度器设为 constant；"
        "2. 其他参数按照正常训练流程设置，然后开始训练；3. 日志（TensorBoard）里的学习率曲线上升到一个值后就会恒定不变，"
        "这个值就是最优 unet_lr 学习率；4. 然后用这个最优学习率选择 Lion 或者 AdamW8bit 训练，使用 Lion 需要最优学习率 ÷ 3。"
        "Prodigy（神童）同样会自动调整学习率，学习率设为 1。",
        "Optimizer. The common ones are AdamW8bit, DAdaptation, Lion and Prodigy. DAdaptation adapts the "
        "learning rate by itself and is mostly used to find the best learning rate for a set of images: "
        "1. set unet_lr and text_encoder_lr to 1 and the scheduler to constant; 2. set everything else as "
        "usual and train; 3. in the logs (TensorBoard) the learning-rate curve rises and then stays flat: "
        "that value is the best unet_lr; 4. train with that rate using Lion or AdamW8bit; with Lion divide "
        "it by 3. Prodigy also adapts the rate by itself; set the learning rate to 1.",
    )
    # cosine_with_restarts like lora-scripts (sd-scripts' default is constant).
    lr_scheduler: Literal[
        "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial", "adafactor"
    ] = _f(
        "cosine_with_restarts",
        "effect",
        "学习率调度器：训练过程中学习率怎样变化。constant 保持不变；constant_with_warmup 预热后保持不变；"
        "linear 线性降低；cosine 按余弦曲线逐渐降低；cosine_with_restarts 余弦降低后重启（次数见 lr_scheduler_num_cycles）；"
        "polynomial 多项式降低（幂次见 lr_scheduler_power）；adafactor 配合 AdaFactor 优化器。用 DAdaptation 寻找学习率时选 constant。",
        "How the learning rate changes during training. constant: unchanged; constant_with_warmup: "
        "unchanged after the warm-up; linear: falls in a straight line; cosine: falls along a cosine curve; "
        "cosine_with_restarts: falls along a cosine and restarts (see lr_scheduler_num_cycles); polynomial: "
        "falls along a polynomial (see lr_scheduler_power); adafactor: for the AdaFactor optimizer. Use "
        "constant when searching a learning rate with DAdaptation.",
    )
    # A count, or (below 1) a share of the total steps, as sd-scripts reads it.
    lr_warmup_steps: float = _f(
        0,
        "effect",
        "学习率预热步数：前 N 步学习率从 0 逐渐升到设定值，让训练开头更稳。小于 1 的数表示占总步数的比例"
        "（0.05 = 前 5% 的步数）。默认 0（不预热）。",
        "Warm-up steps: the learning rate rises from 0 to its value over the first N steps, for a steadier "
        "start. A number below 1 is a share of the total steps (0.05 = the first 5%). Default 0 (no warm-up).",
        ge=0,
    )
    lr_scheduler_power: float = _f(
        1.0,
        "effect",
        "polynomial 调度器的幂次：1 为线性下降，越大前期下降越快。",
        "Power of the polynomial scheduler: 1 falls linearly, larger falls faster early on.",
        gt=0,
    )
    lr_scheduler_num_cycles: int = _f(
        1,
        "effect",
        "重启次数：cosine_with_restarts 调度器里学习率从高到低重复的次数。",
        "Restarts: how many times the cosine_with_restarts scheduler runs its high-to-low cycle.",
        ge=1,
        le=1000,
    )
    network_dim: int = _f(
        32,
        "effect",
        "dim 网络维度：可以理解为 LoRA 的规模复杂性，越大的 dim 就可以学习训练集越多的细节；训练集的细节越多，"
        "dim 就需要相对调大。大场景+细节较多用 128（看效果适当降低）；IP 或者细节比较少的图用 32、64，根据具体情况调整测试。"
        "细节多的训练集可以开高 dim 和 epoch。dim 越大，文件越大、显存占用越高。",
        "Network dimension (rank): the size of the LoRA; a larger dim can learn more of the training set's "
        "details, so more detailed images need a larger dim. Large, detailed scenes: 128 (lower it if the "
        "results allow); a character/IP or images with little detail: 32 or 64; test and adjust. Detailed "
        "sets can use a higher dim and more epochs. A larger dim means a larger file and more GPU memory.",
        ge=1,  # at most 1024, except for LoKr's full-matrix mode (trainer/config/network_args.py)
    )
    # sd-scripts' default alpha is 1; Danlu uses 16 with dim 32, following the tutorial's
    # "alpha = dim or half of dim" (alpha 1 with dim 32 scales updates by 1/32 and needs a much
    # higher learning rate than users expect).
    network_alpha: float = _f(
        16.0,
        "effect",
        "network_alpha 常采用与 network_dim 相同值或者一半，教程说不能超过 network_dim 的值（超过时每次更新被放大 "
        "alpha/dim 倍，相当于更高的学习率；这样的配置仍会训练，并给出提示）。alpha 越小越约束模型，避免过拟合，"
        "但也不可以太小，太小会出现下溢，影响模型效果，而且速度也会变慢。"
        "如果 U-Net 学习率小，network_alpha 也小，可能会导致太慢达不到好的模型效果。",
        "network_alpha is usually the same as network_dim or half of it; the tutorial says it should not exceed "
        "network_dim (above it every update is scaled up by alpha/dim, like a higher learning rate; such a config "
        "still trains, with a note). A "
        "smaller alpha restrains the model more and avoids overfitting, but too small underflows, hurts "
        "the result and slows learning. A small U-Net learning rate together with a small alpha may learn "
        "too slowly to reach a good result.",
        gt=0,
    )
    network_train_unet_only: bool = _f(
        False,
        "effect",
        "只训练 U-Net，不训练文本编码器。训练 SDXL LoRA 时推荐开启，省显存。",
        "Train only the U-Net, not the text encoder. Recommended for SDXL LoRAs; saves memory.",
    )
    network_train_text_encoder_only: bool = _f(
        False,
        "effect",
        "只训练文本编码器，不训练 U-Net（很少用）。",
        "Train only the text encoder, not the U-Net (rarely used).",
    )

    # ---- 训练预览图 / preview ---------------------------------------------------
    sample_prompts: Optional[str] = _f(
        None,
        "preview",
        "预览图提示词：可以直接填写提示词，也可以填写 .txt / .toml / .json 提示词文件的路径（txt 一行一条）。"
        "--n 后面是反向提示词，--w 宽，--h 高，--l CFG Scale，--s 迭代步数，--d 种子。"
        "配置高的话可以开启训练预览图；预览图出黑图，或者日志里 loss 值波动复杂，就是炸炉了。",
        "Preview prompts: the prompt text itself, or the path of a .txt / .toml / .json prompt file (one "
        "prompt per line in .txt). After --n comes the negative prompt; --w width, --h height, --l CFG "
        "scale, --s steps, --d seed. Turn previews on if your hardware allows; black previews, or a loss "
        "that jumps around in the log, mean training has blown up.",
    )
    sample_sampler: Literal[
        "ddim",
        "pndm",
        "lms",
        "euler",
        "euler_a",
        "heun",
        "dpm_2",
        "dpm_2_a",
        "dpmsolver",
        "dpmsolver++",
        "dpmsingle",
        "k_lms",
        "k_euler",
        "k_euler_a",
        "k_dpm_2",
        "k_dpm_2_a",
    ] = _f(
        "euler_a",
        "preview",
        "生成预览图所用的采样器。默认 euler_a（sd-scripts 默认 ddim）。",
        "Sampler for the preview images. Default euler_a (sd-scripts' default is ddim).",
    )
    sample_every_n_epochs: Optional[int] = _f(
        None,
        "preview",
        "每 N 轮（epoch）生成一次预览图，需要填写预览图提示词。留空或 0 为不生成。",
        "Make preview images every N epochs; needs sample_prompts. Empty or 0: no previews by epoch.",
        ge=1,
    )
    sample_every_n_steps: Optional[int] = _f(
        None,
        "preview",
        "每 N 步生成一次预览图，需要填写预览图提示词。同时设置了 sample_every_n_epochs 时以 epoch 为准。留空或 0 为不生成。",
        "Make preview images every N steps; needs sample_prompts. When sample_every_n_epochs is also set, "
        "the epoch setting wins. Empty or 0: no previews by step.",
        ge=1,
    )

    # ---- 高级设置 / advanced ---------------------------------------------------
    model_train_type: Optional[Literal["sd-lora", "sdxl-lora"]] = _f(
        None,
        "advanced",
        "训练种类（lora-scripts 会写这一项）：sd-lora 或 sdxl-lora。训练器会检查它与底模是否一致。留空则按底模自动识别。",
        "Training type (lora-scripts writes it): sd-lora or sdxl-lora. The trainer checks it against the "
        "base model. Empty: detected from the base model.",
    )
    network_weights: Optional[str] = _f(
        None,
        "advanced",
        "从已有的 LoRA 模型继续训练，填写它的 .safetensors 路径。留空则从头训练。",
        "Continue training from an existing LoRA: the path of its .safetensors file. Empty: start from scratch.",
    )
    network_module: Literal["networks.lora", "lycoris.kohya"] = _f(
        "networks.lora",
        "advanced",
        "训练网络模块。networks.lora：kohya 的标准 LoRA（在 network_args 里写 conv_dim 就是 kohya 的 LoCon，"
        "也训练卷积层）；lycoris.kohya：LyCORIS，在 network_args 里用 algo 选 locon、loha 或 lokr，dora_wd=True 为 DoRA。"
        "两种文件 WebUI 和 ComfyUI 都能直接加载。",
        "Network module. networks.lora: kohya's standard LoRA (with conv_dim in network_args it is kohya's LoCon, "
        "training the conv layers too); lycoris.kohya: LyCORIS, with algo in network_args choosing locon, loha or "
        "lokr, and dora_wd=True for DoRA. WebUI and ComfyUI load both kinds of file directly.",
    )
    network_args: list[str] = _f(
        [],
        "advanced",
        "网络模块的额外参数，每项写成 key=value，与 sd-scripts 相同。networks.lora 读 conv_dim、conv_alpha；"
        "lycoris.kohya 读 algo、preset、conv_dim、conv_alpha、dropout、rank_dropout、module_dropout、factor、"
        "decompose_both、full_matrix、dora_wd 等。例如 conv_dim=8、conv_alpha=4、algo=lokr、factor=8。",
        "Extra arguments of the network module, each as key=value, as in sd-scripts. networks.lora reads conv_dim "
        "and conv_alpha; lycoris.kohya reads algo, preset, conv_dim, conv_alpha, dropout, rank_dropout, "
        "module_dropout, factor, decompose_both, full_matrix, dora_wd and more. E.g. conv_dim=8, conv_alpha=4, "
        "algo=lokr, factor=8.",
    )
    save_model_as: Literal["safetensors"] = _f(
        "safetensors",
        "advanced",
        "模型保存格式。Danlu 只保存 safetensors：WebUI 和 ComfyUI 都能直接、安全地加载它。",
        "File format of the saved LoRA. Danlu writes safetensors only: WebUI and ComfyUI load it directly "
        "and safely.",
    )
    save_precision: Literal["float", "fp16", "bf16"] = _f(
        "fp16",
        "advanced",
        "模型保存精度。fp16 文件小、通用（默认）；bf16 适合 RTX 30 系以后的显卡；float 文件最大。",
        "Precision of the saved weights. fp16: small and works everywhere (default); bf16: for RTX 30 "
        "series and newer; float: largest file.",
    )
    mixed_precision: Literal["no", "fp16", "bf16"] = _f(
        "fp16",
        "advanced",
        "训练混合精度。fp16 省显存、速度快；RTX 30 系以后的显卡也可以用 bf16，更不容易炸炉；no 为全精度（慢、占显存）。",
        "Mixed precision for training. fp16 saves memory and is fast; RTX 30 series and newer can use bf16, "
        "which blows up less often; no = full precision (slow, more memory).",
    )
    prior_loss_weight: float = _f(
        1.0,
        "advanced",
        "正则化图片的损失权重（先验损失权重），只在使用正则化图片时起作用。默认 1。",
        "Loss weight of the regularization images (prior loss weight); only used with reg_data_dir. Default 1.",
        ge=0,
        allow_inf_nan=False,
    )
    caption_extension: str = _f(
        ".txt",
        "advanced",
        "tag（标注）文件的扩展名，例如 .txt：图片 a.png 的 tag 写在 a.txt 里。",
        "Extension of the caption (tag) files, e.g. .txt: the tags of a.png are in a.txt.",
        min_length=1,
    )
    shuffle_caption: bool = _f(
        False,
        "advanced",
        "训练时随机打乱 tag 的顺序（按逗号分隔），让模型不依赖 tag 的先后顺序。",
        "Shuffle the comma-separated tags at every step, so the model does not depend on their order.",
    )
    keep_tokens: int = _f(
        0,
        "advanced",
        "打乱 tag 时保留前 N 个不动，一般用来固定触发词（设为 1）。",
        "When shuffling tags, keep the first N in place; usually 1, to keep the trigger word first.",
        ge=0,
        le=255,
    )
    max_token_length: Optional[Literal[75, 150, 225]] = _f(
        None,
        "advanced",
        "tag 的最大 token 长度：留空为 75；tag 很长时可选 150 或 225。",
        "Longest caption in tokens: empty means 75; choose 150 or 225 for long captions.",
    )
    clip_skip: Optional[int] = _f(
        None,
        "advanced",
        "CLIP 跳过层数：使用文本编码器倒数第 N 层的输出。SD1.5 的二次元模型常用 2，写实模型常用 1（即不跳过）。"
        "留空等于 1。出图时最好使用相同的值。",
        "CLIP skip: use the output of the text encoder's N-th layer from the end. SD 1.5 anime models "
        "commonly use 2, realistic models 1 (no skip). Empty means 1. Generate with the same value.",
        ge=1,
        le=12,
    )
    optimizer_args: list[str] = _f(
        [],
        "advanced",
        "优化器的额外参数，每项写成 key=value，例如 weight_decay=0.01、betas=0.9,0.999；Prodigy 常用 d_coef=2.0。",
        "Extra optimizer arguments, each as key=value, e.g. weight_decay=0.01, betas=0.9,0.999; Prodigy "
        "often uses d_coef=2.0.",
    )
    max_grad_norm: float = _f(
        1.0,
        "advanced",
        "梯度裁剪的最大范数，防止梯度过大导致炸炉；0 表示不裁剪。默认 1。",
        "Clip gradients to this norm so one bad step cannot blow training up; 0 turns clipping off. Default 1.",
        ge=0,
        allow_inf_nan=False,
    )
    noise_offset: Optional[float] = _f(
        None,
        "advanced",
        "噪声偏移：改善生成非常暗或者非常亮的图片，启用时推荐 0.1 左右。留空或 0 为关闭。",
        "Noise offset: helps the model make very dark or very bright images; about 0.1 when used. Empty or "
        "0: off.",
        ge=0,
        le=1,
        allow_inf_nan=False,
    )
    min_snr_gamma: Optional[float] = _f(
        None,
        "advanced",
        "最小信噪比伽马值（Min-SNR）：降低噪声很少的时间步的损失权重，让训练更稳、收敛更快；启用时推荐 5（论文推荐值）。"
        "留空或 0 为关闭。",
        "Min-SNR gamma: lowers the loss weight of low-noise timesteps for steadier, faster training; 5 when "
        "used (the paper's value). Empty or 0: off.",
        gt=0,
        allow_inf_nan=False,
    )
    # sd-scripts picks a random seed when none is given; Danlu fixes 1337 (lora-scripts'
    # value) so that training the same settings twice gives the same LoRA.
    # Upper bound: numpy's seed must be below 2**32 and accelerate's set_seed seeds numpy too.
    seed: int = _f(
        1337,
        "advanced",
        "随机种子。种子固定时，同样的设置再训练一次会得到同样的结果。Danlu 默认 1337（sd-scripts 默认每次随机）。",
        "Random seed. With a fixed seed, training the same settings again gives the same result. Danlu's "
        "default is 1337 (sd-scripts picks a random one each time).",
        ge=0,
        le=2**32 - 1,
    )
    gradient_checkpointing: bool = _f(
        False,
        "advanced",
        "梯度检查点：用时间换显存，显存不够时开启，训练会变慢。",
        "Gradient checkpointing: trades time for memory; turn it on when GPU memory runs out. Training gets "
        "slower.",
    )
    # sd-scripts defaults to False; Danlu to True: encoding every image with the VAE once,
    # before training, is the biggest speed-up for small datasets, and it has no downside
    # while color_aug / random_crop (which need fresh encodes) are not supported.
    cache_latents: bool = _f(
        True,
        "advanced",
        "缓存图像 latent：训练开始前先用 VAE 把每张图片编码一次并保存在内存里，之后每一步都不用再编码，"
        "小数据集提速最明显，Danlu 默认开启。",
        "Cache latents: encode every image with the VAE once before training and keep the result in memory, "
        "so no step has to encode again. The biggest speed-up for small datasets; on by default in Danlu.",
    )
    cache_latents_to_disk: bool = _f(
        False,
        "advanced",
        "把缓存的 latent 存到硬盘（训练集文件夹下的 .danlu-latents），下次训练同样的图片、分辨率和 VAE 时直接读取，"
        "省去重新编码；图片、分辨率或 VAE 变了会自动重新编码。打开它也就打开了 cache_latents。",
        "Keep the cached latents on disk (in .danlu-latents inside the training folder) and reuse them in later "
        "runs with the same images, resolution and VAE; a changed image, resolution or VAE is encoded again. "
        "Turns cache_latents on too.",
    )
    vae_batch_size: int = _f(
        1,
        "advanced",
        "缓存 latent 时 VAE 一次编码几张图。大一点更快，但更占显存。",
        "How many images the VAE encodes at once while caching latents. Larger is faster and uses more memory.",
        ge=1,
        le=64,
    )
    cache_text_encoder_outputs: bool = _f(
        False,
        "advanced",
        "预先算好每条标签的文本编码器输出，训练时不再运行文本编码器，省显存（SDXL 常用）。只能和 "
        "network_train_unet_only 一起用，且不能打乱标签（shuffle_caption）。",
        "Compute each caption's text-encoder output once, so the text encoders never run while training: saves "
        "memory (common for SDXL). Needs network_train_unet_only and no shuffle_caption.",
    )
    no_half_vae: bool = _f(
        False,
        "advanced",
        "VAE 不用半精度（防止出黑图/NaN）。丹炉的 VAE 始终以 float32 运行，所以这一项总是生效。",
        "Keep the VAE out of half precision (prevents NaN latents and black previews). Danlu always runs the "
        "VAE in float32, so this is always in effect.",
    )
    full_fp16: bool = _f(
        False,
        "advanced",
        "连 LoRA 权重和梯度也用 fp16，最省显存但可能不稳定。需要 mixed_precision = \"fp16\" 和 NVIDIA 显卡。",
        "Keep the LoRA weights and gradients in fp16 too: the least memory, but less stable. Needs "
        "mixed_precision = \"fp16\" and an NVIDIA GPU.",
    )
    full_bf16: bool = _f(
        False,
        "advanced",
        "连 LoRA 权重和梯度也用 bf16，省显存。需要 mixed_precision = \"bf16\"（30 系及更新的显卡）。",
        "Keep the LoRA weights and gradients in bf16 too, to save memory. Needs mixed_precision = \"bf16\" "
        "(RTX 30 series or newer).",
    )
    flip_aug: bool = _f(
        False,
        "advanced",
        "随机水平翻转图片，相当于多一倍训练图。人物左右不对称（发型、标志）时不要开。",
        "Randomly mirror images left-right, like twice the images. Leave off when the subject is not "
        "symmetric (hair parting, logos).",
    )
    color_aug: bool = _f(
        False,
        "advanced",
        "随机轻微改变色相。不能和 cache_latents 一起用（每步图片都不同，无法缓存）。",
        "Randomly shift the hue a little. Cannot be used with cache_latents (each step's image differs, so "
        "nothing can be cached).",
    )
    random_crop: bool = _f(
        False,
        "advanced",
        "裁剪到分桶尺寸时随机取位置，而不是取中间。不能和 cache_latents 一起用。",
        "Crop to the bucket at a random position instead of the centre. Cannot be used with cache_latents.",
    )
    multires_noise_iterations: Optional[int] = _f(
        None,
        "advanced",
        "多分辨率（金字塔）噪声的层数，常用 6-10，能让画面明暗对比更丰富。留空则不用。",
        "Multi-resolution (pyramid) noise levels, commonly 6-10; gives richer contrast. Empty: off.",
        ge=1,
        le=64,  # kohya_ss' slider goes to 64; sd-scripts sets no bound
    )
    multires_noise_discount: float = _f(
        0.3,
        "advanced",
        "多分辨率噪声每一层的衰减，常用 0.3-0.8。",
        "How much weaker each level of the multi-resolution noise is, commonly 0.3-0.8.",
        gt=0,
        le=1,
    )
    ip_noise_gamma: Optional[float] = _f(
        None,
        "advanced",
        "输入扰动噪声强度（常用 0.1），让训练更稳。留空则不用。",
        "Input-perturbation noise strength (commonly 0.1), for steadier training. Empty: off.",
        ge=0,
        le=1,
    )
    loss_type: Literal["l2", "l1", "huber", "smooth_l1"] = _f(
        "l2",
        "advanced",
        "损失函数：l2（均方误差，默认）、l1、huber、smooth_l1（后两种对异常值更宽容，参数见 huber_c）。",
        "Loss function: l2 (mean squared error, the default), l1, huber, smooth_l1 (the last two are more "
        "forgiving of outliers; see huber_c).",
    )
    huber_schedule: Literal["constant", "exponential", "snr"] = _f(
        "snr",
        "advanced",
        "huber / smooth_l1 的 huber_c 随时间步怎样变化：constant、exponential 或 snr（默认）。",
        "How huber_c varies with the timestep for huber / smooth_l1: constant, exponential or snr (default).",
    )
    huber_c: float = _f(
        0.1,
        "advanced",
        "huber / smooth_l1 损失的参数 c。",
        "The c parameter of the huber / smooth_l1 loss.",
        gt=0,
        le=1,
    )
    zero_terminal_snr: bool = _f(
        False,
        "advanced",
        "把噪声调度改成最后一步信噪比为零（能生成真正的纯黑/纯白），一般和 v_parameterization 一起用。",
        "Rescale the noise schedule so the last step has zero signal (true black and white images); usually "
        "with v_parameterization.",
    )
    v_parameterization: bool = _f(
        False,
        "advanced",
        "底模是 v-prediction 模型时打开（例如一些 SDXL v-pred 微调模型）。普通 SD1.5 / SDXL 不要开。",
        "Turn on when the base model predicts v (v-prediction fine-tunes, e.g. some SDXL ones). Leave off "
        "for ordinary SD1.5 / SDXL models.",
    )
    scale_v_pred_loss_like_noise_pred: bool = _f(
        False,
        "advanced",
        "v-prediction 时把损失按噪声预测的尺度缩放（需要 v_parameterization）。",
        "With v-prediction, scale the loss like noise prediction's (needs v_parameterization).",
    )
    xformers: bool = _f(
        False,
        "advanced",
        "启用 xformers（lora-scripts 的配置都会写这一项）。装了 xformers 时使用它；没装时改用 PyTorch 自带的 SDPA "
        "注意力（同样省显存），并在日志里说明。",
        "Use xformers (every lora-scripts config writes this). Used when xformers is installed; otherwise "
        "PyTorch's own SDPA attention, which saves memory just as well, and train.log says so.",
    )
    sdpa: bool = _f(
        False,
        "advanced",
        "启用 SDPA 注意力。不用 xformers 时丹炉总是使用 PyTorch 的 SDPA 注意力，所以这一项会被接受，不需要设置。",
        "Use SDPA attention. Without xformers Danlu always uses PyTorch's SDPA attention, so this is accepted "
        "and needs no setting.",
    )
    logging_dir: Optional[str] = _f(
        None,
        "advanced",
        "日志（TensorBoard）保存文件夹。留空则为 输出文件夹/logs。",
        "Folder for the logs (TensorBoard). Empty: output_dir/logs.",
    )
    log_with: Optional[Literal["tensorboard"]] = _f(
        "tensorboard",
        "advanced",
        "日志模块：tensorboard，或留空不记录。用 TensorBoard 可以看 loss 和学习率曲线。",
        "Logging: tensorboard, or empty for none. TensorBoard shows the loss and learning-rate curves.",
    )
    training_comment: Optional[str] = _f(
        None,
        "advanced",
        "写入模型元数据的备注（例如触发词），在 WebUI 里可以看到。",
        "A comment stored in the LoRA's metadata (e.g. the trigger word); WebUI shows it.",
    )

    _ignored: dict = PrivateAttr(default_factory=dict)
    _notes: list = PrivateAttr(default_factory=list)

    # ---- normalisation before the fields are checked ---------------------------

    @model_validator(mode="before")
    @classmethod
    def _normalise_empties(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, info in cls.model_fields.items():
            if name not in data:
                continue
            value = data[name]
            optional = _allows_none(info.annotation)
            # lora-scripts writes `reg_data_dir = ""`, `vae = ""` for "not used".
            if optional and isinstance(value, str) and value.strip() == "":
                data[name] = None
            elif (
                name in _ZERO_MEANS_UNSET
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
                and value == 0
            ):
                data[name] = None
        return data

    @field_validator("resolution", mode="before")
    @classmethod
    def _check_resolution(cls, value: Any) -> str:
        return _normalise_resolution(value)

    @field_validator("output_name")
    @classmethod
    def _check_output_name(cls, value: str) -> str:
        _check_file_name(value)
        return value

    @field_validator("optimizer_type", mode="before")
    @classmethod
    def _check_optimizer(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str type check words it
        return _normalise_optimizer(value)

    @field_validator("optimizer_args", mode="before")
    @classmethod
    def _check_optimizer_args(cls, value: Any) -> Any:
        return _normalise_optimizer_args(value)

    @field_validator("text_encoder_lr", mode="before")
    @classmethod
    def _one_text_encoder_lr(cls, value: Any, info: ValidationInfo) -> Any:
        # sd-scripts' newest train_network takes a list (one rate per text encoder; kohya_ss
        # writes [te, te]); with networks.lora it uses the first for every text encoder
        # (train_network.py "toml backward compatibility"), and [] means unset.
        if isinstance(value, (list, tuple)):
            if not value:
                return None
            if len(set(value)) > 1:
                (info.context or {}).get("notes", []).append(
                    M("config.note_te_lr_list", value=repr(list(value)), first=value[0]))
            return value[0]
        return value

    @field_validator("network_module", mode="before")
    @classmethod
    def _check_network_module(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in NETWORK_MODULES:
            raise _FieldProblem(M("config.network_module", value=repr(value)), M("config.network_module_hint"))
        return value

    @field_validator("network_args", mode="before")
    @classmethod
    def _check_network_args(cls, value: Any) -> Any:
        return normalise_network_args(value)

    @field_validator("save_model_as", mode="before")
    @classmethod
    def _check_save_model_as(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "safetensors":
            raise _FieldProblem(M("config.save_model_as", value=repr(value)),
                                M("config.use_setting_instead", setting='save_model_as = "safetensors"'))
        return value

    @field_validator("model_train_type", mode="before")
    @classmethod
    def _check_model_train_type(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("sd-lora", "sdxl-lora"):
            raise _FieldProblem(M("config.model_train_type", value=repr(value)), M("config.model_train_type_hint"))
        return value

    @field_validator("caption_extension")
    @classmethod
    def _check_caption_extension(cls, value: str) -> str:
        if not value.startswith(".") or len(value) < 2:
            raise _FieldProblem(M("config.caption_extension", value=repr(value)),
                                M("config.write_setting", setting=f'caption_extension = ".{value.lstrip(".") or "txt"}"'))
        return value

    # ---- checks across fields --------------------------------------------------

    @model_validator(mode="after")
    def _check_together(self, info: ValidationInfo) -> "TrainConfig":
        context = info.context or {}
        skip = frozenset(context.get("skip", ()))
        notes = context.get("notes", [])  # what was read differently from the values, and why
        _read_zero_rates(self, skip, notes)
        problems = _cross_field_problems(self, skip, notes)
        _validation_notes(self, skip, notes)
        if context.get("check_paths"):
            problems += _resolve_and_check_paths(self, Path(context.get("base_dir") or Path.cwd()), skip)
        if problems:
            raise _config_error(problems)
        return self

    # ---- derived values ----------------------------------------------------------

    @property
    def resolution_wh(self) -> tuple[int, int]:
        """(width, height) of the training resolution."""
        parts = [int(p) for p in self.resolution.split(",")]
        return (parts[0], parts[-1])

    @property
    def unet_learning_rate(self) -> float:
        return self.unet_lr if self.unet_lr is not None else self.learning_rate

    @property
    def text_encoder_learning_rate(self) -> float:
        return self.text_encoder_lr if self.text_encoder_lr is not None else self.learning_rate

    @property
    def train_unet(self) -> bool:
        return not self.network_train_text_encoder_only

    @property
    def train_text_encoder(self) -> bool:
        return not self.network_train_unet_only

    @property
    def resolved_logging_dir(self) -> Path:
        return Path(self.logging_dir) if self.logging_dir else Path(self.output_dir) / "logs"

    @property
    def sample_prompts_path(self) -> Optional[Path]:
        """The prompt file, when sample_prompts names one; None when it is the prompt text or unset."""
        if self.sample_prompts and _looks_like_prompt_file(self.sample_prompts):
            return Path(self.sample_prompts.strip())
        return None

    @property
    def ignored_keys(self) -> dict[str, Any]:
        """Keys that were in the file but dropped (sd-scripts' default value, or no effect), with their values."""
        return dict(self._ignored)

    @property
    def notes(self) -> list[Msg]:
        """Lines for train.log: what was read differently from the file, and why."""
        return list(self._notes)


_VALIDATION_OPTIONS = ("validation_seed", "validate_every_n_epochs", "validate_every_n_steps", "max_validation_steps")


def _validation_notes(cfg: "TrainConfig", skip: frozenset, notes: list) -> None:
    """The validation options do nothing without validation_split (sd-scripts then has no
    validation set): noted, as the options that only switch with another one are."""
    if cfg.validation_split or "validation_split" in skip:
        return
    for name in _VALIDATION_OPTIONS:
        if name not in skip and getattr(cfg, name) is not None:
            notes.append(M("config.note_inert_ignored", key=name, value=repr(getattr(cfg, name)),
                           parent="validation_split"))


def _normalise_resolution(value: Any) -> str:
    hint = M("config.resolution_hint")
    shown = repr(value)
    not_a_size = _FieldProblem(M("config.resolution_not_size", value=shown), hint)
    if isinstance(value, bool):
        raise not_a_size
    if isinstance(value, int):
        parts: list[Any] = [value]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace("x", ",").replace("*", ",")
        parts = [p.strip() for p in text.split(",")]
    else:
        raise not_a_size
    if not 1 <= len(parts) <= 2:
        raise _FieldProblem(M("config.resolution_parts", value=shown), hint)
    sizes: list[int] = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (int, str)):
            raise not_a_size
        try:
            sizes.append(int(part))
        except ValueError:
            raise not_a_size from None
    for size in sizes:
        if not 64 <= size <= 4096:
            raise _FieldProblem(M("config.resolution_range", value=shown, size=size), M("config.resolution_typical"))
    # Multiples of 64 matter only without buckets: checked with enable_bucket (_cross_field_problems).
    return ",".join(str(s) for s in sizes)


def parse_resolution(value: Any) -> tuple[int, int]:
    """(width, height) of a resolution as the schema reads it; ConfigError with the field's
    problem otherwise. The page's live arithmetic uses this too, so it accepts exactly what
    Start accepts."""
    try:
        text = _normalise_resolution(value)
    except _FieldProblem as problem:
        raise ConfigError(problem.message, hint=problem.hint, field="resolution") from None
    sizes = [int(part) for part in text.split(",")]
    return sizes[0], sizes[-1]


def _check_file_name(name: str) -> None:
    hint = M("config.output_name_hint")
    bad = sorted({c for c in name if c in _WINDOWS_FORBIDDEN_CHARS or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise _FieldProblem(M("config.output_name_chars", value=repr(name), chars=shown), hint)
    if name != name.strip() or name.endswith("."):
        raise _FieldProblem(M("config.output_name_ends", value=repr(name)), hint)
    if name.split(".")[0].upper() in _WINDOWS_RESERVED_NAMES:
        raise _FieldProblem(M("config.output_name_reserved", value=repr(name)), hint)


def _normalise_optimizer(value: str) -> str:
    name = value.strip()
    by_lower = {o.lower(): o for o in SUPPORTED_OPTIMIZERS}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    supported = ", ".join(SUPPORTED_OPTIMIZERS)
    others = {o.lower() for o in _KOHYA_OTHER_OPTIMIZERS}
    # sd-scripts also takes a full class path such as "torch.optim.RAdam".
    if re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", name):
        return name
    if name.lower() in others:
        raise _FieldProblem(M("config.optimizer_not_supported", value=repr(value)),
                            M("config.use_one_of", choices=supported))
    close = difflib.get_close_matches(name.lower(), list(by_lower) + sorted(others), n=1, cutoff=0.6)
    if close:
        guess = by_lower.get(close[0]) or next(o for o in _KOHYA_OTHER_OPTIMIZERS if o.lower() == close[0])
        hint = M("config.did_you_mean_use_one_of", guess=guess, choices=supported)
    else:
        hint = M("config.use_one_of", choices=supported)
    raise _FieldProblem(M("config.optimizer_unknown", value=repr(value)), hint)


def _normalise_optimizer_args(value: Any) -> Any:
    value = key_value_items(value, "config.optimizer_args_item", "config.optimizer_args_hint")
    if not isinstance(value, list):
        return value  # the list type check words it
    for item in value:
        text = item.split("=", 1)[1].strip()
        try:
            # sd-scripts reads each value with ast.literal_eval; refuse now what it would crash on.
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise _FieldProblem(M("config.optimizer_args_value", item=repr(item), value=repr(text)),
                                M("config.optimizer_args_value_hint")) from None
    return list(value)


def _field_extra(name: str) -> dict:
    try:
        info = TrainConfig.model_fields[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(TrainConfig.model_fields), n=1)
        raise KeyError(f"{name!r} is not a training option" + (f"; did you mean {close[0]!r}?" if close else "")) from None
    return info.json_schema_extra  # type: ignore[return-value]


def field_help(name: str, lang: str = "zh") -> str:
    """The help text of one option, in Chinese ("zh") or English ("en")."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    return _field_extra(name)[f"help_{lang}"]


def field_section(name: str) -> str:
    """The tutorial section an option belongs to: paths, steps, effect, preview or advanced."""
    return _field_extra(name)["section"]


def fields_in_section(section: str) -> list[str]:
    """The options of one section, in schema order."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {', '.join(SECTIONS)}, not {section!r}")
    return [name for name in TrainConfig.model_fields if field_section(name) == section]


def field_choices(name: Optional[str]) -> list:
    """The allowed values of an option whose type is a fixed list (None when it may be unset)."""
    return _literal_choices(name)


def _literal_choices(name: Optional[str]) -> list:
    if not name or name not in TrainConfig.model_fields:
        return []
    import typing

    choices: list = []

    def walk(tp: Any) -> None:
        origin = typing.get_origin(tp)
        if origin is Literal:
            choices.extend(typing.get_args(tp))
        elif origin is not None:
            for arg in typing.get_args(tp):
                walk(arg)
        elif tp is type(None):
            choices.append(None)

    walk(TrainConfig.model_fields[name].annotation)
    return choices
