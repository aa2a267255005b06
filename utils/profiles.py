"""The two course profiles, defined once: `full` (what learners run) and `fast` (tests, CI).

A notebook's `parameters` cell sets `PROFILE`; the harness passes `fast` when it tests them;
training sizes and step counts are looked up per profile (`utils.shapes.train.PROFILES`).
Every place that accepts a profile checks it here, so a typo fails with the same message.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

Profile = Literal["full", "fast"]
NAMES: tuple[Profile, ...] = get_args(Profile)
DEFAULT: Profile = "full"


def check(profile: str) -> Profile:
    """`profile` as a `Profile`, or ValueError naming the allowed values."""
    if profile not in NAMES:
        raise ValueError(f"PROFILE must be one of {', '.join(map(repr, NAMES))}, not {profile!r}")
    return cast(Profile, profile)
