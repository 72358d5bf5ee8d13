"""network_module and network_args, read the way kohya's sd-scripts hands them to the network.

sd-scripts (train_network.py) splits each network_args item at its first "=" into a dict of
strings and passes it to the module's create_network; when "dropout" is not among them it adds
dropout = network_dropout (its "workaround for LyCORIS"), and that dict, JSON-encoded, is the
file's ss_network_args. Each module then reads the strings its own way:

- networks.lora (kohya's LoRA): conv_dim (int) adds its LoCon layers: every Linear and 1x1 conv of
  the ResNet blocks at network_dim / network_alpha, and their 3x3 convs plus the down- and
  upsamplers' convs at conv_dim / conv_alpha; conv_alpha defaults to 1 when conv_dim is given.
- lycoris.kohya (LyCORIS' create_network): algo, preset, conv_dim / conv_alpha (default:
  network_dim / network_alpha), dropout, rank_dropout, module_dropout, the LoKr factor,
  decompose_both and full_matrix, dora_wd; booleans are "anything but false" (lycoris.utils.str_bool),
  and decompose_both is passed on unparsed, so any text there, "False" too, turns it on.

Danlu reads the same strings with the same meaning (the LyCORIS ones go to the pinned library
unchanged), refuses what it cannot train yet and says so, naming the entry. Torch-free: the page
imports this module; `COMMON_NETWORK_ARGS` describes the entries the form shows as fields.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from trainer.messages import M, Msg

from .problems import ConfigProblem, key_value_items

NETWORK_MODULES = ("networks.lora", "lycoris.kohya")

# LyCORIS' algorithms Danlu trains (lora and locon are the same module in LyCORIS), and the others
# lycoris.kohya offers (recognised, so the message says "not supported yet" instead of "unknown").
LYCORIS_ALGOS = ("locon", "lora", "loha", "lokr")
_LYCORIS_OTHER_ALGOS = ("ia3", "dylora", "glora", "full", "diag-oft", "boft", "tlora")
# LyCORIS' built-in presets for SD's U-Net and CLIP (lycoris/config.py); "ia3" belongs to algo=ia3.
LYCORIS_PRESETS = ("full", "full-lin", "attn-mlp", "attn-only", "unet-only", "unet-transformer-only",
                   "unet-convblock-only")

# What each module reads from network_args (sd-scripts networks/lora.py create_network;
# lycoris-lora 4.1.3 lycoris/kohya.py create_network), by kind of value.
# LoRA+ (both modules): the "up" factors learn at the learning rate x this ratio.
LORAPLUS_KEYS = ("loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio")
_KOHYA_READS = {"conv_dim": "int", "conv_alpha": "float", **{key: "ratio" for key in LORAPLUS_KEYS}}
# networks.lora options Danlu does not train yet; the value that means "off" is accepted.
_KOHYA_NOT_YET = {
    "rank_dropout": "0", "module_dropout": "0", "block_dims": None, "block_alphas": None, "conv_block_dims": None,
    "conv_block_alphas": None, "down_lr_weight": None, "mid_lr_weight": None, "up_lr_weight": None,
    "block_lr_zero_threshold": "0",
}
_LYCORIS_READS = {
    "algo": "algo", "preset": "preset", "conv_dim": "int", "conv_alpha": "float", "dropout": "rate",
    "rank_dropout": "rate", "module_dropout": "rate", "rank_dropout_scale": "bool", "factor": "factor",
    "decompose_both": "raw", "full_matrix": "bool", "unbalanced_factorization": "bool", "dora_wd": "bool",
    "wd_on_output": "bool", "use_tucker": "bool", "use_cp": "bool", "use_conv_cp": "bool",
    "disable_conv_cp": "bool", "use_scalar": "bool", "bypass_mode": "bool", "rs_lora": "bool",
    **{key: "ratio" for key in LORAPLUS_KEYS},
}
# lycoris.kohya options only other algorithms (OFT, DyLoRA, IA3) or other models read: no effect here.
_LYCORIS_INERT = ("constraint", "constrain", "rescaled", "block_size", "train_on_input", "train_t5xxl",
                  "train_llm_adapter", "warn_on_unmatched")
# lycoris.kohya options Danlu does not train yet; the value that means "off" is accepted.
_LYCORIS_NOT_YET = {"train_norm": "false"}
# LyCORIS' LoRA+ speeds up parameters named lora_up: LoCon's; LoHa and LoKr have none.
_LORAPLUS_ALGOS = ("locon", "lora")
# The LoKr options (LyCORIS reads them for algo=lokr only).
_LOKR_ONLY = ("factor", "decompose_both", "full_matrix", "unbalanced_factorization")

# network_dim beyond this is refused except for LoKr, whose "full matrix" mode is asked for with a
# dimension larger than any layer (LyCORIS docs/Network-Args.md: "> 10240/2").
MAX_NETWORK_DIM = 1024


def _str_bool(text: Optional[str]) -> bool:
    """LyCORIS' str_bool (lycoris/utils): every value except "false" (any case) is on."""
    return str(text).lower() != "false"


def split_network_args(items: list[str]) -> dict[str, str]:
    """sd-scripts' reading: each item split at its first "=", later items win."""
    result: dict[str, str] = {}
    for item in items:
        key, value = item.split("=", 1)
        result[key] = value
    return result


def network_kwargs(network_args: list[str], network_dropout: Optional[float] = None) -> dict[str, Any]:
    """What sd-scripts passes to create_network: the split items, plus dropout = network_dropout
    when the items have no dropout. json.dumps of it is the file's ss_network_args."""
    kwargs: dict[str, Any] = dict(split_network_args(network_args))
    if "dropout" not in kwargs:
        kwargs["dropout"] = network_dropout
    return kwargs


def ss_network_args(network_args: list[str], network_dropout: Optional[float] = None) -> Optional[str]:
    """kohya's ss_network_args, or None when it writes none (no network_args)."""
    return json.dumps(network_kwargs(network_args, network_dropout)) if network_args else None


@dataclass(frozen=True)
class KohyaLoraSettings:
    """networks.lora as network_args configure it."""

    conv_dim: Optional[int] = None  # None: attention and MLP layers only; else the ResNet blocks too
    conv_alpha: float = 1.0


@dataclass(frozen=True)
class LycorisSettings:
    """lycoris.kohya as network_args configure it; `kwargs` goes to LyCORIS' create_network as written."""

    algo: str
    preset: str
    conv_dim: int
    conv_alpha: float
    dora_wd: bool
    kwargs: dict = field(default_factory=dict)


def kohya_lora_settings(network_args: list[str]) -> KohyaLoraSettings:
    args = split_network_args(network_args)
    if "conv_dim" not in args:
        return KohyaLoraSettings()
    alpha = args.get("conv_alpha")
    return KohyaLoraSettings(conv_dim=int(args["conv_dim"]), conv_alpha=1.0 if alpha is None else float(alpha))


def lycoris_settings(network_args: list[str], network_dim: int, network_alpha: float,
                     network_dropout: Optional[float] = None) -> LycorisSettings:
    kwargs = network_kwargs(network_args, network_dropout)
    dora = _str_bool(kwargs.get("dora_wd", "False"))
    conv_dim = int(kwargs.get("conv_dim") or network_dim)  # LyCORIS: int(kwargs.get("conv_dim", dim) or dim)
    conv_alpha = float(kwargs.get("conv_alpha") or network_alpha)
    return LycorisSettings(algo=(kwargs.get("algo") or "lora").lower(), preset=kwargs.get("preset") or "full",
                           conv_dim=conv_dim, conv_alpha=conv_alpha, dora_wd=dora, kwargs=kwargs)


@dataclass(frozen=True)
class LoraPlusRatios:
    """LoRA+ as sd-scripts and LyCORIS read it: each part's own ratio, else the general one;
    None: that part's up factors learn at its learning rate like the rest."""

    unet: Optional[float] = None
    text_encoder: Optional[float] = None


def loraplus_ratios(network_args: list[str]) -> LoraPlusRatios:
    args = split_network_args(network_args)

    def ratio(key: str) -> Optional[float]:
        value = (args.get(key) or "").strip()
        return float(value) if value not in ("", "None", "none") else None

    general = ratio("loraplus_lr_ratio")
    return LoraPlusRatios(unet=ratio("loraplus_unet_lr_ratio") or general,
                          text_encoder=ratio("loraplus_text_encoder_lr_ratio") or general)


# ---- checks ---------------------------------------------------------------------------------------


def _kind_problem(key: str, value: str, kind: str) -> Optional[ConfigProblem]:
    item = f"{key}={value}"
    try:
        if kind == "factor":  # LoKr: -1 picks the factor itself
            number: float = int(value)
            if number < -1 or number == 0:
                raise ValueError
        elif kind == "int":
            number = int(value)
            if number < 0:
                raise ValueError
        elif kind == "ratio":  # LoRA+: "None" or empty is off; 0 would freeze the up factors
            if value.strip() in ("", "None", "none"):
                return None
            number = float(value)
            if not number > 0 or number == float("inf"):
                raise ValueError
        elif kind in ("float", "rate"):
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")) or number < 0:
                raise ValueError
            if kind == "rate" and number > 1:
                raise ValueError
    except ValueError:
        hint = {"int": M("config.network_arg_int_hint", key=key), "float": M("config.network_arg_float_hint", key=key),
                "rate": M("config.network_arg_rate_hint", key=key), "factor": M("config.network_arg_factor_hint"),
                "ratio": M("config.network_arg_ratio_hint", key=key)}[kind]
        return ConfigProblem("network_args", M("config.network_arg_value", item=repr(item)), hint)
    return None


def _unknown(key: str, value: str, module: str, known: list[str]) -> ConfigProblem:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    item = repr(f"{key}={value}")
    if module == "networks.lora" and key in _LYCORIS_READS:
        return ConfigProblem("network_args", M("config.network_arg_lycoris_only", item=item),
                             M("config.network_arg_lycoris_only_hint"))
    hint = (M("config.network_arg_guess", guess=close[0], known=", ".join(known)) if close
            else M("config.network_arg_known", known=", ".join(known)))
    return ConfigProblem("network_args", M("config.network_arg_unknown", item=item, module=module), hint)


def _not_yet(key: str, value: str, off: Optional[str]) -> Optional[ConfigProblem]:
    """None when the value means "off" (accepted); a problem otherwise."""
    empty = value.strip() in ("", "None", "none")
    if empty or (off is not None and value.strip().lower() == off) or (off == "0" and _is_zero(value)):
        return None
    hint = (M("config.network_arg_not_yet_hint_off", key=key, off=off) if off is not None
            else M("config.network_arg_not_yet_hint", key=key))
    return ConfigProblem("network_args", M("config.network_arg_not_yet", item=repr(f"{key}={value}")), hint)


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def check_network_args(module: str, network_args: list[str], network_dim: int, network_alpha: float,
                       notes: list[Msg]) -> list[ConfigProblem]:
    """The problems of network_args for this module (field "network_args"); notes for what reads
    differently from how it looks."""
    args = split_network_args(network_args)
    if module == "networks.lora":
        problems = _check_kohya(args, notes)
    else:
        problems = _check_lycoris(args, notes)
    if not problems:
        problems += _dim_problems(module, network_args, network_dim)
    if not problems:
        _conv_alpha_note(module, network_args, network_dim, network_alpha, notes)
    return problems


def _check_kohya(args: dict[str, str], notes: list[Msg]) -> list[ConfigProblem]:
    problems = []
    known = sorted(_KOHYA_READS)
    for key, value in args.items():
        if key in _KOHYA_READS:
            problem = _kind_problem(key, value, _KOHYA_READS[key])
        elif key in _KOHYA_NOT_YET:
            problem = _not_yet(key, value, _KOHYA_NOT_YET[key])
            if problem is None:
                notes.append(M("config.note_network_arg_off", item=f"{key}={value}"))
        elif key == "dropout":
            problem = None  # sd-scripts' own workaround key; networks.lora reads network_dropout instead
            if value.strip() not in ("", "None", "none") and not _is_zero(value):
                notes.append(M("config.note_network_arg_inert", item=f"{key}={value}", module="networks.lora"))
        else:
            problem = _unknown(key, value, "networks.lora", known)
        if problem:
            problems.append(problem)
    if "conv_alpha" in args and "conv_dim" not in args and not problems:
        notes.append(M("config.note_network_arg_inert", item=f"conv_alpha={args['conv_alpha']}",
                       module="networks.lora"))
    elif "conv_dim" in args and "conv_alpha" not in args and not problems:
        notes.append(M("config.note_conv_alpha_default"))
    return problems


def _check_lycoris(args: dict[str, str], notes: list[Msg]) -> list[ConfigProblem]:
    problems = []
    known = sorted(set(_LYCORIS_READS) | set(_LYCORIS_NOT_YET) | set(_LYCORIS_INERT))
    algo = (args.get("algo") or "lora").lower()
    for key, value in args.items():
        kind = _LYCORIS_READS.get(key)
        problem = None
        if kind == "algo":
            if algo in _LYCORIS_OTHER_ALGOS:
                problem = ConfigProblem("network_args", M("config.lycoris_algo_not_yet", item=repr(f"algo={value}")),
                                        M("config.lycoris_algo_hint"))
            elif algo not in LYCORIS_ALGOS:
                problem = ConfigProblem("network_args", M("config.lycoris_algo_unknown", item=repr(f"algo={value}")),
                                        M("config.lycoris_algo_hint"))
        elif kind == "preset":
            if value not in LYCORIS_PRESETS:
                problem = ConfigProblem("network_args", M("config.lycoris_preset", item=repr(f"preset={value}")),
                                        M("config.lycoris_preset_hint", presets=", ".join(LYCORIS_PRESETS)))
        elif kind in ("int", "float", "rate", "factor", "ratio"):
            if not (key in ("conv_dim", "conv_alpha") and value == ""):  # LyCORIS: "" means the linear value
                problem = _kind_problem(key, value, kind)
        elif key in _LYCORIS_NOT_YET:
            problem = _not_yet(key, value, _LYCORIS_NOT_YET[key])
        elif key in _LYCORIS_INERT:
            notes.append(M("config.note_network_arg_inert", item=f"{key}={value}", module=f"lycoris.kohya algo={algo}"))
        elif kind is None:
            problem = _unknown(key, value, "lycoris.kohya", known)
        if problem:
            problems.append(problem)
        elif key in _LOKR_ONLY and algo != "lokr":
            notes.append(M("config.note_network_arg_inert", item=f"{key}={value}", module=f"lycoris.kohya algo={algo}"))
        elif key in LORAPLUS_KEYS and algo not in _LORAPLUS_ALGOS and value.strip() not in ("", "None", "none"):
            notes.append(M("config.note_loraplus_no_up", item=f"{key}={value}", algo=algo))
    if problems:
        return problems
    dropout = args.get("dropout", "")
    bypass = _str_bool(args.get("bypass_mode", "False"))
    if dropout.strip() not in ("", "None", "none") and not _is_zero(dropout) and not bypass:
        # LyCORIS applies `dropout` on its bypass path only; the default path rebuilds the weight without it.
        notes.append(M("config.note_network_arg_inert", item=f"dropout={dropout}",
                       module="lycoris.kohya without bypass_mode=True"))
    if algo == "lokr" and "decompose_both" in args and args["decompose_both"].strip().lower() in ("false", "0", "no"):
        notes.append(M("config.note_decompose_both_text", value=args["decompose_both"]))
    if _str_bool(args.get("dora_wd", "False")) and "wd_on_output" not in args:
        notes.append(M("config.note_dora_axis"))
    return problems


# DoRA's magnitude per input channel (wd_on_output = False) is the only axis AUTOMATIC1111's Lora
# extension and ComfyUI apply exactly as trained (docs/NOTES.md); LyCORIS >= 3.2 defaults to the
# output channel. A config that turns DoRA on without choosing gets the entry written into its
# network_args, so the run's config.toml and the file's ss_network_args say what was trained.
DORA_AXIS_ENTRY = "wd_on_output=False"


def with_danlu_defaults(module: str, network_args: list[str]) -> list[str]:
    """network_args as Danlu trains them: DORA_AXIS_ENTRY added to a DoRA without wd_on_output."""
    args = split_network_args(network_args)
    if module == "lycoris.kohya" and _str_bool(args.get("dora_wd", "False")) and "wd_on_output" not in args:
        return [*network_args, DORA_AXIS_ENTRY]
    return list(network_args)


def _dim_problems(module: str, network_args: list[str], network_dim: int) -> list[ConfigProblem]:
    lokr = module == "lycoris.kohya" and (split_network_args(network_args).get("algo") or "").lower() == "lokr"
    if network_dim > MAX_NETWORK_DIM and not lokr:
        return [ConfigProblem("network_dim", M("config.out_of_range", shown=f"network_dim = {network_dim}"),
                              M("config.network_dim_range_hint", most=MAX_NETWORK_DIM))]
    return []


def _conv_alpha_note(module: str, network_args: list[str], network_dim: int, network_alpha: float,
                     notes: list[Msg]) -> None:
    """conv_alpha above conv_dim trains, as sd-scripts and LyCORIS do; the run says what it means."""
    if module == "networks.lora":
        settings = kohya_lora_settings(network_args)
        if settings.conv_dim is None:
            return
        dim, alpha = settings.conv_dim, settings.conv_alpha
    else:
        settings_l = lycoris_settings(network_args, network_dim, network_alpha)
        if "conv_dim" not in split_network_args(network_args) and "conv_alpha" not in split_network_args(network_args):
            return  # the linear layers' values: network_alpha over network_dim is noted on its own
        dim, alpha = settings_l.conv_dim, settings_l.conv_alpha
    if dim > 0 and alpha > dim:
        notes.append(M("config.note_conv_alpha_over_dim", alpha=f"{alpha:g}", dim=dim, scale=f"{alpha / dim:g}",
                       half=max(1, dim // 2)))


def normalise_network_args(value: Any) -> Any:
    """The field validator's reading: key=value items, as optimizer_args (kohya_ss writes one string)."""
    return key_value_items(value, "config.network_args_item", "config.network_args_hint")


# ---- the entries the form shows as fields ---------------------------------------------------------


@dataclass(frozen=True)
class NetworkArgField:
    """One network_args entry the form shows as its own field: `key` as written in network_args."""

    key: str
    kind: str  # "choice", "int", "float", "bool"
    modules: tuple[str, ...]  # the network modules that read it
    help_zh: str
    help_en: str
    choices: tuple = ()
    algos: tuple[str, ...] = ()  # lycoris.kohya: only these algorithms read it (empty: all)


COMMON_NETWORK_ARGS: tuple[NetworkArgField, ...] = (
    NetworkArgField(
        "algo", "choice", ("lycoris.kohya",),
        "LyCORIS 算法：locon（LoRA 加卷积层，文件和 LoRA 一样）、loha（哈达玛积，同样维度下表达力更强）、"
        "lokr（克罗内克积，文件很小）。留空为 LyCORIS 的默认 lora（与 locon 相同）。",
        "LyCORIS algorithm: locon (LoRA on the conv layers too; the same file format as LoRA), loha (Hadamard "
        "product: more expressive at the same dim), lokr (Kronecker product: very small files). Empty: LyCORIS' "
        "default, lora (the same as locon).",
        choices=LYCORIS_ALGOS,
    ),
    NetworkArgField(
        "conv_dim", "int", ("networks.lora", "lycoris.kohya"),
        "卷积层维度：也训练 U-Net 里 ResNet 块的卷积层（LoCon），画风和质感类 LoRA 往往学得更好，常用 4~32。"
        "networks.lora 不填则不训练卷积层；lycoris.kohya 不填则与 network_dim 相同，填 0 不训练卷积层。",
        "Conv dimension: train the convolution layers of the U-Net's ResNet blocks too (LoCon); style and texture "
        "LoRAs often learn better with them; 4 to 32 is common. networks.lora: empty trains no conv layers; "
        "lycoris.kohya: empty means the same as network_dim, 0 trains no conv layers.",
    ),
    NetworkArgField(
        "conv_alpha", "float", ("networks.lora", "lycoris.kohya"),
        "卷积层的 alpha，与 network_alpha 同理：常用与 conv_dim 相同或一半，超过 conv_dim 时每次更新被放大 "
        "conv_alpha/conv_dim 倍（照样训练，并给出提示）。networks.lora 不填为 1；lycoris.kohya 不填与 network_alpha 相同。",
        "Alpha of the conv layers, like network_alpha: usually conv_dim or half of it; above conv_dim every update "
        "is scaled up conv_alpha/conv_dim times (it still trains, with a note). networks.lora: empty means 1; "
        "lycoris.kohya: empty means the same as network_alpha.",
    ),
    NetworkArgField(
        "factor", "int", ("lycoris.kohya",),
        "LoKr 的分解因子：-1 为自动（分得最小，文件最小），常用 4~16，越大越接近完整矩阵、学得越多、文件越大。",
        "LoKr factor: -1 picks it automatically (the smallest split and file); 4 to 16 is common; larger is closer "
        "to a full matrix, learns more and makes a larger file.",
        algos=("lokr",),
    ),
    NetworkArgField(
        "dora_wd", "bool", ("lycoris.kohya",),
        "DoRA（权重分解）：把每层权重拆成大小和方向分别学习，效果更接近完整微调，训练稍慢。丹炉按输入通道保存大小"
        "（wd_on_output=False），这是 WebUI 和 ComfyUI 按训练时原样加载的方式。",
        "DoRA (weight decomposition): learn each layer's magnitude and direction separately, closer to full "
        "fine-tuning, a little slower. Danlu keeps the magnitude per input channel (wd_on_output=False), the way "
        "WebUI and ComfyUI apply it exactly as trained.",
        algos=("locon", "lora", "loha", "lokr"),
    ),
    NetworkArgField(
        "loraplus_lr_ratio", "float", ("networks.lora", "lycoris.kohya"),
        "LoRA+：每层的 up 矩阵用“学习率 × 这个倍数”学习（论文和 sd-scripts 建议 16 左右），同样步数学得更快；"
        "倍数太大时容易炸炉，可同时降低学习率。不填为不用。LoHa、LoKr 没有 up 矩阵，不起作用。",
        "LoRA+: each layer's up matrix learns at the learning rate x this ratio (the paper and sd-scripts suggest "
        "about 16), learning more in the same steps; a ratio too large can diverge, so lower the learning rate "
        "with it. Empty: off. LoHa and LoKr have no up matrix: no effect.",
        algos=_LORAPLUS_ALGOS,
    ),
)


def network_arg_field(key: str) -> NetworkArgField:
    for item in COMMON_NETWORK_ARGS:
        if item.key == key:
            return item
    raise KeyError(key)


def network_arg_value(network_args: list[str], key: str) -> Optional[str]:
    """The value of one entry as written, or None when network_args has none."""
    return split_network_args(network_args).get(key)


def with_network_arg(network_args: list[str], key: str, value: Optional[str]) -> list[str]:
    """network_args with `key` set to value (in place of the old entry, else appended), or removed
    when value is None or empty; every other entry kept as written and in order."""
    result, placed = [], False
    for item in network_args:
        if item.split("=", 1)[0] == key:
            if not placed and value not in (None, ""):
                result.append(f"{key}={value}")
            placed = True
            continue
        result.append(item)
    if not placed and value not in (None, ""):
        result.append(f"{key}={value}")
    return result
