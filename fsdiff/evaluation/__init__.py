"""Few-shot evaluation on held-out classes without downloaded weights: likelihood gain from the context, and
Fréchet distance, precision/recall and class accuracy in the space of a feature extractor fitted on the training
classes."""

from fsdiff.evaluation.evaluate import EVAL_FIELDS, EVAL_FILE, GRID_DIR, evaluate_run
from fsdiff.evaluation.features import FeatureExtractor, Features, build_extractor, embed
from fsdiff.evaluation.fit import EpisodeShape, FitOptions, episode_shape, few_shot_accuracy, fit_extractor
from fsdiff.evaluation.fitted import FEATURES_DIR, fitted_extractor
from fsdiff.evaluation.frechet import frechet_distance, gaussian_moments
from fsdiff.evaluation.generators import GENERATORS, copy_samples, few_shot_samples, unconditional_samples
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
    "EVAL_FIELDS",
    "EVAL_FILE",
    "FEATURES_DIR",
    "GENERATORS",
    "GRID_DIR",
    "EpisodeShape",
    "FeatureExtractor",
    "Features",
    "FitOptions",
    "LikelihoodGain",
    "ProtoNet",
    "build_extractor",
    "class_accuracy",
    "copy_samples",
    "embed",
    "episode_shape",
    "evaluate_run",
    "few_shot_accuracy",
    "few_shot_samples",
    "fit_extractor",
    "fitted_extractor",
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
