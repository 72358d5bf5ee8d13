"""Well-known base models people train LoRAs on, each exactly: repository, file, size, sha256.

The page offers them for download through the model store (trainer/model_store.py, the
mirror chosen in settings.json); the downloaded file fills 训练底模. The sizes and sha256
sums are the files' LFS identities on the Hugging Face hub (what it returns as X-Linked-Size
and X-Linked-Etag), each cross-checked in several independent public download manifests;
the store refuses a file that differs, whichever mirror served it.
Torch-free: the page imports it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaseModel:
    key: str
    family: str  # "sd15" or "sdxl"
    repo_id: str
    filename: str
    size: int  # bytes
    sha256: str
    zh: str  # name and one line on what it is, for the page
    en: str


BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel(
        "sd15", "sd15", "stable-diffusion-v1-5/stable-diffusion-v1-5", "v1-5-pruned-emaonly.safetensors",
        4_265_146_304, "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
        "SD 1.5 pruned-emaonly：教程推荐的原版底模，写实和二次元 LoRA 都常用",
        "SD 1.5 pruned-emaonly: the tutorial's plain base, for realistic and anime LoRAs alike",
    ),
    BaseModel(
        "sdxl", "sdxl", "stabilityai/stable-diffusion-xl-base-1.0", "sd_xl_base_1.0.safetensors",
        6_938_078_334, "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
        "SDXL base 1.0：SDXL 原版底模（训练需要约 12 GB 以上显存）",
        "SDXL base 1.0: the plain SDXL base (training needs about 12 GB of GPU memory or more)",
    ),
    BaseModel(
        "illustrious_v2", "sdxl", "OnomaAIResearch/Illustrious-XL-v2.0", "Illustrious-XL-v2.0.safetensors",
        6_938_040_674, "c2a1a3eaa13d4c107dc7e00c3fe830cab427aa026362740ea094745b3422a331",
        "Illustrious XL 2.0：二次元 SDXL 底模，很多动漫 LoRA 在它上面训练",
        "Illustrious XL 2.0: an anime SDXL base that many anime LoRAs are trained on",
    ),
    BaseModel(
        "noobai_11", "sdxl", "Laxhar/noobai-XL-1.1", "NoobAI-XL-v1.1.safetensors",
        7_105_349_958, "6681e8e4b134c81f16533acedb0d406d7e5e366e1624b4105178c64d00b05d51",
        "NoobAI-XL 1.1（eps）：在 Illustrious 上用 Danbooru/e621 继续训练的二次元底模",
        "NoobAI-XL 1.1 (eps): an anime base trained further on Danbooru/e621 from Illustrious",
    ),
    BaseModel(
        "animagine_40", "sdxl", "cagliostrolab/animagine-xl-4.0", "animagine-xl-4.0.safetensors",
        6_938_434_056, "1d5b43ff75b6ab598502d4c779d2fbfa3dceca51c60c3b609640a60772333916",
        "Animagine XL 4.0：二次元 SDXL 底模，标签用 Danbooru 写法",
        "Animagine XL 4.0: an anime SDXL base prompted with Danbooru tags",
    ),
)


def base_model(key: str) -> BaseModel:
    for model in BASE_MODELS:
        if model.key == key:
            return model
    raise KeyError(f"no base model {key!r}; known: {', '.join(m.key for m in BASE_MODELS)}")
