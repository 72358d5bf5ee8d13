"""Latents of the training images: encoded by the VAE on demand, or cached once (cache_latents),
in memory and optionally on disk (cache_latents_to_disk) for later runs.

A disk entry is reused only when everything that shaped it is the same: the image file (path,
size, modification time), its bucket, resize and crop, the flip, and the VAE (its file's path,
size and modification time). Anything else gets encoded again, so a stale latent is never
trained on. Entries are written to a temporary name and renamed.

Each latent is sampled from the VAE's distribution with a generator seeded from the run's seed
and the entry's key, so the same image gets the same latent in any batch, order or later run.
"""
from __future__ import annotations

import hashlib
import logging
import os
import zlib
from pathlib import Path

import torch

from .images import Augment, load_image
from .messages import M
from .safe_write import atomic_write_bytes

log = logging.getLogger("trainer")

CACHE_FOLDER = ".danlu-latents"  # dot folders are skipped by the data set scan
CACHE_VERSION = "1"


def file_identity(path: Path) -> str:
    """Path, size and modification time of a file, or of every weight file in a folder."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".safetensors", ".bin"))
    parts = []
    for f in files:
        st = f.stat()
        parts.append(f"{f.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


class LatentCache:
    def __init__(self, vae, device, *, seed: int, vae_identity: str, to_disk: bool, batch_size: int):
        self.vae, self.device, self.seed = vae, device, seed
        self.vae_identity, self.to_disk, self.batch_size = vae_identity, to_disk, batch_size
        self.memory: dict[str, torch.Tensor] = {}
        self._keys: dict[tuple, str] = {}
        self.encoded = 0  # VAE encoder runs, for the epoch event
        self.reused = 0  # entries read back from disk

    def key(self, ref, flipped: bool) -> str:
        """The entry's identity; computed once per image and flip (a stat and a hash each time cost
        ~0.3 ms a step on a tiny model: bench/RESULTS.md)."""
        memo = (ref.item.path, tuple(ref.bucket), tuple(ref.resized), tuple(ref.crop), flipped)
        if memo not in self._keys:
            self._keys[memo] = self._compute_key(ref, flipped)
        return self._keys[memo]

    def _compute_key(self, ref, flipped: bool) -> str:
        st = os.stat(ref.item.path)
        text = "|".join(map(str, (CACHE_VERSION, Path(ref.item.path).resolve(), st.st_size, st.st_mtime_ns,
                                  tuple(ref.bucket), tuple(ref.resized), tuple(ref.crop), flipped, self.vae_identity)))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _disk_path(self, ref, key: str) -> Path:
        return Path(ref.item.path).parent.parent / CACHE_FOLDER / f"{key}.safetensors"

    @torch.no_grad()
    def encode(self, refs, keys: list[str], flips: list[bool], pixels: torch.Tensor | None = None) -> torch.Tensor:
        """Latents [n, 4, h/8, w/8], each sampled with its own key-seeded generator."""
        if pixels is None:
            pixels = torch.stack([load_image(r.item.path, r.resized, r.bucket, flip=f).pixels for r, f in zip(refs, flips)])
        dist = self.vae.encode(pixels.to(self.device, self.vae.dtype)).latent_dist
        self.encoded += len(refs)
        samples = []
        for i, key in enumerate(keys):
            generator = torch.Generator().manual_seed(self.seed ^ zlib.crc32(key.encode()))
            eps = torch.randn(dist.mean[i].shape, generator=generator).to(dist.mean.device, dist.mean.dtype)
            samples.append(dist.mean[i] + dist.std[i] * eps)
        return torch.stack(samples) * self.vae.config.scaling_factor

    def fill(self, refs, flips: tuple[bool, ...] = (False,)) -> None:
        """cache_latents: every (image, flip) into memory, from disk when a valid entry is there."""
        from safetensors.torch import load_file, save

        todo = []
        for ref in refs:
            for flipped in flips:
                key = self.key(ref, flipped)
                if key in self.memory:
                    continue
                path = self._disk_path(ref, key)
                if self.to_disk and path.is_file():
                    self.memory[key] = load_file(str(path))["latent"].to(self.device)
                    self.reused += 1
                else:
                    todo.append((ref, flipped, key))
        # Encode in batches of one bucket each, so the images stack.
        todo.sort(key=lambda t: tuple(t[0].bucket))
        done = 0
        while todo:
            bucket = tuple(todo[0][0].bucket)
            chunk = [t for t in todo[: self.batch_size] if tuple(t[0].bucket) == bucket]
            todo = todo[len(chunk):]
            latents = self.encode([t[0] for t in chunk], [t[2] for t in chunk], [t[1] for t in chunk])
            for (ref, _, key), latent in zip(chunk, latents):
                self.memory[key] = latent
                if self.to_disk:
                    atomic_write_bytes(self._disk_path(ref, key), save({"latent": latent.detach().cpu().contiguous()}))
            done += len(chunk)
            if done % 100 < len(chunk):
                log.info("%s", M("run.cached_latents", count=done))
        if self.reused:
            log.info("%s", M("run.reused_latents", count=self.reused))

    def get(self, ref, flipped: bool) -> torch.Tensor | None:
        return self.memory.get(self.key(ref, flipped))


def augment_of(cfg) -> Augment:
    return Augment(flip=cfg.flip_aug, color=cfg.color_aug, random_crop=cfg.random_crop)
