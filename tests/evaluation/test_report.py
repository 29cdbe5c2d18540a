"""``markdown_table``: one row per generator, the likelihood gain with its standard error, the extractor's own
held-out accuracy."""

from fsdiff.evaluation import markdown_table


def test_markdown_table_has_a_row_per_generator_and_the_likelihood(levels_eval):
    table = markdown_table(levels_eval)
    for row in (
        "| model (3-shot samples, guidance 1) |",
        "| model (3-shot samples, guidance 3) |",
        "| unconditional (null context) |",
        "| copy (the context images) |",
    ):
        assert row in table
    likelihood = levels_eval["likelihood"]
    assert f"{likelihood['gain']:.4f} ± {likelihood['gain_stderr']:.4f}" in table
    assert "4-way 3-shot accuracy on real held-out images" in table
    assert f"sampler: {levels_eval['method']}, " in table
