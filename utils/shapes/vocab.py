"""Fixed vocabularies for questions, answers and captions.

They are built from the templates and the training palette, never from a data sample, so a
model's input and output layers do not depend on which images happened to be generated. Drift
colours are deliberately left out: in production they show up as `<unk>` words and answers the
model cannot give, which is exactly the failure a monitoring chapter wants to surface.
Checkpoints store the token lists themselves, so a saved model keeps working even if these
lists change later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from utils.shapes.captions import TEMPLATE_WORDS
from utils.shapes.questions import NUMBER_WORDS, OBJECT_NOUNS, TEMPLATES
from utils.shapes.scenes import COLORS, MAX_OBJECTS, SHAPES, SIZES

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
_TOKEN = re.compile(r"[a-z]+|\d+|[^\sa-z\d]")


def tokenize(text: str) -> list[str]:
    """Lower-case words, numbers and single punctuation marks: 'A red circle.' -> 4 tokens."""
    return _TOKEN.findall(text.lower())


def detokenize(tokens: Sequence[str]) -> str:
    """Inverse of `tokenize` for caption-like text: no space before , . : ;"""
    return re.sub(r" ([,.:;?])", r"\1", " ".join(tokens))


class Vocab:
    """A token <-> id table; ids of `specials` come first so <pad> is 0."""

    def __init__(self, tokens: Iterable[str], specials: Sequence[str] = (PAD, UNK)) -> None:
        seen: dict[str, int] = {}
        for t in [*specials, *tokens]:
            seen.setdefault(t, len(seen))
        self.itos: list[str] = list(seen)
        self.stoi: dict[str, int] = seen
        self.specials = tuple(specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def id(self, token: str) -> int:
        """Id of a token; unknown tokens map to <unk> when the vocab has one, else raise."""
        if token in self.stoi:
            return self.stoi[token]
        if UNK in self.stoi:
            return self.stoi[UNK]
        raise KeyError(token)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.id(t) for t in tokens]

    def decode(self, ids: Iterable[int], strip_specials: bool = True) -> list[str]:
        out = [self.itos[i] for i in ids]
        return [t for t in out if t not in self.specials] if strip_specials else out


def _question_words() -> list[str]:
    """Every word a question template can produce, by filling templates with every value."""
    words: set[str] = set()
    refs = [*SIZES, *COLORS, *SHAPES, *OBJECT_NOUNS]
    for templates in TEMPLATES.values():
        for t in templates:
            for shape in SHAPES:
                words.update(tokenize(t.format(color="red", shape=shape, ref="", a="", b="")))
    for v in refs:
        words.update(tokenize(v))
    return sorted(words)


def question_vocab() -> Vocab:
    return Vocab(_question_words(), specials=(PAD, UNK))


def answer_list() -> list[str]:
    """The fixed answer classes: colours, shapes, counts 0..MAX_OBJECTS, yes/no."""
    return [*COLORS, *SHAPES, *(str(i) for i in range(MAX_OBJECTS + 1)), "yes", "no"]


def answer_vocab() -> Vocab:
    return Vocab(answer_list(), specials=())


def caption_vocab() -> Vocab:
    words = sorted(
        {*TEMPLATE_WORDS, *SIZES, *COLORS, *SHAPES, *(s + "s" for s in SHAPES), *NUMBER_WORDS[1:5]}
    )
    return Vocab(words, specials=(PAD, UNK, BOS, EOS))
