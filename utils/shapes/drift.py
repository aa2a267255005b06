"""Production drift for ShapesVQA, with one strength knob and a known onset.

A monitoring lesson needs drift whose cause and size are known, so a detector can be judged
against the truth. Five kinds, each scaled by `strength` in [0, 1]:

- `palette`: every colour is tinted (a camera white-balance change); names stay the same;
- `novel_colors`: some objects get colours never seen in training (orange, cyan, pink, brown);
  their questions then have answers outside the model's answer vocabulary;
- `size`: objects shrink around their centres (a camera zooming out); size labels are kept;
- `noise`: Gaussian pixel noise (sensor noise);
- `lighting`: a darker background (a dimmer room).

The kinds hurt very differently: the shipped VQA model shrugs off pixel noise and a tinted
palette but falls apart under a small lighting change, which is exactly the kind of silent
failure a pixel-statistics monitor catches before accuracy labels arrive. Pick `kinds` to get a
gentle or a harsh drift.

Coupling: the random draws a drift uses come from their own generator and are made in the same
order whatever the strength, so the same scene at strengths 0.2 and 0.6 differs only by *how
much* it drifted. That is what makes pixel statistics move monotonically with strength.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from utils.shapes.scenes import Scene, SceneObject

DRIFT_KINDS: tuple[str, ...] = ("palette", "novel_colors", "size", "noise", "lighting")
NOVEL_COLORS: dict[str, tuple[int, int, int]] = {
    "orange": (245, 130, 20),
    "cyan": (30, 195, 205),
    "pink": (240, 120, 185),
    "brown": (125, 80, 40),
}
PALETTE_SHIFT = np.array([40.0, -30.0, 35.0])  # RGB offset at strength 1
MAX_NOVEL_FRACTION = 0.5  # at strength 1, about half the objects get an unseen colour
MAX_SHRINK = 0.4  # at strength 1, half-extents shrink by 40 %
MAX_NOISE_STD = 25.0  # pixel noise std at strength 1 (uint8 scale)
MAX_DARKEN = 40.0  # background darkening at strength 1 (uint8 scale)


@dataclass(frozen=True)
class Drift:
    """How far production has moved from training: a strength in [0, 1] and which kinds."""

    strength: float = 0.0
    kinds: tuple[str, ...] = DRIFT_KINDS

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"drift strength must be in [0, 1], got {self.strength}")
        unknown = set(self.kinds) - set(DRIFT_KINDS)
        if unknown:
            raise ValueError(f"unknown drift kinds {sorted(unknown)}; choose from {DRIFT_KINDS}")

    @property
    def active(self) -> bool:
        return self.strength > 0 and bool(self.kinds)

    def level(self, kind: str) -> float:
        """Strength applied to one kind (0 when the kind is switched off)."""
        return self.strength if kind in self.kinds else 0.0


def as_drift(drift: float | Drift | None) -> Drift:
    """Accept a bare strength (all kinds) or a `Drift`, so callers can write `drift=0.5`."""
    if drift is None:
        return Drift()
    if isinstance(drift, Drift):
        return drift
    return Drift(strength=float(drift))


def apply_drift(scene: Scene, drift: float | Drift | None, seed: int | list[int]) -> Scene:
    """The drifted version of a clean scene (the clean scene itself when strength is 0).

    `seed` should identify the scene (the dataset uses `[universe_seed, index, 2]`), so the same
    scene always drifts the same way.
    """
    d = as_drift(drift)
    if not d.active:
        return scene
    rng = np.random.default_rng(seed)
    n = len(scene.objects)
    # Draw everything up front, in a fixed order, regardless of strength (see module docstring).
    u_novel = rng.random(n)
    novel_pick = rng.integers(len(NOVEL_COLORS), size=n)
    noise_seed = int(rng.integers(2**31 - 1))

    novel_names = list(NOVEL_COLORS)
    s_pal, s_nov, s_size, s_noise, s_light = (d.level(k) for k in DRIFT_KINDS)
    objects: list[SceneObject] = []
    for i, o in enumerate(scene.objects):
        color, rgb = o.color, o.rgb
        if u_novel[i] < MAX_NOVEL_FRACTION * s_nov:
            color = novel_names[int(novel_pick[i])]
            rgb = NOVEL_COLORS[color]
        shifted = np.clip(np.rint(np.array(rgb, dtype=float) + s_pal * PALETTE_SHIFT), 0, 255)
        r = max(2, round(o.r * (1.0 - MAX_SHRINK * s_size)))
        objects.append(
            replace(o, color=color, rgb=(int(shifted[0]), int(shifted[1]), int(shifted[2])), r=r)
        )
    bg = np.clip(np.rint(np.array(scene.background, dtype=float) - MAX_DARKEN * s_light), 0, 255)
    return replace(
        scene,
        objects=tuple(objects),
        background=(int(bg[0]), int(bg[1]), int(bg[2])),
        noise_std=MAX_NOISE_STD * s_noise,
        noise_seed=noise_seed,
    )


def drift_schedule(t: int, start: int, strength: float, ramp: int = 0) -> float:
    """Drift strength at time step t: 0 before `start`, then `strength` (linearly over `ramp`).

    A monitoring notebook uses this to inject drift at a known step and then asks whether
    (and how fast) its detector noticed.
    """
    if t < start:
        return 0.0
    if ramp <= 0:
        return strength
    return strength * min(1.0, (t - start + 1) / ramp)
