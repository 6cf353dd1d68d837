"""``shapes``: procedural scenes of one coloured shape, rendered in code (no files).

Every sample is a ``Scene`` of known factors -- shape, colour, size, position (a 3x3 grid
with jitter), rotation, background -- drawn deterministically from ``(seed, split, index)``:
the scene's random stream is ``numpy.random.default_rng([seed, split_code, index])``, so the
train and test splits use different streams and share no scene.

One scene renders in four *views* that later methods pair up:

- ``photo`` (default): the flat-shaded shape on a plain or gradient background;
- ``label_map``: each shape class one flat colour on black (pix2pix labels -> photo);
- ``edges``: the outline as black lines on white (pix2pix edges -> photo);
- ``night``: the same scene in a dark palette with noise texture (CycleGAN/StarGAN domains).

Images are drawn at 4x (2x above 64 px) and box-downsampled for antialiasing, except
``label_map`` which stays flat (nearest). ``caption(scene, rng)`` describes a scene in
varied words (GAN-CLS).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from ..errors import ConfigError
from .base import DATASETS, DataOptions
from .dataset import ImageDataset
from .progress import progress
from .transforms import item_rng

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "pentagon", "hexagon", "star")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (240, 215, 30),
    "green": (35, 165, 55),
    "blue": (35, 75, 215),
    "purple": (135, 45, 185),
    "pink": (240, 105, 175),
}
#: circumradius as a fraction of the image side
SIZES: dict[str, float] = {"small": 0.15, "medium": 0.21, "large": 0.28}
#: 3x3 grid: name -> (column, row) in 0..2
POSITIONS: dict[str, tuple[int, int]] = {
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0),
    "left": (0, 1), "center": (1, 1), "right": (2, 1),
    "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}
_GRID = (0.27, 0.5, 0.73)
#: name -> (top colour, bottom colour); equal colours = plain
BACKGROUNDS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "white": ((248, 248, 248), (248, 248, 248)),
    "light grey": ((195, 195, 195), (195, 195, 195)),
    "dark grey": ((75, 75, 75), (75, 75, 75)),
    "black": ((12, 12, 12), (12, 12, 12)),
    "grey gradient": ((235, 235, 235), (110, 110, 110)),
    "sky gradient": ((130, 185, 240), (240, 245, 250)),
}
#: label_map view: one flat colour per shape class on a black background
LABEL_COLOURS: dict[str, tuple[int, int, int]] = {
    "circle": (255, 0, 0), "square": (0, 255, 0), "triangle": (0, 0, 255),
    "pentagon": (255, 255, 0), "hexagon": (255, 0, 255), "star": (0, 255, 255),
}
VIEWS = ("photo", "label_map", "edges", "night")
FACTORS: dict[str, tuple[str, ...]] = {
    "shape": SHAPES, "colour": tuple(COLOURS), "size": tuple(SIZES), "position": tuple(POSITIONS),
}
_SPLIT_CODE = {"train": 0, "test": 1}
#: ``wrong=`` of task=captions, and the factors ``wrong=swap`` changes (every caption
#: template names all four)
WRONG_CAPTIONS: tuple[str, ...] = ("other", "swap")
SWAP_FACTORS: tuple[str, ...] = ("shape", "colour", "size", "position")


@dataclass(frozen=True)
class Scene:
    """The factors of one sample (hashable; equal scenes render equal images)."""

    shape: str
    colour: str
    size: str
    position: str
    rotation: float  # degrees, counter-clockwise
    background: str
    dx: float  # position jitter, fraction of the image side
    dy: float
    scale: float  # size jitter factor
    seed: int  # texture noise of the night view


def scene_for(index: int, split: str = "train", seed: int = 0) -> Scene:
    """The scene at ``index`` of ``split``, a pure function of (seed, split, index)."""
    if split not in _SPLIT_CODE:
        raise ConfigError(f"shapes: unknown split {split!r}; valid: {', '.join(_SPLIT_CODE)}")
    if index < 0 or seed < 0:
        raise ConfigError(f"shapes: index and seed must be >= 0, got index={index}, seed={seed}")
    rng = np.random.default_rng([seed, _SPLIT_CODE[split], index])
    k = rng.integers(0, [len(SHAPES), len(COLOURS), len(SIZES), len(POSITIONS), len(BACKGROUNDS)])
    u = rng.random(4)
    return Scene(
        shape=SHAPES[k[0]],
        colour=list(COLOURS)[k[1]],
        size=list(SIZES)[k[2]],
        position=list(POSITIONS)[k[3]],
        rotation=round(float(u[0]) * 360.0, 3),
        background=list(BACKGROUNDS)[k[4]],
        dx=round(float(u[1]) * 0.06 - 0.03, 4),
        dy=round(float(u[2]) * 0.06 - 0.03, 4),
        scale=round(0.9 + float(u[3]) * 0.2, 4),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _geometry(scene: Scene, side: int) -> tuple[float, float, float]:
    """Centre (x, y) and circumradius in pixels of a ``side`` x ``side`` canvas."""
    col, row = POSITIONS[scene.position]
    r = SIZES[scene.size] * scene.scale
    # keep the whole shape inside the frame with a 1% margin
    cx = min(max(_GRID[col] + scene.dx, r + 0.01), 1 - r - 0.01)
    cy = min(max(_GRID[row] + scene.dy, r + 0.01), 1 - r - 0.01)
    return cx * side, cy * side, r * side


def _outline(scene: Scene, side: int) -> list[tuple[float, float]] | None:
    """Polygon vertices (None for the circle), pointing up at rotation 0."""
    cx, cy, r = _geometry(scene, side)
    if scene.shape == "circle":
        return None
    if scene.shape == "star":
        radii = [r if i % 2 == 0 else 0.45 * r for i in range(10)]
    else:
        n = {"square": 4, "triangle": 3, "pentagon": 5, "hexagon": 6}[scene.shape]
        radii = [r] * n
    n = len(radii)
    offset = math.pi / 4 if scene.shape == "square" else 0.0  # axis-aligned square at 0 deg
    rot = math.radians(scene.rotation)
    return [
        (cx + rr * math.sin(2 * math.pi * i / n + offset + rot), cy - rr * math.cos(2 * math.pi * i / n + offset + rot))
        for i, rr in enumerate(radii)
    ]


@functools.lru_cache(maxsize=64)
def _background(name: str, side: int, night: bool) -> Image.Image:
    top, bottom = (np.array(c, dtype=np.float32) for c in BACKGROUNDS[name])
    if night:  # darker, bluer palette
        top, bottom = (c * 0.18 + np.array([8, 10, 32], np.float32) for c in (top, bottom))
    t = np.linspace(0.0, 1.0, side, dtype=np.float32)[:, None, None]  # (S, 1, 1)
    rows = top * (1 - t) + bottom * t  # (S, 1, 3)
    a = np.broadcast_to(rows, (side, side, 3))
    return Image.fromarray(np.ascontiguousarray(np.rint(a).astype(np.uint8)), "RGB")


def _draw_shape(draw: ImageDraw.ImageDraw, scene: Scene, side: int, fill: Any = None,
                outline: Any = None, width: int = 1) -> None:
    pts = _outline(scene, side)
    if pts is None:
        cx, cy, r = _geometry(scene, side)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=outline, width=width)
    elif fill is not None:
        draw.polygon(pts, fill=fill)
    else:
        draw.line(pts + pts[:1], fill=outline, width=width, joint="curve")


def _supersampling(size: int) -> tuple[int, int]:
    """(factor, canvas side) at which a ``size`` x ``size`` render is drawn before ``reduce``."""
    if not 16 <= size <= 256:
        raise ConfigError(f"shapes: image size must be in 16..256, got {size}")
    ss = 4 if size <= 64 else 2
    return ss, size * ss


def render(scene: Scene, size: int = 64, view: str = "photo") -> Image.Image:
    """The scene as a ``size`` x ``size`` RGB image in ``view`` (see the module docstring)."""
    if view not in VIEWS:
        raise ConfigError(f"shapes: unknown view {view!r}; valid: {', '.join(VIEWS)}")
    ss, side = _supersampling(size)
    if view == "label_map":
        img = Image.new("RGB", (side, side), (0, 0, 0))
        _draw_shape(ImageDraw.Draw(img), scene, side, fill=LABEL_COLOURS[scene.shape])
        return img.resize((size, size), Image.NEAREST)  # flat colours, no blends
    if view == "edges":
        img = Image.new("RGB", (side, side), (255, 255, 255))
        _draw_shape(ImageDraw.Draw(img), scene, side, outline=(0, 0, 0), width=max(1, size // 32) * ss)
        return img.reduce(ss)
    night = view == "night"
    img = _background(scene.background, side, night).copy()
    colour = COLOURS[scene.colour]
    if night:
        colour = tuple(int(c * 0.6 + 25) for c in colour)
    _draw_shape(ImageDraw.Draw(img), scene, side, fill=colour)
    img = img.reduce(ss)
    if night:  # film grain plus sparse bright specks, deterministic from the scene
        rng = np.random.default_rng(scene.seed)
        a = np.asarray(img, dtype=np.float32)  # (S, S, 3)
        a = a + rng.normal(0.0, 9.0, (size, size, 1)).astype(np.float32)
        specks = rng.random((size, size)) < 0.004
        a[specks] = 230.0
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "RGB")
    return img


def render_rounded(scene: Scene, size: int, rounding: float) -> Image.Image:
    """The ``photo`` view of ``scene`` with the shape's outline rounded: its mask smoothed by
    a Gaussian of sigma ``rounding`` x the shape's circumradius and cut at half height, so
    convex corners turn into arcs and a star's notches fill in (a level set of the blurred
    mask; ``rounding`` 0 is ``render(scene, size)``). The factor classifier trains on these
    (``metrics.text.FACTOR_ROUNDING``): a generator's shapes come with soft corners, and a
    classifier that saw only sharp ones reads a rounded square as something else."""
    if rounding < 0:
        raise ConfigError(f"shapes: rounding must be >= 0, got {rounding}")
    if rounding == 0:
        return render(scene, size)
    ss, side = _supersampling(size)
    mask = Image.new("L", (side, side), 0)
    _draw_shape(ImageDraw.Draw(mask), scene, side, fill=255)
    radius = rounding * _geometry(scene, side)[2]
    mask = mask.filter(ImageFilter.GaussianBlur(radius)).point(lambda v: 255 if v >= 128 else 0)
    img = _background(scene.background, side, False).copy()
    img.paste(Image.new("RGB", (side, side), COLOURS[scene.colour]), (0, 0), mask)
    return img.reduce(ss)


# -- captions ---------------------------------------------------------------------------
_SIZE_WORDS = {"small": ("small", "tiny", "little"), "medium": ("medium", "medium-sized", "mid-sized"),
               "large": ("large", "big", "huge")}
_COLOUR_WORDS = {"red": ("red", "crimson", "scarlet"), "orange": ("orange", "amber"),
                 "yellow": ("yellow", "golden"), "green": ("green", "emerald"), "blue": ("blue", "cobalt"),
                 "purple": ("purple", "violet"), "pink": ("pink", "rose")}
_SHAPE_WORDS = {"circle": ("circle", "disc", "round dot"), "square": ("square", "box"),
                "triangle": ("triangle",), "pentagon": ("pentagon", "five-sided shape"),
                "hexagon": ("hexagon", "six-sided shape"), "star": ("star", "five-pointed star")}
_WHERE_WORDS = {
    "top left": ("in the top left corner", "at the top left", "in the upper left"),
    "top": ("at the top", "near the top edge", "in the top middle"),
    "top right": ("in the top right corner", "at the top right", "in the upper right"),
    "left": ("on the left", "at the left side", "in the middle of the left side"),
    "center": ("in the center", "in the middle", "right in the middle"),
    "right": ("on the right", "at the right side", "in the middle of the right side"),
    "bottom left": ("in the bottom left corner", "at the bottom left", "in the lower left"),
    "bottom": ("at the bottom", "near the bottom edge", "in the bottom middle"),
    "bottom right": ("in the bottom right corner", "at the bottom right", "in the lower right"),
}
_TEMPLATES = (
    "a {size} {colour} {shape} {where}",
    "there is a {size} {colour} {shape} {where}",
    "{where} there is a {size} {colour} {shape}",
    "a {colour} {shape}, {size}, {where}",
    "a picture of a {size} {colour} {shape} {where}",
    "a {size} {colour} {shape} {where} on a {background} background",
    "{where}, a {size} {shape} coloured {colour}",
)


def swap_factor(scene: Scene, factor: str, rng: np.random.Generator) -> Scene:
    """``scene`` with ``factor`` (one of ``FACTORS``) set to another value drawn from ``rng``."""
    values = [v for v in FACTORS[factor] if v != getattr(scene, factor)]
    return dataclasses.replace(scene, **{factor: values[int(rng.integers(len(values)))]})


def caption(scene: Scene, rng: np.random.Generator | int) -> str:
    """A sentence describing ``scene``: a random template and synonyms drawn from ``rng``."""
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def pick(options: tuple[str, ...]) -> str:
        return options[int(g.integers(len(options)))]

    text = pick(_TEMPLATES).format(
        size=pick(_SIZE_WORDS[scene.size]), colour=pick(_COLOUR_WORDS[scene.colour]),
        shape=pick(_SHAPE_WORDS[scene.shape]), where=pick(_WHERE_WORDS[scene.position]),
        background=scene.background.replace(" gradient", "").replace("sky", "light blue"),
    )
    return re.sub(r"\ba (?=[aeiou])", "an ", text)


# -- the dataset ------------------------------------------------------------------------
@dataclass
class ShapesParams:
    view: Literal["photo", "label_map", "edges", "night"] = "photo"
    label: Literal["shape", "colour", "size", "position"] = "shape"
    n: int = 0  # number of samples; 0 = 20000 (train) / 2000 (test)
    seed: int = 0
    cache: bool = True  # keep rendered images in memory (see ImageDataset.CACHE_BYTES)
    # translation pairs A, B (edges2photo, label2photo, day2night); "attributes" adds "attrs"
    # (one-hot groups of the factors in ``attrs``); "captions" adds "caption", "wrong_caption"
    task: Literal["none", "edges2photo", "label2photo", "day2night", "attributes", "captions"] = "none"
    attrs: str = "colour,size,background"  # the factor groups of task=attributes
    # task=captions, GAN-CLS's mismatching text: "other" a caption of another scene whose
    # shape or colour differs (Reed et al.: text of another class); "swap" the item's own
    # scene with exactly one of shape, colour, size, position changed (hard negatives:
    # with "other" the colour differs 6 times in 7, so D can match on colour alone)
    wrong: Literal["other", "swap"] = "other"
    # "free": each scene's rotation uniform in [0, 360) (the default); "upright": every
    # shape drawn at rotation 0 (the same scenes otherwise: the rotation is drawn, then
    # dropped, so every other factor of item i is unchanged)
    rotation: Literal["free", "upright"] = "free"


@DATASETS.register("shapes", help="procedural shapes, no files (?view=photo|label_map|edges|night&label=shape|colour|size|position&n=&seed=); "
                   "?task=edges2photo|label2photo (paired) or day2night (unpaired) yields A, B, factors; "
                   "?task=attributes[&attrs=] yields attrs; ?task=captions[&wrong=other|swap] yields caption, wrong_caption; "
                   "&rotation=upright draws every shape at rotation 0")
class ShapesDataset(ImageDataset):
    """Procedural scenes; ``scene(i)`` and ``caption(i)`` give each sample's factors and text."""

    Params = ShapesParams
    DEFAULT_N = {"train": 20000, "test": 2000}

    def __new__(cls, path: str | None = None, split: str = "train", options: DataOptions | None = None,
                params: ShapesParams | None = None, spec: str = "shapes") -> "ShapesDataset":
        if cls is ShapesDataset and params is not None and params.task in TASKS:
            cls = ShapesPairDataset  # ?task=...: translation pairs
        return super().__new__(cls)

    def __init__(self, path: str | None, split: str, options: DataOptions, params: ShapesParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        if params.n < 0 or params.seed < 0:
            raise ConfigError(f"{spec}: n and seed must be >= 0")
        n = params.n or self.DEFAULT_N[split]
        self.render_size = self.transform.load_size if options.crop != "none" else options.image_size
        if not 16 <= self.render_size <= 256:
            raise ConfigError(f"{spec}: shapes renders 16..256 px, got image_size/load_size {self.render_size}")
        self.class_names = list(FACTORS[params.label])
        lookup = {c: i for i, c in enumerate(self.class_names)}
        if params.rotation not in ("free", "upright"):
            raise ConfigError(f"{spec}: rotation={params.rotation!r} is not supported; allowed: free, upright")
        self._scenes = [self._scene_for(i, split)
                        for i in progress(range(n), f"{spec} scenes", unit="scene", enabled=options.progress)]
        self.targets = np.array([lookup[getattr(s, params.label)] for s in self._scenes], dtype=np.int64)
        self.cache = params.cache
        if params.task == "attributes":
            groups = [g.strip() for g in params.attrs.split(",") if g.strip()]
            bad = [g for g in groups if g not in _FACTOR_VALUES]
            if not groups or bad or len(set(groups)) != len(groups):
                raise ConfigError(f"{spec}: attrs must name distinct factors among {', '.join(_FACTOR_VALUES)}, "
                                  f"got {params.attrs!r}")
            self.attr_names = [f"{g}={v}" for g in groups for v in _FACTOR_VALUES[g]]
            self.attr_groups, start = [], 0
            for g in groups:
                self.attr_groups.append(list(range(start, start + len(_FACTOR_VALUES[g]))))
                start += len(_FACTOR_VALUES[g])
            self._attr_factors = groups
        elif params.attrs != ShapesParams.attrs:
            raise ConfigError(f"{spec}: attrs applies to task=attributes")
        if params.wrong not in WRONG_CAPTIONS:
            raise ConfigError(f"{spec}: wrong={params.wrong!r} is not supported; allowed: {', '.join(WRONG_CAPTIONS)}")
        if params.wrong != ShapesParams.wrong and params.task != "captions":
            raise ConfigError(f"{spec}: wrong applies to task=captions")

    def _scene_for(self, index: int, split: str) -> Scene:
        s = scene_for(index, split, self.params.seed)
        return dataclasses.replace(s, rotation=0.0) if self.params.rotation == "upright" else s

    def scene(self, i: int) -> Scene:
        return self._scenes[self._index(i)]

    def caption(self, i: int, epoch: int = 0, seed: int = 0) -> str:
        """The caption of item ``i`` as the item of key (i, epoch, seed) carries it."""
        j = self._index(i)
        extra = [epoch, seed] if (epoch, seed) != (0, 0) else []
        return caption(self._scenes[j], np.random.default_rng([self.params.seed, _SPLIT_CODE[self.split], j, 1, *extra]))

    def wrong_caption(self, i: int, epoch: int = 0, seed: int = 0) -> str:
        """GAN-CLS's mismatching text for item ``i``, drawn from the key: with ``wrong=other``
        a caption of another scene of the split whose shape or colour differs (a scene with
        the colour changed if none is found); with ``wrong=swap`` a caption of the item's own
        scene with one of ``SWAP_FACTORS`` (chosen uniformly) set to another value."""
        j = self._index(i)
        me = self._scenes[j]
        rng = item_rng(j, epoch, seed, stream=3)
        if self.params.wrong == "swap":
            return caption(swap_factor(me, SWAP_FACTORS[int(rng.integers(len(SWAP_FACTORS)))], rng), rng)
        for _ in range(64):
            other = self._scenes[int(rng.integers(len(self._scenes)))]
            if (other.shape, other.colour) != (me.shape, me.colour):
                return caption(other, rng)
        colours = [c for c in COLOURS if c != me.colour]
        return caption(dataclasses.replace(me, colour=colours[int(rng.integers(len(colours)))]), rng)

    def item(self, j: int, jitter: Any, key: tuple[int, int, int]) -> dict[str, Any]:
        out = super().item(j, jitter, key)
        task = self.params.task
        if task == "attributes":
            scene = self._scenes[j]
            attrs = torch.zeros(len(self.attr_names))  # (c,) one-hot per group
            for g, idx in zip(self._attr_factors, self.attr_groups):
                attrs[idx[_FACTOR_VALUES[g].index(getattr(scene, g))]] = 1.0
            out["attrs"] = attrs
        elif task == "captions":
            out["caption"] = self.caption(j, key[1], key[2])
            out["wrong_caption"] = self.wrong_caption(j, key[1], key[2])
            out["factors"] = scene_factors(self._scenes[j])
        return out

    def load(self, i: int) -> Image.Image:
        return render(self._scenes[i], self.render_size, self.params.view)


# -- translation tasks --------------------------------------------------------------------
#: task -> (view of side A, view of side B, paired)
TASKS: dict[str, tuple[str, str, bool]] = {
    "edges2photo": ("edges", "photo", True),
    "label2photo": ("label_map", "photo", True),
    "day2night": ("photo", "night", False),
}
#: the order of the "factors" field: indices into SHAPES, COLOURS, SIZES, POSITIONS, BACKGROUNDS
FACTOR_NAMES: tuple[str, ...] = ("shape", "colour", "size", "position", "background")
_FACTOR_VALUES: dict[str, tuple[str, ...]] = {**FACTORS, "background": tuple(BACKGROUNDS)}


def scene_factors(scene: Scene) -> torch.Tensor:
    """int64 (5,): the scene's shape, colour, size, position and background indices."""
    return torch.tensor([_FACTOR_VALUES[f].index(getattr(scene, f)) for f in FACTOR_NAMES], dtype=torch.int64)


class ShapesPairDataset(ShapesDataset):
    """``shapes?task=...``: translation pairs {"A", "B", "A_path", "B_path", "factors"}.

    - ``edges2photo``, ``label2photo``: paired; A and B are two views of one scene.
    - ``day2night``: unpaired for training: B (night) comes from a second set of scenes of
      the train stream (indices n..2n-1, disjoint from A's 0..n-1), drawn at random from
      the item's key as junyanz's unaligned dataset draws B. On the test split B is the
      hidden true pair, the night view of A's own scene, also yielded as ``"B_true"``.

    ``"factors"`` are those of the scene shown in field ``"A"`` (``FACTOR_NAMES`` order), so
    the shape and colour classifiers can be checked on translated images.
    """

    pairs = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: ShapesParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        self.task = params.task
        self.views = {"A": TASKS[self.task][0], "B": TASKS[self.task][1]}
        self.unpaired = not TASKS[self.task][2] and split == "train"
        n = len(self._scenes)
        self._b_scenes = [self._scene_for(n + i, split) for i in range(n)] if self.unpaired else self._scenes
        self.class_names = []

    def _b_index(self, j: int, key: tuple[int, int, int]) -> int:
        if not self.unpaired:
            return j
        return int(item_rng(j, key[1], key[2], stream=1).integers(len(self._b_scenes)))

    def side(self, j: int, side: str, key: tuple[int, int, int]) -> tuple[Any, Any, str]:
        k = j if side == "A" else self._b_index(j, key)
        scene = self._scenes[k] if side == "A" else self._b_scenes[k]
        view = self.views[side]
        return (k, view), (lambda: render(scene, self.render_size, view)), f"{self.spec}[{self.split} {side}{k}]"

    def extras(self, j: int, key: tuple[int, int, int], jitter: Any) -> dict[str, Any]:
        input_side = self.other("A")  # the data side that feeds field "A"
        scene = self._scenes[j] if input_side == "A" else self._b_scenes[self._b_index(j, key)]
        return {"factors": scene_factors(scene)}

    def pair_item(self, j: int, jitter: Any, key: tuple[int, int, int]) -> dict[str, Any]:
        out = super().pair_item(j, jitter, key)
        if self.task == "day2night" and self.split == "test":
            out["B_true"] = out["B"]  # the test split is paired: B is A's own scene
        return out
