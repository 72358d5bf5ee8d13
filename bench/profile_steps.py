"""Where a step's time goes, phase by phase, for either side (cProfile, cumulative times).

A phase is the cumulative time of one function: the U-Net's and the text encoder's forward,
autograd's backward, gradient clipping, the AdamW step, and (Danlu only) tokenizing and
fetching latents. "other" is the rest of the step: the loop's own Python. cProfile adds a
little to every Python call on both sides alike, so compare the columns, not the totals with
the unprofiled timings.
"""
from __future__ import annotations

import cProfile
import inspect
import pstats


def _key(function) -> tuple[str, int, str]:
    code = inspect.unwrap(function).__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def phase_keys() -> dict[str, list[tuple]]:
    import torch
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    from trainer import text_encoding, train

    return {
        "U-Net forward": [_key(UNet2DConditionModel.forward)],
        "text encoder forward": [_key(CLIPTextModel.forward)],
        "backward": [("~", 0, "<method 'run_backward' of 'torch._C._EngineBase' objects>")],
        "clip grad norm": [_key(torch.nn.utils.clip_grad_norm_)],
        "AdamW step": [_key(torch.optim.AdamW.step)],
        "tokenize": [_key(text_encoding.tokenize)],
        "latents (cache lookup)": [_key(train.batch_latents)],
    }


def _phases(profile: cProfile.Profile, n: int) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # key -> (primitive calls, calls, tottime, cumtime, callers)
    total = sum(tottime for _, _, tottime, _, _ in stats.values())
    phases = {}
    for phase, keys in phase_keys().items():
        phases[phase] = sum(stats[k][3] for k in keys if k in stats) / n
    phases["other"] = total / n - sum(phases.values())
    phases["total"] = total / n
    return phases


def phase_breakdowns(sides: dict, *, rounds: int, block: int, stats_out: dict | None = None) -> dict[str, dict[str, float]]:
    """Seconds per step in each phase (plus "other" and "total") for each side, profiled in
    interleaved blocks (A B, then B A, ...) so both see the same machine. `stats_out`, when
    given, receives each side's raw pstats table."""
    profiles = {name: cProfile.Profile() for name in sides}
    names = list(sides)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            profiles[name].enable()
            for _ in range(block):
                sides[name]()
            profiles[name].disable()
    if stats_out is not None:
        stats_out.update({name: pstats.Stats(profiles[name]).stats for name in names})
    return {name: _phases(profiles[name], rounds * block) for name in names}


def only_in(first: dict, second: dict, n: int, top: int = 10) -> list[tuple[str, float, float]]:
    """Functions that run in `first`'s steps but never in `second`'s: (name, self ms per step,
    calls per step), most self time first. Names are shortened to package/file:line(function)."""
    rows = []
    for key, (_, calls, tottime, _, _) in first.items():
        if key in second:
            continue
        filename, line, function = key
        short = filename.split("site-packages/")[-1].split("/work/main/")[-1] if filename != "~" else ""
        rows.append((f"{short}:{line}({function})" if short else function, tottime / n * 1000, calls / n))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def breakdown_table(danlu: dict[str, float], reference: dict[str, float]) -> list[str]:
    """Markdown lines: phase | Danlu ms | reference ms | difference."""
    lines = ["| phase | Danlu ms/step | reference ms/step | Danlu - reference |", "|---|---|---|---|"]
    for phase in danlu:
        d, r = danlu[phase] * 1000, reference.get(phase, 0.0) * 1000
        lines.append(f"| {phase} | {d:.2f} | {r:.2f} | {d - r:+.2f} |")
    return lines
