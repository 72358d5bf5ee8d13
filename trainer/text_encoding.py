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


def _final_layer_norm(text_encoder):
    model = getattr(text_encoder, "text_model", text_encoder)
    return model.final_layer_norm


def encode(text_encoder, ids: torch.Tensor, clip_skip: int | None) -> torch.Tensor:
    """Hidden states [batch, tokens, width] for ids from `tokenize`."""
    batch, chunks, length = ids.shape
    flat = ids.reshape(batch * chunks, length).to(text_encoder.device)
    if clip_skip and clip_skip > 1:
        out = text_encoder(flat, output_hidden_states=True)
        states = _final_layer_norm(text_encoder)(out.hidden_states[-clip_skip])
    else:
        states = text_encoder(flat).last_hidden_state
    states = states.reshape(batch, chunks * length, states.shape[-1])
    if chunks == 1:
        return states
    pieces = [states[:, :1]]
    for c in range(chunks):
        pieces.append(states[:, c * length + 1 : c * length + 1 + CHUNK])
    pieces.append(states[:, -1:])
    return torch.cat(pieces, dim=1)
