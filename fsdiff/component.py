"""``Contracted``: the root of the component kinds, where a class's shape contract is attached once."""

from flax import nnx

from fsdiff.contracts import contract, has_array_annotations
from fsdiff.registry import label_of


class Contracted(nnx.Module):
    """Root of ``Encoder``, ``Conditioner``, ``Denoiser`` and ``FeatureExtractor``: the annotated ``__call__`` of
    every subclass is wrapped with its shape contract here, once, when the class is defined, so a class is the same
    object registered or not. Errors name the instance (``registry.label_of``). A ``__call__`` without array
    annotations is left as it is; the registry refuses such a class."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is not None and has_array_annotations(call):
            cls.__call__ = contract(call, label_of)
