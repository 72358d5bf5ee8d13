"""Bucketing against values worked out by hand from kohya sd-scripts' algorithm.

Reference: kohya-ss/sd-scripts library/model_util.py make_bucket_resolutions and
library/train_util.py BucketManager.select_bucket / round_to_steps /
trim_and_resize_if_required. The arithmetic for each expected value is in the comments.
"""
from __future__ import annotations

import random
import re

import pytest

from trainer.buckets import BucketChoice, BucketManager, ImageTooSmall, crop_box, make_bucket_resolutions
from trainer.errors import ConfigError

HAN = re.compile(r"[\u4e00-\u9fff]")

# make_bucket_resolutions((512, 512), 256, 1024, 64): max_area = 262144.
#   square: int(sqrt(262144) // 64) * 64 = 512 -> (512, 512)
#   width 256: 262144 // 256 = 1024 -> 1024 // 64 * 64 = 1024 -> (256, 1024) and (1024, 256)
#   width 320: 262144 // 320 = 819 -> 12 * 64 = 768 -> (320, 768), (768, 320)
#   width 384: 682 -> 640;  448: 585 -> 576;  512: 512;  576: 455 -> 448;  640: 409 -> 384
#   width 704: 372 -> 320 -> (704, 320), (320, 704);  768: 341 -> 320
#   width 832: 315 -> 256;  896: 292 -> 256;  960: 273 -> 256;  1024: 256 -> 256
EXPECTED_512 = [
    (256, 832), (256, 896), (256, 960), (256, 1024), (320, 704), (320, 768), (384, 640), (448, 576),
    (512, 512), (576, 448), (640, 384), (704, 320), (768, 320), (832, 256), (896, 256), (960, 256), (1024, 256),
]


def manager(no_upscale=False, reso=(512, 512)):
    return BucketManager(reso, 256, 1024, 64, no_upscale)


def test_bucket_resolutions_match_kohya_for_512():
    assert make_bucket_resolutions((512, 512), 256, 1024, 64) == EXPECTED_512
    assert manager().resos == EXPECTED_512


def test_bucket_resolutions_non_square_base():
    # (512, 768): max_area 393216; square int(sqrt(393216)=627.07 // 64) * 64 = 576.
    resos = make_bucket_resolutions((512, 768), 256, 1024, 64)
    assert (576, 576) in resos
    # width 512: 393216 // 512 = 768 -> (512, 768) and (768, 512)
    assert (512, 768) in resos and (768, 512) in resos
    assert all(w % 64 == 0 and h % 64 == 0 and w * h <= 393216 for w, h in resos)


@pytest.mark.parametrize(
    "size, bucket, resized",
    [
        # 512x512 is itself a bucket: kept as is.
        ((512, 512), (512, 512), (512, 512)),
        # 512x768: aspect 0.6667. Nearest bucket aspects 384/640=0.6 (err 0.067) and
        # 448/576=0.778 (err 0.111) -> (384, 640). 0.6667 > 0.6 so match heights:
        # scale 640/768 -> (int(426.67 + .5), int(640 + .5)) = (427, 640).
        ((512, 768), (384, 640), (427, 640)),
        # 768x512: aspect 1.5 -> 640/384=1.667 (err 0.167) beats 576/448=1.286 (err 0.214);
        # 1.5 < 1.667 so match widths: scale 640/768 -> (640, 427).
        ((768, 512), (640, 384), (640, 427)),
        # 300x900: aspect 0.3333 -> 256/832=0.3077 (err 0.026) beats 256/896=0.2857 (0.048)
        # and 320/768=0.4167 (0.083); 0.3333 > 0.3077, match heights: scale 832/900
        # -> (int(277.33 + .5), 832) = (277, 832).
        ((300, 900), (256, 832), (277, 832)),
        # 64x64: not a bucket; aspect 1 -> (512, 512); scale 512/64 = 8: upscaled.
        ((64, 64), (512, 512), (512, 512)),
    ],
)
def test_select_bucket_with_upscale(size, bucket, resized):
    assert manager().select(*size) == BucketChoice(bucket=bucket, resized=resized)


@pytest.mark.parametrize(
    "size, bucket, resized",
    [
        # 64x64: area 4096 <= 262144, no resize; bucket floors to 64 -> (64, 64).
        ((64, 64), (64, 64), (64, 64)),
        # 500x300: area 150000, no resize; bucket (500 - 500 % 64, 300 - 300 % 64) = (448, 256).
        ((500, 300), (448, 256), (500, 300)),
        # 512x512: area == max_area (not greater) -> kept.
        ((512, 512), (512, 512), (512, 512)),
        # 300x900: area 270000 > 262144. resized_w = sqrt(262144 / 3) = 295.60, resized_h = 886.81.
        #   width rounding: round_to_steps(295.60) = 296 - 296 % 64 = 256; height for it
        #   round_to_steps(256 * 3 = 768) = 768; aspect 256/768 = 0.3333 (error 0).
        #   height rounding: round_to_steps(886.81) = 887 - 55 = 832; width round_to_steps(277.3) = 256;
        #   aspect 0.3077. Width rounding wins -> resized (256, int(768 + .5)) = (256, 768).
        ((300, 900), (256, 768), (256, 768)),
        # 512x768: area 393216 > 262144. resized_w = sqrt(262144 * 2/3) = 418.05 -> 384, height
        #   round_to_steps(576) = 576 (aspect exact); resized_h = 627.07 -> 627 - 51 = 576, width
        #   round_to_steps(384) = 384 (aspect exact). Equal errors are not "<", so the height
        #   branch: (int(576 * 2/3 + .5), 576) = (384, 576).
        ((512, 768), (384, 576), (384, 576)),
        ((768, 512), (576, 384), (576, 384)),
    ],
)
def test_select_bucket_no_upscale(size, bucket, resized):
    assert manager(no_upscale=True).select(*size) == BucketChoice(bucket=bucket, resized=resized)


def test_no_upscale_never_enlarges_and_ignores_predefined_buckets():
    m = manager(no_upscale=True)
    assert m.resos == []
    rng = random.Random(0)
    for _ in range(500):
        w, h = rng.randint(64, 3000), rng.randint(64, 3000)
        c = m.select(w, h)
        assert c.resized[0] <= w and c.resized[1] <= h
        assert c.bucket[0] % 64 == 0 and c.bucket[1] % 64 == 0
        assert c.bucket[0] <= c.resized[0] and c.bucket[1] <= c.resized[1]
        assert c.bucket[0] * c.bucket[1] <= 262144


def test_no_upscale_rejects_image_thinner_than_a_step():
    with pytest.raises(ImageTooSmall, match="bucket_reso_steps") as e:  # a ValueError; str() is English
        manager(no_upscale=True).select(40, 300)
    assert isinstance(e.value, ValueError)
    assert e.value.msg.id == "data.image_smaller_than_step"
    assert e.value.msg.text("en") == (
        "40x300 is smaller than bucket_reso_steps (64) on one side, so bucket_no_upscale leaves nothing to train on"
    )
    assert e.value.msg.text("zh").startswith("40x300 有一边不到 bucket_reso_steps（64 像素）")


def test_no_upscale_rejects_a_strip_that_shrinks_below_a_step():
    # 10000x64: area 640000 > 262144, aspect 156.25 -> resized_w sqrt(262144 * 156.25) = 6400,
    # resized_h 40.96; both roundings give a 0 side -> (0, 0). Each side was at least 64 before
    # shrinking, so the reason names the shrinking, not the original size.
    with pytest.raises(ImageTooSmall) as e:
        manager(no_upscale=True).select(10000, 64)
    assert e.value.msg.id == "data.image_too_thin"
    assert "10000x64 is so long and narrow" in e.value.msg.text("en")
    assert "10000x64 太细长" in e.value.msg.text("zh")


def test_upscale_choice_is_nearest_aspect_and_covers_bucket():
    m = manager()
    rng = random.Random(1)
    for _ in range(500):
        w, h = rng.randint(16, 4000), rng.randint(16, 4000)
        c = m.select(w, h)
        assert c.bucket in EXPECTED_512
        err = abs(c.bucket[0] / c.bucket[1] - w / h)
        assert all(err <= abs(bw / bh - w / h) for bw, bh in EXPECTED_512)
        # resized keeps the aspect and covers the bucket on both sides, touching one.
        assert c.resized[0] >= c.bucket[0] and c.resized[1] >= c.bucket[1]
        assert c.resized[0] == c.bucket[0] or c.resized[1] == c.bucket[1]


@pytest.mark.parametrize(
    "reso, size, resized, crop",
    [
        # 300x900 into 512x512: aspect 1/3 < 1, match widths: scale 512/300 ->
        # (512, int(1536 + .5)) = (512, 1536); center crop top (1536 - 512) // 2 = 512.
        ((512, 512), (300, 900), (512, 1536), (0, 512, 512, 1024)),
        # 768x512 into 512x512: aspect 1.5 > 1, match heights: scale 1 -> (768, 512); left 128.
        ((512, 512), (768, 512), (768, 512), (128, 0, 640, 512)),
        # 64x64 into 512x512: scale 8 -> (512, 512), nothing to crop.
        ((512, 512), (64, 64), (512, 512), (0, 0, 512, 512)),
        # 768x512 into 512x768: aspect 1.5 > 0.667, match heights: scale 1.5 -> (1152, 768);
        # left (1152 - 512) // 2 = 320.
        ((512, 768), (768, 512), (1152, 768), (320, 0, 832, 768)),
    ],
)
def test_fixed_mode_covers_then_center_crops(reso, size, resized, crop):
    c = BucketManager.fixed(reso).select(*size)
    assert c.bucket == reso
    assert c.resized == resized
    assert c.crop == crop


def test_crop_box_odd_overflow_goes_right_and_bottom():
    # 427 - 384 = 43 -> left 21 (kohya: trim_size // 2), right 405.
    assert crop_box((427, 640), (384, 640)) == (21, 0, 405, 640)
    assert crop_box((640, 427), (640, 384)) == (0, 21, 640, 405)
    with pytest.raises(ValueError):
        crop_box((100, 100), (128, 64))


def test_round_to_steps():
    m = manager()
    # int(x + 0.5) then floor to 64
    assert m.round_to_steps(127.4) == 64
    assert m.round_to_steps(127.5) == 128
    assert m.round_to_steps(63.4) == 0


def test_bad_bucket_options_are_config_errors():
    with pytest.raises(ConfigError) as e:
        BucketManager((512, 512), 640, 1024, 64, False)
    assert e.value.field == "min_bucket_reso"
    assert e.value.text("en") == "min_bucket_reso (640) is larger than the resolution's short side (512)."
    assert e.value.text("zh") == "min_bucket_reso（640）大于训练分辨率的短边（512）。"
    assert e.value.hint_text("en") == "Lower min_bucket_reso to 512 or less, or raise the resolution."
    assert e.value.hint_text("zh").startswith("把 min_bucket_reso 调到 512 或更小")
    with pytest.raises(ConfigError) as e:
        BucketManager((512, 768), 256, 640, 64, False)
    assert e.value.field == "max_bucket_reso"
    assert e.value.text("en") == "max_bucket_reso (640) is smaller than the resolution's long side (768)."
    assert e.value.hint_text("en") == "Raise max_bucket_reso to 768 or more, or lower the resolution."
    assert e.value.hint_text("zh").startswith("把 max_bucket_reso 调到 768 或更大")
    with pytest.raises(ConfigError) as e:
        BucketManager((512, 512), 256, 1024, 0, False)
    assert e.value.field == "bucket_reso_steps"
    assert e.value.text("en") == "bucket_reso_steps must be at least 1, got 0."
    assert e.value.hint_text("zh") == "把 bucket_reso_steps 改成 1 或更大的整数。"
    for text in (e.value.text("zh"), e.value.hint_text("zh")):
        assert HAN.search(text)
