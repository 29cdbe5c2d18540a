"""``FewShotDiffusion``: a set encoder, a conditioner and a denoiser trained with leave-one-out contexts, and
``build_model``, which assembles one from a config dict."""

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, Int, PRNGKeyArray

from fsdiff import registry
from fsdiff.conditioners import Conditioner
from fsdiff.config import fill_config
from fsdiff.contracts import check_images, checked
from fsdiff.debug import check_in_range
from fsdiff.denoisers import Denoiser
from fsdiff.diffusion import GaussianDiffusion
from fsdiff.encoders import Encoder
from fsdiff.errors import ConfigError, ContractError
from fsdiff.memory import activation_bytes, check_batch, check_fits, check_parameters, untraceable_is_too_large
from fsdiff.nn.precision import COMPUTE_DTYPES, precision_scope, set_compute_dtype
from fsdiff.typing import (
    Conditioning,
    ContextImages,
    DenoiserOutput,
    Images,
    ImageShape,
    NonNegativeNumber,
    PerSet,
    PositiveInt,
    SetEncoding,
    SetImages,
)

Metrics = dict[str, Float[Array, ""]]


class FewShotDiffusion(nnx.Module):
    """Few-shot diffusion model (FSDM, Giannone et al. 2022): ``encoder`` summarises a set of images of one class,
    ``conditioner`` turns that into a vector (adaLN/FiLM) or patch tokens (cross-attention), and ``denoiser``
    predicts the noise of a new image of the class under ``diffusion``.

    Unlike the research ports, the leave-one-out context is vectorized (no Python loop over elements, no zero-image
    padding) and delegated to ``Encoder.leave_one_out``, which shares work across the ``n`` subsets.

    The constructor is the schema of the ``model`` config section: an option annotated with a kind's base class
    (``Encoder``...) is a component config ``{"type": name, **options}``, ``diffusion`` the ``GaussianDiffusion``
    options. ``image_shape`` ``[h, w, c]`` and the training ``set_size`` ``n``; the ``training_context``
    (``leave_one_out``: each element conditioned on the rest of its set, as in FSDM; ``include_self``: on the whole
    set, an input-dependent context); the ``compute_dtype`` of every layer (``bfloat16``: mixed precision with
    float32 parameters, see ``fsdiff.nn.precision``). ``build_model`` builds one from a config and sets ``config``,
    the filled, JSON-safe config it was built from (None for a model composed by hand).
    """

    def __init__(
        self,
        *,
        image_shape: ImageShape,
        set_size: PositiveInt,
        encoder: Encoder,
        conditioner: Conditioner,
        denoiser: Denoiser,
        diffusion: GaussianDiffusion,
        training_context: Literal["leave_one_out", "include_self"] = "leave_one_out",
        compute_dtype: Literal["float32", "bfloat16"] = "float32",
    ):
        self.encoder = encoder
        self.conditioner = conditioner
        self.denoiser = denoiser
        self.diffusion = diffusion
        self.image_shape = tuple(image_shape)
        self.set_size = set_size
        self.training_context = training_context
        self.config: dict | None = None
        set_compute_dtype(self, COMPUTE_DTYPES[compute_dtype])

    @checked("FewShotDiffusion.loss")
    def loss(
        self, x_set: SetImages, key: PRNGKeyArray, kl_weight: NonNegativeNumber | Float[Array, ""] = 1.0
    ) -> tuple[Float[Array, ""], Metrics]:
        """The training loss on a batch of sets ``"b n h w c"`` in ``[-1, 1]``: every element is noised at its own
        timestep and denoised conditioned on the rest of its set (leave-one-out), or on its whole set with
        ``training_context: include_self``. ``loss = mean(mse + vb) + kl_weight * mean(kl)``.

        Metrics: ``loss``, ``mse``, ``vb`` (learned variance), ``kl``, ``context_norm`` (mean L2 norm of the
        conditioning the denoiser actually received; a collapse to 0 means the context is ignored).
        """
        self._check_sets("FewShotDiffusion.loss", x_set)
        b, n = x_set.shape[:2]
        t_key, noise_key, cond_key = jax.random.split(key, 3)
        t = jax.random.randint(t_key, (b, n), 0, self.diffusion.steps)
        x0 = x_set.reshape(b * n, *x_set.shape[2:])
        noise = jax.random.normal(noise_key, x0.shape, x0.dtype)
        x_t = self.diffusion.q_sample(x0, t.reshape(b * n), noise)
        cond = self.conditioner(self.encode_context(x_set, t), cond_key)
        out = self.denoiser(x_t, t.reshape(b * n), cond)
        terms = self.diffusion.training_losses(out, x0, x_t, t.reshape(b * n), noise)
        mse, vb, kl = terms["mse"].mean(), terms["vb"].mean(), cond.kl.mean()
        loss = mse + vb + kl_weight * kl
        return loss, {"loss": loss, "mse": mse, "vb": vb, "kl": kl, "context_norm": _norm(cond)}

    @checked("FewShotDiffusion.encode_context", check_result=False)  # its batch is b * n
    def encode_context(self, x_set: SetImages, t: Int[Array, "b n"] | None = None) -> SetEncoding:
        """The encodings that condition each element of ``x_set``: a ``SetEncoding`` of batch ``b * n``, set-major.

        Leave-one-out: element ``i`` sees the other ``n - 1`` elements of its own set only. With ``include_self``
        the whole set. Time-aware encoders receive the timestep ``t "b n"`` of the element being conditioned.
        """
        self._check_sets("FewShotDiffusion.encode_context", x_set)
        b, n = x_set.shape[:2]
        times = t if self.encoder.time_aware else None
        if self.training_context == "leave_one_out":
            return self.encoder.leave_one_out(x_set, times)
        if times is None:
            return jax.tree.map(lambda a: jnp.repeat(a, n, axis=0), self.encoder(x_set))
        return self.encoder(jnp.repeat(x_set, n, axis=0), None, times.reshape(b * n))

    @checked("FewShotDiffusion.sample")
    def sample(
        self,
        context: ContextImages | None,
        num: PositiveInt,
        key: PRNGKeyArray,
        *,
        sets: PositiveInt | None = None,
        steps: PositiveInt | None = 50,
        method: Literal["ddim", "ddpm"] = "ddim",
        eta: NonNegativeNumber = 0.0,
        guidance: NonNegativeNumber = 1.0,
    ) -> Float[Array, "b num h w c"]:
        """``num`` new images per set from ``k`` context images of each set ``"b k h w c"``; with
        ``context=None``, ``num`` unconditional images for each of ``sets`` sets (default 1), from the learned null
        conditioning (the conditioner's ``null``; models trained with ``null_prob > 0`` learn it).

        The context is encoded once (per step only for a time-aware encoder). ``steps`` respaces the sampler
        (``None``: every diffusion step); ``guidance > 1`` mixes the conditional and null predictions
        (classifier-free guidance, for models trained with the conditioner's ``null_prob``). ``sets`` is only for
        ``context=None``: with a context the batch is the context's.
        """
        h, w, c = self.image_shape
        if context is None and guidance != 1.0:
            raise ContractError(
                f"FewShotDiffusion.sample: argument 'guidance' needs a context to guide towards, got guidance="
                f"{guidance} with context=None (unconditional samples)"
            )
        if context is not None and sets is not None and sets != context.shape[0]:
            raise ContractError(
                f"FewShotDiffusion.sample: argument 'sets' is for context=None; with a context the batch is its "
                f"first axis ({context.shape[0]}), got sets={sets}"
            )
        if context is None:
            b = 1 if sets is None else sets
            null = _repeat(self.conditioner.null(self._encoding_template(b)), num)
            images = self.diffusion.sample(
                lambda x_t, t: self.denoiser(x_t, t, null), (b * num, h, w, c), key, steps=steps, method=method, eta=eta
            )
            return images.reshape(b, num, h, w, c)
        b = context.shape[0]
        encode = self._context_encoder("FewShotDiffusion.sample", context)
        fixed = None if self.encoder.time_aware else encode(None)

        def denoise_fn(x_t: Images, t: Int[Array, " bnum"]) -> DenoiserOutput:
            encoding = fixed if fixed is not None else encode(t.reshape(b, num)[:, 0])
            cond = _repeat(self.conditioner(encoding), num)
            if guidance == 1.0:
                return self.denoiser(x_t, t, cond)
            null = _repeat(self.conditioner.null(encoding), num)
            both = self.denoiser(
                jnp.concatenate([x_t, x_t]), jnp.concatenate([t, t]), jax.tree.map(_concat, cond, null)
            )
            conditional, unconditional = jnp.split(both, 2)
            guided = unconditional[..., :c] + guidance * (conditional[..., :c] - unconditional[..., :c])
            return jnp.concatenate([guided, conditional[..., c:]], axis=-1)

        images = self.diffusion.sample(denoise_fn, (b * num, h, w, c), key, steps=steps, method=method, eta=eta)
        return images.reshape(b, num, h, w, c)

    @checked("FewShotDiffusion.bpd")
    def bpd(self, x: Images, context: ContextImages | None, key: PRNGKeyArray) -> PerSet:
        """Negative log-likelihood bound in bits/dim of one image per set ``x "b h w c"`` (8-bit data in
        ``[-1, 1]``), conditioned on ``context "b k h w c"`` of its class, or on the learned null (unconditional)
        when ``context`` is None. Exact: every diffusion step is evaluated."""
        check_images("FewShotDiffusion.bpd", "x", x, self.image_shape)
        check_in_range("FewShotDiffusion.bpd", "argument 'x'", x)
        if context is None:
            template = self._encoding_template(x.shape[0])
            null = self.conditioner.null(template)
            return self.diffusion.nll_bits_per_dim(lambda x_t, t: self.denoiser(x_t, t, null), x, key)
        encode = self._context_encoder("FewShotDiffusion.bpd", context)
        fixed = None if self.encoder.time_aware else self.conditioner(encode(None))

        def denoise_fn(x_t: Images, t: Int[Array, " b"]) -> DenoiserOutput:
            return self.denoiser(x_t, t, fixed if fixed is not None else self.conditioner(encode(t)))

        return self.diffusion.nll_bits_per_dim(denoise_fn, x, key)

    def _check_sets(self, label: str, x_set: SetImages) -> None:
        """Trace-time checks of a training batch ``x_set`` the annotation cannot express."""
        check_images(label, "x_set", x_set, self.image_shape)
        n = x_set.shape[1]
        if self.training_context == "leave_one_out" and n < 2:
            raise ContractError(
                f"{label}: argument 'x_set' needs sets of n >= 2 for a leave-one-out context, got n={n}"
            )
        if self.encoder.fixed_set_size and n != self.set_size:
            raise ContractError(
                f"{label}: argument 'x_set' must hold set_size={self.set_size} images per set for this encoder "
                f"(fixed set size), got n={n}"
            )

    def _context_encoder(self, label: str, context: ContextImages):
        """``t -> SetEncoding`` of ``context``; a fixed-size encoder gets the context padded with masked slots."""
        check_images(label, "context", context, self.image_shape)
        b, k = context.shape[:2]
        if k < 1:
            raise ContractError(f"{label}: argument 'context' needs k >= 1 context images per set, got k=0")
        mask = None
        if self.encoder.fixed_set_size:
            if k > self.set_size:
                raise ContractError(
                    f"{label}: argument 'context' holds k={k} images per set, but the encoder takes at most "
                    f"set_size={self.set_size} context images per set"
                )
            pad = jnp.zeros((b, self.set_size - k, *context.shape[2:]), context.dtype)
            context = jnp.concatenate([context, pad], axis=1)
            mask = jnp.arange(self.set_size)[None, :].repeat(b, axis=0) < k
        return lambda t: self.encoder(context, mask, t)

    def _encoding_template(self, batch: int) -> SetEncoding:
        """Zeros shaped like the encoding of a batch of full sets (the null conditioning needs shapes only)."""
        shapes = jax.eval_shape(lambda: self.encoder(jnp.zeros((batch, self.set_size, *self.image_shape))))
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def build_model(config: object, seed: int = 0) -> FewShotDiffusion:
    """Validate ``config`` (the ``model`` section), build its components and check that they fit.

    All config problems are reported in one ``ConfigError`` before any JAX work. Widths flow between components by
    shape inference: the encoder's width is the conditioner's ``in_dim``, the conditioning width the denoiser's
    ``context_dim``. A conditioner that provides a form the denoiser does not accept, or components whose shapes
    don't fit on a dummy batch (``jax.eval_shape``, no FLOPs), raise ``ConfigError`` naming both components.
    ``build_model(model.config, seed)`` rebuilds the same model with the same parameters. ``compute_dtype``
    (passed as ``dtype`` to a component that declares it) becomes the compute dtype of every Flax layer; the
    parameters stay float32 (``fsdiff.nn.precision``). A model too large for the device is a ``ConfigError`` with
    its estimated bytes, from shapes alone (``fsdiff.memory``), before any allocation.
    """
    cfg = fill_config(config)
    parts = ("encoder", "conditioner", "denoiser")
    check_batch(cfg["set_size"], tuple(cfg["image_shape"]))
    with untraceable_is_too_large(), precision_scope(COMPUTE_DTYPES[cfg["compute_dtype"]]):
        abstract = nnx.eval_shape(lambda: _assemble(cfg, seed))
        activations = _fitting(lambda: activation_bytes(abstract), cfg, *parts)  # the loss traced: parts fit
    check_fits(abstract, activations)
    return _assemble(cfg, seed)


def _assemble(cfg: dict, seed: int) -> FewShotDiffusion:
    diffusion = GaussianDiffusion(**cfg["diffusion"])
    image_shape = tuple(cfg["image_shape"])
    n = cfg["set_size"]
    if n < 2 and cfg["training_context"] == "leave_one_out":
        raise ConfigError([("model.set_size", f"a leave-one-out context needs set_size >= 2, got {n}")])
    dtype = COMPUTE_DTYPES[cfg["compute_dtype"]]
    derived = {
        "image_shape": image_shape,
        "set_size": n,
        "dtype": dtype,
        "rngs": nnx.Rngs(params=seed, dropout=seed + 1),
    }
    encoder = registry.build("encoder", cfg["encoder"], derived, "model.encoder")
    check_parameters(encoder, "model.encoder")
    dummy = jax.ShapeDtypeStruct((1, n, *image_shape), jnp.float32)
    encoding = _fitting(lambda: nnx.eval_shape(lambda e, x: e(x), encoder, dummy), cfg, "encoder")
    derived["in_dim"] = encoding.pooled.shape[-1]
    conditioner = registry.build("conditioner", cfg["conditioner"], derived, "model.conditioner")
    check_parameters(conditioner, "model.conditioner")
    cond = _fitting(lambda: nnx.eval_shape(lambda c, e: c(e), conditioner, encoding), cfg, "encoder", "conditioner")
    derived["context_dim"] = _first_form(cond).shape[-1]
    derived["out_channels"] = image_shape[-1] * (2 if diffusion.learn_sigma else 1)
    denoiser = registry.build("denoiser", cfg["denoiser"], derived, "model.denoiser")
    check_parameters(denoiser, "model.denoiser")
    unaccepted = conditioner.provides - denoiser.accepts
    if unaccepted:
        accepted = ", ".join(sorted(denoiser.accepts)) or "nothing"
        raise ConfigError(
            [
                (
                    "model.conditioner",
                    f"conditioner '{cfg['conditioner']['type']}' provides {', '.join(sorted(unaccepted))}, but "
                    f"denoiser '{cfg['denoiser']['type']}' accepts only {accepted}",
                )
            ]
        )
    parts = {"encoder": encoder, "conditioner": conditioner, "denoiser": denoiser, "diffusion": diffusion}
    model = FewShotDiffusion(
        **parts,
        image_shape=image_shape,
        set_size=n,
        training_context=cfg["training_context"],
        compute_dtype=cfg["compute_dtype"],
    )
    model.config = cfg
    return model


def _fitting(check, cfg: dict, *parts: str):
    """Run a ``jax.eval_shape`` check; a shape or contract error becomes a ``ConfigError`` naming the components."""
    try:
        return check()
    except (ContractError, TypeError, ValueError) as exc:
        names = " -> ".join(f"{part} '{cfg[part]['type']}'" for part in parts)
        raise ConfigError([(f"model.{parts[-1]}", f"components do not fit ({names}): {exc}")]) from exc


def _repeat(cond: Conditioning, num: int) -> Conditioning:
    return jax.tree.map(lambda a: jnp.repeat(a, num, axis=0), cond)


def _concat(a: Array, b: Array) -> Array:
    return jnp.concatenate([a, b])


def _norm(cond: Conditioning) -> Float[Array, ""]:
    return jnp.linalg.norm(_first_form(cond), axis=-1).mean()


def _first_form(cond: Conditioning):
    """The conditioning's vector, else its tokens, else its spatial grid."""
    return next(form for form in (cond.vector, cond.tokens, cond.spatial) if form is not None)
