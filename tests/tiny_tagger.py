"""A tiny WD14-shaped tagger whose scores are a known function of the image.

Same signature as SmilingWolf's models: one NHWC float32 input [batch, side, side, 3] (BGR,
0-255) and one output of sigmoid scores, one per row of selected_tags.csv. Inside: the mean of
each channel over the pixels, divided by 255 (b, g, r in 0..1), a fixed linear map, a sigmoid:

    score(tag) = sigmoid(bias + w_b * b + w_g * g + w_r * r)

So for a solid-colour image every score is known exactly (`expected_scores`), and the captions
a correct tagger writes can be worked out by hand (tests/test_tag.py lists them). The weights
make each stage of the pipeline visible in the result: a red image read in RGB order instead
of BGR comes out "blue"; padding with black instead of white loses "white_background" on the
wide red image; a rating tag scores 0.98 and must still never be written; "kagamine_rin"
scores 0.62, above the general threshold but below the character one.

Built with the onnx package's helper API (requirements-test.txt), opset 17.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

# name, category (0 general, 4 character, 9 rating), bias, w_b, w_g, w_r
TAGS = [
    ("general", 9, 4.0, 0, 0, 0),
    ("sensitive", 9, -4.0, 0, 0, 0),
    ("questionable", 9, -4.0, 0, 0, 0),
    ("explicit", 9, -4.0, 0, 0, 0),
    ("1girl", 0, 2.5, 0, 0, 0),
    ("long_hair", 0, 1.0, 0, 0, 0),
    ("solo_focus", 0, -0.2, 0, 0, 0),  # 0.45: in at 0.35, out at 0.5
    ("red_theme", 0, -3.0, -6, -6, 12),
    ("green_theme", 0, -3.0, -6, 12, -6),
    ("white_background", 0, -10.5, 6, 6, 6),
    ("^_^", 0, -4.0, 0, 8, 0),  # a kaomoji: keeps its underscore
    ("bow_(weapon)", 0, -2.5, 6, 0, 0),  # parentheses stay as they are
    ("hatsune_miku", 4, -1.2, 4, 0, 0),  # character: 0.94 on blue (in), 0.69 on the wide red image (out)
    ("kagamine_rin", 4, 0.5, 0, 0, 0),  # character: always 0.62
    ("low_score", 0, -3.0, 0, 0, 0),
]

# The v2 models name their input input_1:0 with an unnamed batch dimension; v3 ones "input" and "batch".
V2 = dict(input_name="input_1:0", batch="unk__1", output_name="predictions_sigmoid")
V3 = dict(input_name="input", batch="batch", output_name="output")


def expected_scores(bgr_mean: tuple[float, float, float]) -> np.ndarray:
    """The scores for an image whose channel means are bgr_mean (0..255)."""
    b, g, r = (v / 255.0 for v in bgr_mean)
    return np.array([1 / (1 + math.exp(-(bias + wb * b + wg * g + wr * r))) for _, _, bias, wb, wg, wr in TAGS])


def build_model(path: Path, side: int = 64, *, style: dict = V2, batch: int | str | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.array([[wb, wg, wr] for *_, wb, wg, wr in TAGS], dtype=np.float32).T  # [3, tags]
    bias = np.array([t[2] for t in TAGS], dtype=np.float32)
    image = helper.make_tensor_value_info(style["input_name"], TensorProto.FLOAT,
                                          [batch if batch is not None else style["batch"], side, side, 3])
    scores = helper.make_tensor_value_info(style["output_name"], TensorProto.FLOAT,
                                           [batch if batch is not None else style["batch"], len(TAGS)])
    nodes = [
        helper.make_node("ReduceMean", [style["input_name"]], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("Div", ["mean", "full_scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "weights"], ["mapped"]),
        helper.make_node("Add", ["mapped", "bias"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], [style["output_name"]]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(255.0, dtype=np.float32), "full_scale"),
        numpy_helper.from_array(weights, "weights"),
        numpy_helper.from_array(bias, "bias"),
    ]
    graph = helper.make_graph(nodes, "tiny_wd14", [image], [scores], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="danlu-tests")
    model.ir_version = 8  # what opset 17 came with: any onnxruntime of the last years reads it
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write_tags_csv(path: Path, rows=TAGS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["tag_id", "name", "category", "count"])
        for i, (name, category, *_) in enumerate(rows):
            writer.writerow([100000 + i, name, category, 1000 - i])
    return path


def install(models_dir: Path, repo_id: str, side: int = 64, *, style: dict = V2, batch=None) -> Path:
    """The two files in the model store's layout: models_dir/<owner>/<repo>/. Returns that folder."""
    folder = models_dir.joinpath(*repo_id.split("/"))
    build_model(folder / "model.onnx", side, style=style, batch=batch)
    write_tags_csv(folder / "selected_tags.csv")
    return folder
