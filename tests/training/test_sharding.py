"""Data parallelism on 8 forced CPU devices, in a subprocess (the device count is fixed at JAX start-up)."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from flax import nnx
    sys.path.insert(0, ".")
    from fsdiff.training import DataParallel, fill_run_config, make_optimizer, make_train_step, new_training
    from tests.runs import tiny_config

    cfg = fill_run_config(tiny_config())
    model, state, options = new_training(cfg)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    step = jax.jit(make_train_step(graphdef, rest, make_optimizer(options, params), options))
    batch = np.random.default_rng(0).uniform(-1, 1, (8, 3, 8, 8, 1)).astype(np.float32)
    results, shards = {}, {}
    for name, devices in (("one", jax.devices()[:1]), ("eight", jax.devices())):
        parallel = DataParallel(devices)
        sharded = parallel.batch(batch)
        shards[name] = sorted({s.data.shape[0] for s in sharded.addressable_shards})
        new_state, metrics = step(parallel.replicate(state), sharded, jax.random.key(0))
        results[name] = [np.asarray(x) for x in jax.tree.leaves(new_state.params)] + [np.asarray(metrics["loss"])]
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(results["one"], results["eight"]))
    print(json.dumps({"devices": jax.device_count(), "shards": shards, "max_diff": diff}))
    """
)


def test_eight_device_step_equals_single_device_step_and_splits_the_batch(cli_env):
    env = {**cli_env, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8
    assert report["shards"] == {"one": [8], "eight": [1]}, "each of 8 devices holds b/8 = 1 set"
    assert report["max_diff"] < 1e-5
