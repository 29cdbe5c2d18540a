"""Few-shot evaluation on held-out classes without downloaded weights: likelihood gain from the context, and
Fréchet distance, precision/recall, class accuracy and diversity in the space of a feature extractor fitted on the
training classes. Pure: ``evaluate(model, held_out, extractor) -> EvalResult``; ``fsdiff.runs.evaluate_run`` does
a run folder's IO around it."""

from fsdiff.evaluation.baselines import GENERATORS, copy_samples, few_shot_samples, unconditional_samples
from fsdiff.evaluation.diversity import diversity
from fsdiff.evaluation.episodes import EpisodeShape, FitOptions, episode_shape, few_shot_accuracy, fit_extractor
from fsdiff.evaluation.evaluate import EvalImages, EvalResult, GeneratorMetrics, evaluate
from fsdiff.evaluation.features import FeatureExtractor, Features, build_extractor, embed
from fsdiff.evaluation.frechet import frechet_distance, gaussian_moments
from fsdiff.evaluation.likelihood import LikelihoodGain, likelihood_gain
from fsdiff.evaluation.manifold import knn_radii, pairwise_distances, precision_recall
from fsdiff.evaluation.protonet import ProtoNet
from fsdiff.evaluation.prototypes import (
    class_accuracy,
    nearest_prototype,
    prototypes,
    prototypical_loss,
    squared_distances,
)
from fsdiff.evaluation.report import markdown_table

__all__ = [
    "GENERATORS",
    "EpisodeShape",
    "EvalImages",
    "EvalResult",
    "FeatureExtractor",
    "Features",
    "FitOptions",
    "GeneratorMetrics",
    "LikelihoodGain",
    "ProtoNet",
    "build_extractor",
    "class_accuracy",
    "copy_samples",
    "diversity",
    "embed",
    "episode_shape",
    "evaluate",
    "few_shot_accuracy",
    "few_shot_samples",
    "fit_extractor",
    "frechet_distance",
    "gaussian_moments",
    "knn_radii",
    "likelihood_gain",
    "markdown_table",
    "nearest_prototype",
    "pairwise_distances",
    "precision_recall",
    "prototypes",
    "prototypical_loss",
    "squared_distances",
    "unconditional_samples",
]
