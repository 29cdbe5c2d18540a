"""``markdown_table``: the results of ``evaluate_run`` as Markdown, for the console and for reports."""

from fsdiff.evaluation.generators import GENERATORS

_ROW_NAMES = {
    "model": "model ({shots}-shot samples)",
    "unconditional": "unconditional (null context)",
    "copy": "copy (the context images)",
}


def markdown_table(results: dict) -> str:
    """The feature-space metrics of each generator as a Markdown table, then the likelihood gain and the feature
    extractor's own held-out accuracy, each with its chance level or standard error."""
    sizes, likelihood, extractor = results["sizes"], results["likelihood"], results["extractor"]
    held_out = extractor["held_out"]
    header = (
        f"{sizes['classes']} held-out classes, {sizes['context_per_class']} shots, {sizes['generated_per_class']} "
        f"samples and {sizes['real_per_class']} real images per class; features: {extractor['config']['type']}"
    )
    lines = [
        header,
        "",
        "| generator | Fréchet (pooled) ↓ | Fréchet (per class) ↓ | precision ↑ | recall ↑ | class accuracy ↑ |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in GENERATORS:
        m = results["generators"][name]
        label = _ROW_NAMES[name].format(shots=sizes["context_per_class"])
        lines.append(
            f"| {label} | {m['frechet']:.3f} | {m['frechet_per_class']:.3f} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['class_accuracy']:.3f} |"
        )
    lines += [
        f"| chance | | | | | {results['chance_accuracy']:.3f} |",
        "",
        "| bits/dim | conditional ↓ | unconditional | gain ↑ |",
        "|---|---:|---:|---:|",
        f"| {sizes['classes'] * sizes['likelihood_images_per_class']} held-out images | "
        f"{likelihood['conditional']:.4f} | {likelihood['unconditional']:.4f} | "
        f"{likelihood['gain']:.4f} ± {likelihood['gain_stderr']:.4f} |",
        "",
        f"Feature extractor {held_out['ways']}-way {held_out['shots']}-shot accuracy on real held-out images: "
        f"{held_out['accuracy']:.3f} ± {held_out['accuracy_stderr']:.3f} (chance {held_out['chance']:.3f}, "
        f"{held_out['episodes']} episodes).",
    ]
    return "\n".join(lines)
