"""A tiny image captioner: patch-CNN encoder + GRU decoder with attention, greedy decoding.

It learns the canonical caption ("a small red circle, a large blue square and ..."), which
lists objects left to right. Attention over the same 8x8 patch tokens the VQA model uses lets the
decoder "walk" across the image one object at a time, which a single pooled image vector
does poorly once there are three or four objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.shapes.scenes import COLORS, IMAGE_SIZE, PATCH_SIZE, SHAPES, SIZES
from utils.shapes.vocab import BOS, EOS, PAD, Vocab, caption_vocab, detokenize, tokenize
from utils.shapes.vqa_model import PatchEncoder, images_to_tensor, normalize_images


@dataclass(frozen=True)
class CaptionerConfig:
    """Everything needed to rebuild the captioner, vocabulary included (stored in checkpoints)."""

    caption_tokens: tuple[str, ...]
    dim: int = 64
    hidden: int = 128
    context_layers: int = 2
    max_len: int = 28
    image_size: int = IMAGE_SIZE
    patch_size: int = PATCH_SIZE

    @classmethod
    def default(cls, **overrides: Any) -> CaptionerConfig:
        return cls(caption_tokens=tuple(caption_vocab().itos), **overrides)

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["caption_tokens"] = list(self.caption_tokens)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaptionerConfig:
        d = dict(d)
        d["caption_tokens"] = tuple(d["caption_tokens"])
        return cls(**d)


class ShapesCaptioner(nn.Module):
    """Encoder: `PatchEncoder` tokens. Decoder: GRU cell fed (previous word, attended context)."""

    def __init__(self, config: CaptionerConfig | None = None) -> None:
        super().__init__()
        self.config = config or CaptionerConfig.default()
        c = self.config
        specials = [t for t in c.caption_tokens if t.startswith("<")]
        self.vocab = Vocab(c.caption_tokens, specials=specials)
        self.pad_id, self.bos_id, self.eos_id = (self.vocab.id(t) for t in (PAD, BOS, EOS))
        n_vocab = len(c.caption_tokens)
        self.encoder = PatchEncoder(c.dim, c.patch_size, c.grid, c.context_layers)
        self.init_h = nn.Linear(c.dim, c.hidden)
        self.embed = nn.Embedding(n_vocab, c.dim, padding_idx=self.pad_id)
        self.cell = nn.GRUCell(2 * c.dim, c.hidden)
        self.att_q = nn.Linear(c.hidden, c.dim)
        self.out = nn.Sequential(
            nn.Linear(c.hidden + c.dim, c.hidden), nn.ReLU(), nn.Linear(c.hidden, n_vocab)
        )

    def encode_captions(self, captions: Sequence[str]) -> torch.Tensor:
        """Captions -> (N, T) ids framed as <bos> ... <eos>, padded with <pad>."""
        seqs = [[self.bos_id, *self.vocab.encode(tokenize(c)), self.eos_id] for c in captions]
        out = torch.full((len(seqs), max(len(s) for s in seqs)), self.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = torch.tensor(s)
        return out

    def _attend(self, tokens: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.einsum("bpd,bd->bp", tokens, self.att_q(h)) / math.sqrt(tokens.shape[-1])
        att = torch.softmax(scores, dim=-1)
        return torch.einsum("bp,bpd->bd", att, tokens), att

    def _start(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.encoder(normalize_images(images))
        return tokens, torch.tanh(self.init_h(tokens.mean(1)))

    def _step(
        self, tokens: torch.Tensor, h: torch.Tensor, word: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx, _ = self._attend(tokens, h)
        h = self.cell(torch.cat([self.embed(word), ctx], dim=-1), h)
        ctx2, _ = self._attend(tokens, h)
        return self.out(torch.cat([h, ctx2], dim=-1)), h

    def forward(self, images: torch.Tensor, words_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: uint8 images (B, H, W, 3), input ids (B, T) -> logits (B, T, V)."""
        tokens, h = self._start(images)
        logits = []
        for t in range(words_in.shape[1]):
            step_logits, h = self._step(tokens, h, words_in[:, t])
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def generate(self, images: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
        """Greedy decoding: the most likely next word until <eos> (or max_len words)."""
        tokens, h = self._start(images)
        word = torch.full((images.shape[0],), self.bos_id, dtype=torch.long)
        done = torch.zeros(images.shape[0], dtype=torch.bool)
        out: list[list[int]] = [[] for _ in range(images.shape[0])]
        for _ in range(max_len or self.config.max_len):
            logits, h = self._step(tokens, h, word)
            word = logits.argmax(-1)
            for i in torch.nonzero(~done).flatten().tolist():
                if int(word[i]) == self.eos_id:
                    done[i] = True
                else:
                    out[i].append(int(word[i]))
            if bool(done.all()):
                break
        return out

    @torch.no_grad()
    def caption(self, images: np.ndarray | Sequence[np.ndarray] | torch.Tensor) -> list[str]:
        """Greedy captions as text for uint8 (B, H, W, 3) images (or one (H, W, 3) image)."""
        was_training = self.training
        self.eval()
        ids = self.generate(images_to_tensor(images))
        self.train(was_training)
        return [detokenize(self.vocab.decode(s)) for s in ids]

    @torch.no_grad()
    def token_logprob(
        self, images: np.ndarray | Sequence[np.ndarray] | torch.Tensor, captions: Sequence[str]
    ) -> torch.Tensor:
        """Mean log-probability per token of given captions: a confidence score for monitoring.

        Scored on the model's own greedy captions it is a label-free health signal: it drops
        when inputs drift away from what the captioner was trained on.
        """
        was_training = self.training
        self.eval()
        tok = self.encode_captions(captions)
        logits = self(images_to_tensor(images), tok[:, :-1])
        self.train(was_training)
        target = tok[:, 1:]
        lp = -F.cross_entropy(
            logits.transpose(1, 2), target, ignore_index=self.pad_id, reduction="none"
        )
        mask = target != self.pad_id
        return (lp * mask).sum(1) / mask.sum(1)


_TRIPLE = re.compile(
    r"\b(" + "|".join(SIZES) + r")\s+(" + "|".join(COLORS) + r")\s+(" + "|".join(SHAPES) + r")\b"
)


def caption_objects(text: str) -> list[tuple[str, str, str]]:
    """(size, colour, shape) triples named in a caption, for an object-level F1."""
    return [(m.group(1), m.group(2), m.group(3)) for m in _TRIPLE.finditer(text.lower())]
