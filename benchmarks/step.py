"""The training step of each reference configuration: time, throughput, compile time, XLA's FLOPs, the roofline
ratio, memory, and the FSDM port's step as it was measured elsewhere (a label, never put in a ratio: only a run
that times both sides side by side can compare them).

The step is ``fsdiff.training.make_train_step`` jitted as the training loop jits it (``FlatStep``: on the state's
leaves, donated, each step's state fed to the next), on a fixed batch.
"""

from benchmarks import configs
from benchmarks.common import Settings, flops, format_table, memory, page_faults, ratio, time_call


def run(settings: Settings, machine: dict) -> list[dict]:
    refs = configs.reference_configs(settings.quick)
    if settings.quick:
        refs = [configs.find("A", quick=True)]
    return [measure(ref, settings, machine["matmul_gflops"]) for ref in refs]


def measure(ref: configs.Reference, settings: Settings, matmul_gflops: float) -> dict:
    """One configuration's row."""
    step, call, compile_s = configs.training_step(ref)
    faults_before = page_faults()
    timing = time_call(call, settings)
    faults = (page_faults() - faults_before) / (settings.warmup + settings.repeats)
    step_flops = flops(step)
    images = ref.batch_sets * ref.model["set_size"]
    achieved = step_flops / (timing.median_ms / 1e3) / 1e9 if step_flops else None
    return {
        "config": ref.name,
        "description": ref.description,
        "encoder_head_dim": ref.model["encoder"].get("head_dim"),
        "compile_s": compile_s,
        **{f"step_{k}": v for k, v in timing.as_dict().items()},
        "images_per_s": images / (timing.median_ms / 1e3),
        "gflop_per_step": step_flops / 1e9 if step_flops else None,
        "achieved_gflops": achieved,
        "roofline_ratio": ratio(achieved, matmul_gflops) if achieved else None,
        "page_faults_per_step": faults,
        **memory(step),
        "port_ms_measured_elsewhere": ref.port_ms,
    }


def table(rows: list[dict]) -> str:
    return format_table(
        "Training step (median over repeats; port ms measured elsewhere, not on this machine)",
        rows,
        [
            ("config", "cfg"),
            ("step_median_ms", "median ms"),
            ("step_min_ms", "min ms"),
            ("images_per_s", "img/s"),
            ("compile_s", "compile s"),
            ("gflop_per_step", "GFLOP"),
            ("achieved_gflops", "GFLOP/s"),
            ("roofline_ratio", "roofline"),
            ("temp_mib", "temp MiB"),
            ("page_faults_per_step", "faults/step"),
            ("port_ms_measured_elsewhere", "port ms*"),
        ],
    )
