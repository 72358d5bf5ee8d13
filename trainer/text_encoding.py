"""Captions to U-Net conditioning, as kohya does it: clip_skip and 150/225-token captions.

kohya (library/train_util.py get_input_ids / get_hidden_states): a caption longer than 75
tokens is cut into chunks of 75, each encoded as <BOS> chunk <EOS>, and the hidden states
are joined again without the inner BOS/EOS, so the U-Net sees 1 + 75*n + 1 tokens.
clip_skip N takes the N-th hidden state from the end and applies the final layer norm.
"""
from __future__ import annotations

import torch

CHUNK = 75  # CLIP's 77 positions minus BOS and EOS


def tokenize(tokenizer, captions: list[str], max_token_length: int | None) -> torch.Tensor:
    """Token ids [batch, chunks, 77]."""
    total = (max_token_length or CHUNK) + 2
    ids = tokenizer(captions, padding="max_length", truncation=True, max_length=total, return_tensors="pt").input_ids
    if total == CHUNK + 2:
        return ids.unsqueeze(1)
    chunks = []
    for start in range(1, total - 2, CHUNK):
        chunks.append(torch.cat([ids[:, :1], ids[:, start : start + CHUNK], ids[:, -1:]], dim=1))
    return torch.stack(chunks, dim=1)


def _unwrapped(text_encoder):
    """The module itself, also when DistributedDataParallel wraps it for multi-GPU training."""
    return getattr(text_encoder, "module", text_encoder)


def _final_layer_norm(text_encoder):
    model = _unwrapped(text_encoder)
    return getattr(model, "text_model", model).final_layer_norm


def _join_chunks(states: torch.Tensor, batch: int, chunks: int, length: int) -> torch.Tensor:
    """[batch*chunks, 77, width] -> [batch, 1 + 75*chunks + 1, width]: one BOS, the chunks' tokens, one EOS."""
    states = states.reshape(batch, chunks * length, states.shape[-1])
    if chunks == 1:
        return states
    pieces = [states[:, :1]]
    for c in range(chunks):
        pieces.append(states[:, c * length + 1 : c * length + 1 + CHUNK])
    pieces.append(states[:, -1:])
    return torch.cat(pieces, dim=1)


def encode(text_encoder, ids: torch.Tensor, clip_skip: int | None) -> torch.Tensor:
    """SD1 hidden states [batch, tokens, width] for ids from `tokenize`."""
    batch, chunks, length = ids.shape
    flat = ids.reshape(batch * chunks, length).to(_unwrapped(text_encoder).device)
    if clip_skip and clip_skip > 1:
        out = text_encoder(flat, output_hidden_states=True)
        states = _final_layer_norm(text_encoder)(out.hidden_states[-clip_skip])
    else:
        states = text_encoder(flat).last_hidden_state
    return _join_chunks(states, batch, chunks, length)


def encode_sdxl(text_encoder, text_encoder_2, ids: torch.Tensor, ids_2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SDXL conditioning: both towers' penultimate hidden states side by side, and the pooled embedding.

    As kohya's sdxl_train_util.get_hidden_states_sdxl and diffusers' SDXL pipeline: CLIP-L's and
    bigG's second-to-last layer without the final layer norm, concatenated on the feature axis
    (768 + 1280 = 2048 wide); the pooled embedding is bigG's projected EOS token, from the first
    chunk of a long caption.
    """
    batch, chunks, length = ids.shape
    out_1 = text_encoder(ids.reshape(-1, length).to(_unwrapped(text_encoder).device), output_hidden_states=True)
    out_2 = text_encoder_2(ids_2.reshape(-1, length).to(_unwrapped(text_encoder_2).device), output_hidden_states=True)
    states = torch.cat([out_1.hidden_states[-2], out_2.hidden_states[-2]], dim=-1)
    pooled = out_2.text_embeds.reshape(batch, chunks, -1)[:, 0]
    return _join_chunks(states, batch, chunks, length), pooled
