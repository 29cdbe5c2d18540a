"""The shape contract under ``jax.eval_shape`` (no FLOPs) for shapes drawn by hypothesis.

A drawn shape is *claimed* when the constructor accepts it: a ``ConfigError`` from the constructor (a patch size
that does not divide the image, say) takes the shape out of the component's claim. For every claimed shape the
call must return what the kind promises, with the contract of the registered ``__call__`` checked on the way.
"""

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from fsdiff.errors import ConfigError
from fsdiff.testing.failures import CheckFailure
from fsdiff.testing.inputs import BATCH
from fsdiff.testing.subject import Subject
from fsdiff.typing import Conditioning, SetEncoding

EXAMPLES = 5
"""Shapes drawn per component (the kit's own default shape is tried first)."""

SIZES = (8, 4, 16, 6, 12, 5)
CHANNELS = (1, 3, 2)
WIDTHS = (16, 8, 4, 12, 32)


def shape_contract(subject: Subject) -> None:
    """For drawn batch sizes, image shapes, set sizes, widths, token counts and masks, the output has the shapes
    the kind promises: an encoder ``tokens "b p d"`` and ``pooled "b d"`` (and ``leave_one_out`` the shapes of
    encoding ``b * n`` subsets); a conditioner exactly the forms it ``provides``, ``kl "b"``, and a ``null`` shaped
    alike; a denoiser ``"b h w out_channels"``."""
    draw_case = {"encoder": _encoder_case, "conditioner": _conditioner_case, "denoiser": _denoiser_case}[subject.kind]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        draw_case(subject, data)

    try:
        run()
    except Unsatisfiable as exc:
        raise CheckFailure(f"the constructor refuses (ConfigError) every drawn shape, even {subject.derived}") from exc


def _claimed(subject: Subject, **derived: object) -> nnx.Module:
    """The abstract module for ``derived`` arguments; a ``ConfigError`` rejects the drawn shape."""
    try:
        return nnx.eval_shape(lambda: subject.build(**derived))
    except ConfigError:
        reject()


def _image_shape(subject: Subject, data: st.DataObject) -> tuple[int, int, int]:
    h, w, c = subject.derived["image_shape"]
    return _choice(data, h, SIZES), _choice(data, w, SIZES), _choice(data, c, CHANNELS)


def _choice(data: st.DataObject, first: object, others: tuple) -> object:
    """One of ``first`` (the kit's default, drawn first by hypothesis) and ``others``."""
    return data.draw(st.sampled_from(list(dict.fromkeys((first, *others)))))


def _encoder_case(subject: Subject, data: st.DataObject) -> None:
    image_shape = _image_shape(subject, data)
    set_size = _choice(data, subject.derived["set_size"], (1, 2, 4))
    module = _claimed(subject, image_shape=image_shape, set_size=set_size)
    b = _choice(data, BATCH, (1, 3))
    n = set_size if module.fixed_set_size else _choice(data, set_size, (1, 2, 4))
    masked = data.draw(st.booleans())
    case = f"image_shape={image_shape}, set_size={set_size}, b={b}, n={n}, mask={masked}"
    x = jax.ShapeDtypeStruct((b, n, *image_shape), jnp.float32)
    mask = jax.ShapeDtypeStruct((b, n), jnp.bool_) if masked else None
    t = jax.ShapeDtypeStruct((b,), jnp.int32) if module.time_aware else None
    out = _abstract(case, _call, module, x, mask, t)
    _expect(case, isinstance(out, SetEncoding), f"returned {type(out).__name__}, not a SetEncoding")
    d = out.pooled.shape[-1]
    _expect(case, out.pooled.shape == (b, d), f"pooled is {out.pooled.shape}, expected (b, d) = ({b}, {d})")
    _expect(case, out.tokens.shape[::2] == (b, d), f"tokens are {out.tokens.shape}, expected (b, p, d={d})")
    if n < 2:
        return
    times = jax.ShapeDtypeStruct((b, n), jnp.int32) if module.time_aware else None
    contexts = _abstract(case + ", leave_one_out", _leave_one_out, module, x, times)
    subsets = jax.ShapeDtypeStruct((b * n, n if module.fixed_set_size else n - 1, *image_shape), jnp.float32)
    subset_mask = jax.ShapeDtypeStruct((b * n, n), jnp.bool_) if module.fixed_set_size else None
    subset_t = jax.ShapeDtypeStruct((b * n,), jnp.int32) if module.time_aware else None
    expected = _abstract(case, _call, module, subsets, subset_mask, subset_t)
    _expect(
        case,
        _shapes(contexts) == _shapes(expected),
        f"leave_one_out gave {_shapes(contexts)}, expected the shapes of encoding b * n subsets {_shapes(expected)}",
    )


def _conditioner_case(subject: Subject, data: st.DataObject) -> None:
    in_dim = _choice(data, subject.derived["in_dim"], WIDTHS)
    module = _claimed(subject, in_dim=in_dim)
    b = _choice(data, BATCH, (1, 3))
    p = data.draw(st.sampled_from((1, 4, 9)))  # square, so that a spatial conditioner can tile a grid
    keyed = data.draw(st.booleans())
    case = f"in_dim={in_dim}, b={b}, p={p}, key={keyed}"
    encoding = SetEncoding(
        tokens=jax.ShapeDtypeStruct((b, p, in_dim), jnp.float32), pooled=jax.ShapeDtypeStruct((b, in_dim), jnp.float32)
    )
    key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype) if keyed else None
    cond = _abstract(case, _call, module, encoding, key)
    null = _abstract(case + ", null", _null, module, encoding)
    for what, value in (("the conditioning", cond), ("the null conditioning", null)):
        _expect(case, isinstance(value, Conditioning), f"{what} is a {type(value).__name__}, not a Conditioning")
        _expect(
            case,
            value.provides == module.provides,
            f"{what} fills {sorted(value.provides)}, the conditioner provides {sorted(module.provides)}",
        )
        _expect(case, value.kl.shape == (b,), f"{what}'s kl is {value.kl.shape}, expected (b,) = ({b},)")
    _expect(case, _shapes(null) == _shapes(cond), f"null is shaped {_shapes(null)}, the conditioning {_shapes(cond)}")
    widths = {leaf.shape[-1] for leaf in (cond.vector, cond.tokens, cond.spatial) if leaf is not None}
    _expect(case, len(widths) <= 1, f"the conditioning forms have different widths {sorted(widths)}")


def _denoiser_case(subject: Subject, data: st.DataObject) -> None:
    image_shape = _image_shape(subject, data)
    context_dim = _choice(data, subject.derived["context_dim"], WIDTHS)
    c = image_shape[-1]
    out_channels = data.draw(st.sampled_from((c, 2 * c)))
    module = _claimed(subject, image_shape=image_shape, context_dim=context_dim, out_channels=out_channels)
    accepted = sorted(module.accepts)
    subsets = [frozenset(s) for r in range(len(accepted), 0, -1) for s in itertools.combinations(accepted, r)]
    forms = data.draw(st.sampled_from(subsets or [frozenset()]))
    b = _choice(data, BATCH, (1, 3))
    p = data.draw(st.integers(1, 5))
    case = f"image_shape={image_shape}, context_dim={context_dim}, out_channels={out_channels}, forms={sorted(forms)}"
    case += f", b={b}, p={p}"
    cond = Conditioning(
        vector=jax.ShapeDtypeStruct((b, context_dim), jnp.float32) if "vector" in forms else None,
        tokens=jax.ShapeDtypeStruct((b, p, context_dim), jnp.float32) if "tokens" in forms else None,
        kl=jax.ShapeDtypeStruct((b,), jnp.float32),
        spatial=jax.ShapeDtypeStruct((b, p, p, context_dim), jnp.float32) if "spatial" in forms else None,
    )
    x = jax.ShapeDtypeStruct((b, *image_shape), jnp.float32)
    t = jax.ShapeDtypeStruct((b,), jnp.int32)
    out = _abstract(case, _call, module, x, t, cond)
    expected = (b, *image_shape[:2], out_channels)
    shape = getattr(out, "shape", None)
    _expect(case, shape == expected, f"output is {shape or type(out).__name__}, expected {expected}")


def _abstract(case: str, fn: Callable, module: nnx.Module, *args: object) -> object:
    """``fn(module, *args)`` under ``nnx.eval_shape``; any error fails the check, naming the drawn case."""
    try:
        return nnx.eval_shape(fn, module, *args)
    except Exception as exc:  # noqa: BLE001 - every failure of a claimed shape is the component's
        raise CheckFailure(f"{case}: {type(exc).__name__}: {exc}") from exc


def _call(module: nnx.Module, *args: object) -> object:
    return module(*args)


def _leave_one_out(module: nnx.Module, x: jax.Array, t: jax.Array | None) -> SetEncoding:
    return module.leave_one_out(x, t)


def _null(module: nnx.Module, encoding: SetEncoding) -> Conditioning:
    return module.null(encoding)


def _expect(case: str, condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailure(f"{case}: {message}")


def _shapes(tree: object) -> dict[str, tuple[int, ...]]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): tuple(leaf.shape) for path, leaf in leaves}
