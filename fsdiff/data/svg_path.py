"""SVG path data (the ``d`` attribute) as cubic Bézier segments, and their flattening to polylines.

Covers the commands KanjiVG uses and their relatives: ``M m L l H h V v C c S s Z z``, with implicit repeats
(numbers after a command reuse it; after a moveto they are linetos) and compact numbers (``1.5-2.3``, ``.5.5``,
``1e-3``). Lines become straight cubics, so every subpath is one array of segments and one code path draws them.
"""

import re

import numpy as np
from jaxtyping import Float64

from fsdiff.errors import DataError
from fsdiff.typing import PositiveInt

Segments = Float64[np.ndarray, "_k 4 2"]
"""One subpath: ``k`` cubic Bézier segments, each start, two controls, end; consecutive segments share ends."""

_COMMAND = re.compile(r"([A-DF-Za-df-z])")  # any letter but the exponent's e/E starts a command
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Z": 0}

Point = tuple[float, float]


def parse_path(d: str) -> list[Segments]:
    """The subpaths of an SVG path, in drawing order, in the path's own coordinates.

    Raises ``DataError`` for an unsupported command, a stray character, a wrong count of numbers or a path that
    does not start with a moveto.
    """
    # Plain floats, not NumPy, per segment: a path has a few dozen numbers and NumPy's per-call cost dominates.
    subpaths: list[list[tuple[Point, Point, Point, Point]]] = [[]]  # a moveto or close starts the next one
    current = start = (0.0, 0.0)
    last_control: Point | None = None  # second control of the previous C/S, reflected by S
    for position, (command, numbers) in enumerate(_commands(d)):
        upper = command.upper()
        if position == 0 and upper != "M":
            raise DataError(f"SVG path must start with a moveto, got {command!r} in {d[:40]!r}")
        if upper == "Z":
            if numbers:
                raise DataError(f"SVG path command 'Z' takes no numbers, got {len(numbers)} in {d[:40]!r}")
            if current != start:
                subpaths[-1].append(_line(current, start))
            subpaths.append([])
            current, last_control = start, None
            continue
        arity = _ARITY[upper]
        if not numbers or len(numbers) % arity:
            raise DataError(
                f"SVG path command {command!r} takes {arity} numbers at a time, got {len(numbers)} in {d[:40]!r}"
            )
        for index in range(0, len(numbers), arity):
            v = numbers[index : index + arity]
            ox, oy = current if command != upper else (0.0, 0.0)  # relative commands offset from here
            control = None
            if upper == "M" and index == 0:
                subpaths.append([])
                current = start = (ox + v[0], oy + v[1])
                last_control = None
                continue
            if upper in "ML":
                end = (ox + v[0], oy + v[1])
                segment = _line(current, end)
            elif upper == "H":
                end = (ox + v[0], current[1])
                segment = _line(current, end)
            elif upper == "V":
                end = (current[0], oy + v[0])
                segment = _line(current, end)
            elif upper == "C":
                control, end = (ox + v[2], oy + v[3]), (ox + v[4], oy + v[5])
                segment = (current, (ox + v[0], oy + v[1]), control, end)
            else:  # "S": the first control mirrors the previous curve's second one
                control, end = (ox + v[0], oy + v[1]), (ox + v[2], oy + v[3])
                first = current if last_control is None else _mirror(last_control, current)
                segment = (current, first, control, end)
            subpaths[-1].append(segment)
            current, last_control = end, control
    return [np.asarray(segments, dtype=np.float64) for segments in subpaths if segments]


def flatten(segments: Segments, *, samples: PositiveInt = 8) -> Float64[np.ndarray, "m 2"]:
    """A polyline through ``samples`` evenly spaced parameter values per segment (shared ends counted once)."""
    t = np.linspace(0.0, 1.0, samples + 1)[:, None]
    bernstein = np.concatenate([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3], axis=1)
    points = np.einsum("tj,kjd->ktd", bernstein, segments)  # (k, samples + 1, 2)
    return np.concatenate([points[0, :1], points[:, 1:].reshape(-1, 2)])


def _commands(d: str) -> list[tuple[str, list[float]]]:
    """Split path data into (command letter, its numbers) pairs."""
    pieces = _COMMAND.split(d)  # [before the first command, letter, its numbers, letter, its numbers, ...]
    if _NUMBER.search(pieces[0]):
        raise DataError(f"SVG path must start with a moveto, got a number in {d[:40]!r}")
    commands = []
    for letter, text in zip([""] + pieces[1::2], pieces[::2], strict=True):
        stray = _NUMBER.sub(" ", text).strip(" \t\r\n,")
        if stray:
            raise DataError(f"unexpected character {stray[0]!r} in SVG path {d[:40]!r}")
        if letter:
            if letter.upper() not in _ARITY:
                raise DataError(f"unsupported SVG path command {letter!r} in {d[:40]!r}")
            commands.append((letter, [float(number) for number in _NUMBER.findall(text)]))
    return commands


def _line(start: Point, end: Point) -> tuple[Point, Point, Point, Point]:
    """A straight line as an exact cubic: controls at thirds."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = (x1 - x0) / 3.0, (y1 - y0) / 3.0
    return start, (x0 + dx, y0 + dy), (x0 + 2.0 * dx, y0 + 2.0 * dy), end


def _mirror(point: Point, about: Point) -> Point:
    return 2.0 * about[0] - point[0], 2.0 * about[1] - point[1]
