"""fsdiff's benchmark suite: ``python -m benchmarks [--quick] [--out results.json]`` (see ``__main__``)."""
