"""A trainable sentence encoder for text-to-image GANs (nothing can be downloaded).

Reed et al. 2016 condition GAN-CLS on 1024-d char-CNN-RNN embeddings pre-trained with
the deep symmetric structured joint embedding (DS-SJE, Reed, Akata, Lee, Schiele,
"Learning deep representations of fine-grained visual descriptions", CVPR 2016)
against GoogLeNet image features. Neither the weights nor GoogLeNet can be fetched
here, so ganas ships a small word-level encoder (word embedding + bidirectional GRU)
trained, before the GAN, with a symmetric contrastive objective against the features
of a small convolutional image encoder trained jointly from scratch on the same images.

NOTE: the symmetric InfoNCE loss (cross-entropy over the batch's image-text similarity
matrix, both directions) stands in for DS-SJE's symmetric hinge loss over classes; both
make each sentence closest to its own image and each image closest to its own sentence
(the "symmetric" in DS-SJE). InfoNCE needs no class labels, so it also fits caption data
without classes (a plain image,caption CSV).

The vocabulary is built from the training captions (``Vocabulary.add``) into a fixed
``capacity`` of rows (the embedding table never changes shape, so a checkpoint's
tensors always fit the network built from the config); words beyond it, and words never
seen in training, map to ``<unk>``. ``Vocabulary.state()`` is a list of strings
(checkpoints load with ``weights_only=True``).
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .dcgan import DCGANDiscriminator, dcgan_depth

PAD, UNK = 0, 1
SPECIALS: tuple[str, ...] = ("<pad>", "<unk>")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (letters, digits, inner hyphens): ``"A mid-sized, red box"`` ->
    ``["a", "mid-sized", "red", "box"]``."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word -> row of the embedding table; ``capacity`` rows in all (two specials)."""

    def __init__(self, capacity: int, words: Iterable[str] = ()) -> None:
        if capacity <= len(SPECIALS):
            raise ConfigError(f"vocab_size must be > {len(SPECIALS)}, got {capacity}")
        self.capacity = capacity
        self.words: list[str] = list(SPECIALS)
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        self.add_words(words)

    def __len__(self) -> int:
        return len(self.words)

    def add_words(self, words: Iterable[str]) -> None:
        for w in words:
            if w not in self.index and len(self.words) < self.capacity:
                self.index[w] = len(self.words)
                self.words.append(w)

    def add(self, texts: Iterable[str]) -> None:
        """Add the new words of ``texts`` in order of first appearance (deterministic)."""
        for t in texts:
            self.add_words(tokenize(t))

    def encode(self, texts: Sequence[str], max_words: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, L) int64, padded with ``PAD``, and lengths (B,) int64 (>= 1: an
        empty sentence is one ``<unk>``); sentences are cut at ``max_words``."""
        rows = [[self.index.get(w, UNK) for w in tokenize(t)][:max_words] or [UNK] for t in texts]
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), PAD, dtype=torch.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
        return ids, torch.tensor([len(r) for r in rows], dtype=torch.int64)

    def state(self) -> list[str]:
        return list(self.words[len(SPECIALS):])

    @classmethod
    def from_state(cls, capacity: int, words: Sequence[str]) -> "Vocabulary":
        return cls(capacity, words)


class TextEncoder(nn.Module):
    """Token ids (B, L) and lengths (B,) -> sentence embedding (B, embed_dim).

    Word embedding -> bidirectional GRU; the final forward and backward hidden states
    are concatenated and mapped linearly to ``embed_dim`` (1024, the size of Reed's
    char-CNN-RNN vectors, so G and D match the reference's input width).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 1024, word_dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.embedding = nn.Embedding(vocab_size, word_dim, padding_idx=PAD)
        self.gru = nn.GRU(word_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, embed_dim)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids)  # (B, L, word_dim)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, h = self.gru(packed)  # h: (2, B, hidden), forward and backward final states
        return self.out(torch.cat([h[0], h[1]], dim=1))  # (B, embed_dim)


class ImageEncoder(nn.Module):
    """Image (B, C, S, S) -> feature (B, embed_dim): the DCGAN discriminator's
    downsampling trunk (shared blocks of ``ganas.nets.dcgan``) to 4x4, average-pooled,
    then a linear map into the joint space."""

    def __init__(self, channels: int = 3, width: int = 32, image_size: int = 64, embed_dim: int = 1024) -> None:
        super().__init__()
        k = dcgan_depth(image_size)
        self.trunk = DCGANDiscriminator(channels, width, image_size).main[:-1]  # (B, width*2^(k-3), 4, 4)
        self.out = nn.Linear(width * 2 ** (k - 3), embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.trunk(x).mean(dim=(2, 3)))  # (B, embed_dim)


def contrastive_loss(text: torch.Tensor, image: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: text (B, E) and image (B, E) features, pair i matching i.

    ``(CE(S, arange) + CE(S^T, arange)) / 2`` with ``S = cos(text_i, image_j) / temperature``
    (B, B). Computed in float32."""
    t = F.normalize(text.float(), dim=1)
    v = F.normalize(image.float(), dim=1)
    s = t @ v.t() / temperature  # (B, B)
    target = torch.arange(s.size(0), device=s.device)
    return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.t(), target))


def scaled_embedding(features: torch.Tensor) -> torch.Tensor:
    """The GAN's conditioning vector: the unit-normalised feature times sqrt(E), so its
    entries have unit mean square whatever E (the contrastive loss fixes only the direction)."""
    return F.normalize(features.float(), dim=1) * math.sqrt(features.size(1))  # (B, E)
