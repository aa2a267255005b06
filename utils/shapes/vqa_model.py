"""A tiny VQA model whose visual tokens can be counted, ranked and rationed.

Image -> 8x8 grid of patch tokens (one token per 8x8-pixel patch, plus a little neighbourhood
context) -> question-guided multi-head attention over the tokens -> answer classifier.

Tokens never mix after the encoder; they only meet in the attention read-outs. So
`patch_budget=k` is a real visual-token budget: the answer is computed from the k tokens the
model ranked most relevant (or k random ones, as a baseline) and nothing else. Chapter 08's
token-budget study is built on that and on the exposed attention weights. Caveat for that
study: a token's receptive field is its patch plus neighbours (the context convolutions), so a
token "knows" a little about the patches around it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.shapes.scenes import IMAGE_SIZE, PATCH_SIZE
from utils.shapes.vocab import PAD, UNK, Vocab, answer_list, question_vocab, tokenize

PATCH_SELECT = ("attention", "random")


@dataclass(frozen=True)
class VQAConfig:
    """Everything needed to rebuild the model, vocabularies included (stored in checkpoints)."""

    question_tokens: tuple[str, ...]
    answers: tuple[str, ...]
    dim: int = 64
    heads: int = 4
    context_layers: int = 2
    token_dim: int = 64  # per-question token features: the main cost of a training step
    hidden: int = 128
    image_size: int = IMAGE_SIZE
    patch_size: int = PATCH_SIZE

    @classmethod
    def default(cls, **overrides: Any) -> VQAConfig:
        return cls(
            question_tokens=tuple(question_vocab().itos),
            answers=tuple(answer_list()),
            **overrides,
        )

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def n_patches(self) -> int:
        return self.grid**2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["question_tokens"] = list(self.question_tokens)
        d["answers"] = list(self.answers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VQAConfig:
        d = dict(d)
        d["question_tokens"] = tuple(d["question_tokens"])
        d["answers"] = tuple(d["answers"])
        return cls(**d)


@dataclass
class VQAOutput:
    """Logits plus the attention that produced them.

    `head_attention` (Q, heads, P) and `attention` (Q, P, the head average) are the weights
    actually used, so with a budget they are zero outside the kept patches; `full_attention` is
    the head-averaged attention over all patches before any budget (what ranks the patches).
    """

    logits: torch.Tensor
    attention: torch.Tensor
    head_attention: torch.Tensor
    full_attention: torch.Tensor
    kept: torch.Tensor  # bool (Q, P): patches the answer could read


def images_to_tensor(images: np.ndarray | torch.Tensor | Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 (B, H, W, 3) images (numpy, a list of arrays, or a tensor) -> uint8 tensor."""
    if isinstance(images, torch.Tensor):
        return images
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = images[None]
    return torch.from_numpy(np.ascontiguousarray(np.stack(list(images)), dtype=np.uint8))


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [-1, 1]."""
    return images.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class PatchEncoder(nn.Module):
    """Image -> (B, P, dim) tokens, one per patch, with learned positions.

    Two strided convolutions whose receptive fields tile the image exactly (4x4 pixels, then
    2x2 of those) make one token per 8x8 patch; then a few 3x3 convolutions on the token grid let
    each token see its neighbours, which shape recognition needs (a large shape spans patches).
    """

    def __init__(self, dim: int, patch_size: int, grid: int, context_layers: int) -> None:
        super().__init__()
        if patch_size % 4:
            raise ValueError("patch_size must be a multiple of 4")
        k2 = patch_size // 4
        self.patchify = nn.Sequential(
            nn.Conv2d(3, dim // 2, 4, stride=4),
            nn.BatchNorm2d(dim // 2),
            nn.ReLU(),
            nn.Conv2d(dim // 2, dim, k2, stride=k2),
            nn.BatchNorm2d(dim),
            nn.ReLU(),
        )
        self.pos = nn.Parameter(torch.randn(1, dim, grid, grid) * 0.1)
        self.context = nn.ModuleList(
            nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.BatchNorm2d(dim), nn.ReLU())
            for _ in range(context_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.patchify(x) + self.pos
        for layer in self.context:
            h = h + layer(h)
        return h.flatten(2).transpose(1, 2)  # (B, P, dim)


class ShapesVQA(nn.Module):
    """Patch tokens + GRU question encoder + question-guided attention + answer classifier.

    Three read-outs of the attended tokens feed the classifier, one per kind of question:
    - softmax attention pooling per head (what is there: colour, shape);
    - a sigmoid-gated *sum* over tokens (how many: an average cannot count);
    - where heads 0 and 1 looked, compared along question-chosen directions (left of / above).
    """

    def __init__(self, config: VQAConfig | None = None) -> None:
        super().__init__()
        self.config = config or VQAConfig.default()
        c = self.config
        self.qvocab = Vocab(c.question_tokens, specials=())
        self.pad_id = self.qvocab.id(PAD)
        # Images -> tokens -> keys and values, computed once per image.
        self.encoder = PatchEncoder(c.dim, c.patch_size, c.grid, c.context_layers)
        self.keys = nn.Linear(c.dim, c.token_dim)
        self.values = nn.Linear(c.dim, c.token_dim)
        # Questions -> a summary vector and one query per attention head.
        self.embed = nn.Embedding(len(c.question_tokens), c.dim, padding_idx=self.pad_id)
        self.gru = nn.GRU(c.dim, c.dim, batch_first=True)
        self.word_score = nn.Linear(2 * c.dim, 1)
        slope = torch.zeros(c.heads)
        slope[: min(2, c.heads)] = torch.tensor([-4.0, 4.0])[: min(2, c.heads)]
        self.word_slope = nn.Parameter(slope)
        self.query = nn.Linear(2 * c.dim, c.token_dim)
        # Read-outs.
        self.gate = nn.Linear(c.dim, c.token_dim + 1)
        self.pool_norm = nn.LayerNorm(c.heads * c.token_dim)
        self.rel_dirs = 8
        self.direction = nn.Linear(c.dim, 2 * self.rel_dirs)
        axis = torch.linspace(-1, 1, c.grid)
        yy, xx = torch.meshgrid(axis, axis, indexing="ij")
        coords = torch.stack([xx.flatten(), yy.flatten()], dim=-1)  # (P, 2) patch centres
        self.register_buffer("coords", coords, persistent=False)
        n_in = (c.heads + 1) * c.token_dim + 2 * c.heads + self.rel_dirs + c.dim
        self.head = nn.Sequential(
            nn.Linear(n_in, c.hidden), nn.ReLU(), nn.Linear(c.hidden, len(c.answers))
        )

    # ------------------------------------------------------------------ encoders

    def encode_questions(self, texts: Sequence[str]) -> torch.Tensor:
        """Question strings -> padded id tensor (Q, L); unknown words become <unk>."""
        ids = [self.qvocab.encode(tokenize(t)) or [self.qvocab.id(UNK)] for t in texts]
        out = torch.full((len(ids), max(len(i) for i in ids)), self.pad_id, dtype=torch.long)
        for row, seq in enumerate(ids):
            out[row, : len(seq)] = torch.tensor(seq)
        return out

    def question_vectors(self, qids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, L) ids -> summary (Q, dim) and one query per head (Q, heads, token_dim).

        The summary (GRU state after the last real word) says what is asked. Each head's query
        says what to look for: a weighted average of the words, where *which words matter* is
        shared by all heads (learned on colour questions, reused in position questions) and a
        learned per-head slope prefers early or late words. Heads 0 and 1 start leaning to the
        start and the end, so "is the red circle left of the blue square" gives one head each
        referent; without that asymmetry all heads get the same gradients and stay identical.
        Queries deliberately do not see the summary: a query for "red circle" then means the
        same thing in every kind of question.
        """
        emb = self.embed(qids)
        out, _ = self.gru(emb)
        real = qids != self.pad_id
        lengths = real.sum(1).clamp(min=1)
        summary = out[torch.arange(qids.shape[0]), lengths - 1]
        rel_pos = torch.arange(qids.shape[1]) / lengths[:, None] - 0.5  # (Q, L), in [-0.5, 0.5)
        words = torch.cat([emb, out], dim=-1)
        w = self.word_score(words) + rel_pos[..., None] * self.word_slope  # (Q, L, heads)
        w = w.masked_fill(~real[..., None], float("-inf")).softmax(dim=1)
        return summary, self.query(torch.einsum("qlh,qld->qhd", w, words))

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        images: torch.Tensor,
        qids: torch.Tensor,
        image_index: torch.Tensor | None = None,
        patch_budget: int | None = None,
        patch_select: str = "attention",
        generator: torch.Generator | None = None,
    ) -> VQAOutput:
        """Answer Q questions about B images.

        images: uint8 (B, H, W, 3); qids: (Q, L) from `encode_questions`; image_index: (Q,)
        which image each question is about (default: question i is about image i). Each image
        is encoded once however many questions it has.
        patch_budget: answer from only the top-k patches (`patch_select="attention"`, ranked by
        the head-averaged attention) or k random patches (`"random"`, a baseline; pass a seeded
        `generator` for repeatability). All three read-outs see only the kept patches.
        """
        if patch_select not in PATCH_SELECT:
            raise ValueError(f"patch_select must be one of {PATCH_SELECT}")
        c = self.config
        tokens = self.encoder(normalize_images(images))  # (B, P, dim)
        if image_index is None:
            image_index = torch.arange(qids.shape[0])
        q, queries = self.question_vectors(qids)  # (Q, dim), (Q, heads, token_dim)
        k = F.relu(self.keys(tokens))[image_index]  # (Q, P, token_dim)
        # Values ignore the question: to report the circle's colour, a head has to actually
        # attend to the circle, which keeps the attention maps honest relevance maps.
        v = self.values(tokens)[image_index]
        n_q, n_p, d = k.shape
        logits = torch.einsum("qhd,qpd->qhp", queries, k) / math.sqrt(d)
        full = torch.softmax(logits, dim=-1)
        kept = torch.ones(n_q, n_p, dtype=torch.bool, device=k.device)
        if patch_budget is not None and patch_budget < n_p:
            if patch_budget < 1:
                raise ValueError("patch_budget must be >= 1 (or None for all patches)")
            if patch_select == "attention":
                score = full.mean(1)
            else:
                score = torch.rand(n_q, n_p, generator=generator).to(k.device)
            top = score.topk(patch_budget, dim=-1).indices
            kept = torch.zeros_like(kept).scatter_(1, top, True)
            logits = logits.masked_fill(~kept[:, None, :], float("-inf"))
        att = torch.softmax(logits, dim=-1)  # (Q, heads, P)

        pooled = self.pool_norm(torch.einsum("qhp,qpd->qhd", att, v).reshape(n_q, -1))
        gw, gb = self.gate(q).split([d, 1], dim=-1)
        gate = torch.sigmoid(torch.einsum("qd,qpd->qp", gw, k) + gb) * kept
        summed = torch.einsum("qp,qpd->qd", gate, v) / c.grid  # not normalised: size = count
        where = torch.einsum("qhp,pc->qhc", att, self.coords)  # (Q, heads, 2)
        dirs = self.direction(q).view(n_q, self.rel_dirs, 2)
        rel = torch.einsum("qkc,qc->qk", dirs, where[:, 0] - where[:, 1])
        spatial = torch.cat([where.flatten(1), rel], dim=-1) * 4
        return VQAOutput(
            logits=self.head(torch.cat([pooled, summed, spatial, q], dim=-1)),
            attention=att.mean(1),
            head_attention=att,
            full_attention=full.mean(1),
            kept=kept,
        )

    # ------------------------------------------------------------------ convenience

    @torch.no_grad()
    def answer(
        self,
        images: np.ndarray | Sequence[np.ndarray],
        questions: Sequence[str] | str,
        patch_budget: int | None = None,
    ) -> list[dict[str, Any]]:
        """Answer questions about images, for apps and tables.

        Either one question per image, or one image and any number of questions about it.
        Returns one dict per question: answer, confidence (softmax probability), and the used
        attention as an 8x8 numpy map (what a Gradio app or a Table overlays on the image).
        """
        if isinstance(questions, str):
            questions = [questions]
        imgs = images_to_tensor(images)
        if imgs.shape[0] == len(questions):
            index = torch.arange(len(questions))
        elif imgs.shape[0] == 1:
            index = torch.zeros(len(questions), dtype=torch.long)
        else:
            raise ValueError(f"{imgs.shape[0]} images but {len(questions)} questions")
        was_training = self.training
        self.eval()
        out = self(imgs, self.encode_questions(questions), index, patch_budget=patch_budget)
        self.train(was_training)
        probs = out.logits.softmax(-1)
        conf, idx = probs.max(-1)
        g = self.config.grid
        return [
            {
                "answer": self.config.answers[int(i)],
                "confidence": float(p),
                "attention": a.reshape(g, g).numpy(),
            }
            for i, p, a in zip(idx, conf, out.attention, strict=True)
        ]
