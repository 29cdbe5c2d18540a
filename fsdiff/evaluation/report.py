"""``markdown_table``: evaluation results (``EvalResult.to_json()``, or a whole ``eval.json``) as Markdown, for the
console and for reports."""


def markdown_table(results: dict) -> str:
    """The feature-space metrics of each generator (the model once per guidance scale) as a Markdown table, then
    the likelihood gain and the feature extractor's own held-out accuracy, with chance levels or standard errors."""
    likelihood, held_out = results["likelihood"], results["extractor_accuracy"]
    shots = results["shots"]
    header = (
        f"{results['classes']} held-out classes, {shots} shots, {results['generated_per_class']} samples and "
        f"{results['real_per_class']} real images per class; sampler: {results['method']}, "
        f"{results['sample_steps'] or 'every'} steps"
        + (f"; features: {results['extractor']['config']['type']}" if "extractor" in results else "")
    )
    rows = [
        (f"model ({shots}-shot samples, guidance {g:g})", m)
        for g, m in zip(results["guidance"], results["model"], strict=True)
    ]
    rows += [("unconditional (null context)", results["unconditional"]), ("copy (the context images)", results["copy"])]
    lines = [
        header,
        "",
        "| generator | Fréchet (pooled) ↓ | Fréchet (per class) ↓ | precision ↑ | recall ↑ | class accuracy ↑ | "
        "diversity |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, m in rows:
        lines.append(
            f"| {label} | {m['frechet']:.3f} | {m['frechet_per_class']:.3f} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {m['class_accuracy']:.3f} | {m['diversity']:.3f} |"
        )
    lines += [
        f"| chance | | | | | {results['chance_accuracy']:.3f} | |",
        "",
        "| bits/dim | conditional ↓ | unconditional | gain ↑ |",
        "|---|---:|---:|---:|",
        f"| {results['classes'] * results['likelihood_images_per_class']} held-out images | "
        f"{likelihood['conditional']:.4f} | {likelihood['unconditional']:.4f} | "
        f"{likelihood['gain']:.4f} ± {likelihood['gain_stderr']:.4f} |",
        "",
        f"Feature extractor {held_out['ways']}-way {held_out['shots']}-shot accuracy on real held-out images: "
        f"{held_out['accuracy']:.3f} ± {held_out['accuracy_stderr']:.3f} (chance {held_out['chance']:.3f}, "
        f"{held_out['episodes']} episodes).",
    ]
    return "\n".join(lines)
