#!/usr/bin/env python3
"""Build the CLIP BPE tokenizer folders that Danlu ships, from OpenAI's merge list.

Usage:
    python tools/build_clip_tokenizer.py PATH/TO/bpe_simple_vocab_16e6.txt.gz [--out trainer/assets]

Where the input comes from (no model hub needed): the PyPI wheel of open-clip-torch
carries it as ``open_clip/bpe_simple_vocab_16e6.txt.gz``::

    pip download --no-deps open-clip-torch -d /tmp/oc
    cd /tmp/oc && unzip -o open_clip_torch-*.whl 'open_clip/bpe_simple_vocab_16e6.txt.gz'

(open-clip-torch 3.3.0's copy has sha256 924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a.)

The vocabulary is built exactly as OpenAI CLIP's ``SimpleTokenizer`` builds it:

    ids     0..255    the 256 byte-level characters in GPT-2 ``bytes_to_unicode`` order
    ids   256..511    the same 256 characters followed by ``</w>``
    ids   512..49405  merge lines 1..48894 of the file, the two parts joined
    id    49406       ``<|startoftext|>``
    id    49407       ``<|endoftext|>``

Writes two folders under --out:
    clip_tokenizer/    SD1.x / SD2.x / SDXL text encoder 1 (pads with <|endoftext|>, id 49407)
    clip_tokenizer_2/  SDXL text encoder 2 (same BPE, pads with "!", id 0)

Every file is laid out the way transformers' ``save_pretrained`` writes it (sorted keys,
indent 2, trailing newline), and the script checks each one against the SHA-256 of the file
the model repositories publish (``PUBLISHED`` below): clip_tokenizer/ is byte-identical to
runwayml/stable-diffusion-v1-5 ``tokenizer/``, clip_tokenizer_2/ to
stabilityai/stable-diffusion-xl-base-1.0 ``tokenizer_2/``. It refuses to write on a mismatch
unless --no-verify is given.

Standard library only and deterministic, so the committed files can be rebuilt and audited.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

N_MERGES = 49152 - 256 - 2  # 48894: the merges CLIP uses (lines 1..48894 of the file)
VOCAB_SIZE = 49408
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MODEL_MAX_LENGTH = 77


# (size, sha256) of the files the model repositories ship. SD1.5 values: the
# tokenizer/ folder of runwayml/stable-diffusion-v1-5 (and its stable-diffusion-v1-5/
# mirror); SDXL values: tokenizer_2/ of stabilityai/stable-diffusion-xl-base-1.0 at
# revision 462165984030d82259a11f4367a4eed129e94a7b. Taken from public download
# manifests that pin these files by hash.
_VOCAB = (1059962, "e089ad92ba36837a0d31433e555c8f45fe601ab5c221d4f607ded32d9f7a4349")
_MERGES = (524619, "9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a")
PUBLISHED = {
    "clip_tokenizer": {
        "vocab.json": _VOCAB,
        "merges.txt": _MERGES,
        "tokenizer_config.json": (806, "00439066fcba73de57644cf41e4e3b9f2dbb09d7f3fc2005898ba52399045882"),
        "special_tokens_map.json": (472, "c4864a9376a8401918425bed71fc14fc0e81f9b59ec45c1cf96cccb2df508eac"),
    },
    "clip_tokenizer_2": {
        "vocab.json": _VOCAB,
        "merges.txt": _MERGES,
        "tokenizer_config.json": (725, "c9d23941f76a41cbd50eda9290f57be7828f0a7a677939e9ef181f7e12bd1bdf"),
        "special_tokens_map.json": (460, "f118ab3a983206e4f32583448de6bd6aae4ee21869135cef1f5848a753cdaab6"),
    },
}


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode character map (same order as CLIP's)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_merges(bpe_gz: Path) -> list[str]:
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = lines[1 : N_MERGES + 1]
    if len(merges) != N_MERGES:
        raise SystemExit(f"{bpe_gz}: expected at least {N_MERGES + 1} lines, got {len(lines)}")
    for i, m in enumerate(merges, start=1):
        if len(m.split()) != 2 or m != " ".join(m.split()):
            raise SystemExit(f"{bpe_gz}: merge line {i} is not two space-separated parts: {m!r}")
    return merges


def build_vocab(merges: list[str]) -> dict[str, int]:
    chars = list(bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars]
    tokens += ["".join(m.split()) for m in merges]
    tokens += [BOS, EOS]
    vocab = {t: i for i, t in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE or len(tokens) != VOCAB_SIZE:
        raise SystemExit(f"vocab has {len(vocab)} unique of {len(tokens)} tokens, expected {VOCAB_SIZE}")
    return vocab


def _added_token(content: str, typed: bool) -> dict:
    tok = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **tok} if typed else tok


def tokenizer_config(which: int) -> dict:
    """tokenizer_config.json exactly as shipped: 1 = SD1.5 tokenizer/, 2 = SDXL tokenizer_2/."""
    cfg = {
        "add_prefix_space": False,
        "bos_token": _added_token(BOS, typed=True),
        "do_lower_case": True,
        "eos_token": _added_token(EOS, typed=True),
        "errors": "replace",
        "model_max_length": MODEL_MAX_LENGTH,
        "pad_token": EOS if which == 1 else "!",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": _added_token(EOS, typed=True),
    }
    if which == 1:
        cfg["name_or_path"] = "openai/clip-vit-large-patch14"
        cfg["special_tokens_map_file"] = "./special_tokens_map.json"
    else:
        cfg["clean_up_tokenization_spaces"] = True
    return cfg


def special_tokens_map(which: int) -> dict:
    return {
        "bos_token": _added_token(BOS, typed=False),
        "eos_token": _added_token(EOS, typed=False),
        "pad_token": EOS if which == 1 else "!",
        "unk_token": _added_token(EOS, typed=False),
    }


def _json_bytes(obj: dict) -> bytes:
    # The layout transformers' save_pretrained writes (and the model repos ship).
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def folder_files(which: int, vocab: dict[str, int], merges: list[str]) -> dict[str, bytes]:
    return {
        "vocab.json": _json_bytes(vocab),
        "merges.txt": ("#version: 0.2\n" + "\n".join(merges) + "\n").encode("utf-8"),
        "tokenizer_config.json": _json_bytes(tokenizer_config(which)),
        "special_tokens_map.json": _json_bytes(special_tokens_map(which)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bpe_gz", type=Path, help="path to bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "trainer" / "assets",
        help="assets folder to write clip_tokenizer/ and clip_tokenizer_2/ into",
    )
    ap.add_argument(
        "--no-verify",
        action="store_true",
        help="write the files even if they differ from the published SHA-256 values",
    )
    args = ap.parse_args(argv)

    merges = read_merges(args.bpe_gz)
    vocab = build_vocab(merges)
    assert vocab[BOS] == 49406 and vocab[EOS] == 49407 and vocab["!"] == 0

    outputs = {
        folder: folder_files(which, vocab, merges)
        for which, folder in ((1, "clip_tokenizer"), (2, "clip_tokenizer_2"))
    }
    mismatches = []
    for folder, files in outputs.items():
        for name, data in files.items():
            size, digest = PUBLISHED[folder][name]
            got = hashlib.sha256(data).hexdigest()
            if (len(data), got) != (size, digest):
                mismatches.append(f"{folder}/{name}: {len(data)} bytes sha256 {got}, published {size} {digest}")
    if mismatches and not args.no_verify:
        print("refusing to write: output differs from the published files:", file=sys.stderr)
        print("\n".join(mismatches), file=sys.stderr)
        return 1

    for folder, files in outputs.items():
        (args.out / folder).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (args.out / folder / name).write_bytes(data)
            print(f"{folder}/{name}  {len(data):>9} bytes  sha256 {hashlib.sha256(data).hexdigest()}")
    print(f"input sha256 {hashlib.sha256(args.bpe_gz.read_bytes()).hexdigest()}")
    print("all files match the published SHA-256 values" if not mismatches else "\n".join(mismatches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
