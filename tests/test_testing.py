"""The conformance kit (``fsdiff.testing``): every registered component passes every check that applies to it,
and every check catches a toy that violates its property."""

import pytest

import fsdiff
from fsdiff.testing import ComponentCheckError, check_component, check_names, parametrize_with_checks, run_check
from fsdiff.testing.subject import KINDS
from tests import kit_toys as toys

COMPONENTS = [
    ("encoder", "vit", {"width": 16, "depth": 1, "heads": 2, "patch": 4}),
    (
        "encoder",
        "vit",
        {"width": 16, "depth": 2, "heads": 2, "patch": 4, "pool": "none", "time_token": True, "set_layers": 1},
    ),
    ("encoder", "set_vit", {"width": 16, "depth": 1, "heads": 2, "patch": 4}),
    ("encoder", "set_vit", {"width": 16, "depth": 1, "heads": 2, "patch": 4, "tokenizer": "per_sample"}),
    ("encoder", "cnn", {"width": 16, "channels": 8, "depth": 1, "groups": 4, "heads": 2}),
    ("conditioner", "mean", {}),
    ("conditioner", "mean", {"posterior": "discrete", "codebook_size": 8, "null_prob": 0.5}),
    ("conditioner", "lag", {"posterior": "gaussian", "width": 8}),
    ("conditioner", "spatial", {"posterior": "gaussian", "width": 8, "null_prob": 0.5}),
    ("denoiser", "dit", {"width": 16, "depth": 1, "heads": 2, "patch": 2}),
    (
        "denoiser",
        "unet",
        {
            "width": 8,
            "channel_mult": [1, 2],
            "num_res_blocks": 1,
            "attention_resolutions": [2],
            "groups": 4,
        },
    ),
]
"""Every built-in component with tiny options (and the variants whose code paths differ most)."""

PRESETS = {("denoiser", "dit_s"), ("denoiser", "dit_b")}
"""Named sizes of ``dit``, which is checked in full above: their widths are fixed (tens of millions of parameters),
so they get the checks of their config schema only."""

PRESET_CHECKS = ("constructor_schema", "bad_options")


@parametrize_with_checks(COMPONENTS)
def test_builtin_component(check):
    check()


def test_every_registered_component_is_checked():
    registered = {(kind, name) for kind in KINDS for name in fsdiff.list_components(kind)}
    checked = {(kind, name) for kind, name, _ in COMPONENTS} | PRESETS
    assert registered == checked, "add new components to COMPONENTS (tiny options) or to PRESETS"


@pytest.mark.parametrize("check", PRESET_CHECKS)
@pytest.mark.parametrize(("kind", "name"), sorted(PRESETS))
def test_presets_pass_the_schema_checks(kind, name, check):
    assert run_check(kind, name, check) == "passed"


BROKEN = [
    ("encoder", toys.PositionalOptionEncoder, "constructor_schema", "'width' is not keyword-only"),
    ("encoder", toys.BadDefaultEncoder, "config_round_trip", "model.encoder.width: expected int > 0, got int 0"),
    ("encoder", toys.LaxOptionEncoder, "bad_options", "'scale'"),
    ("encoder", toys.SquareOnlyEncoder, "shape_contract", "cannot reshape"),
    ("denoiser", toys.WrongChannelsDenoiser, "shape_contract", "out_channels=2"),
    ("encoder", toys.TracerSensitiveEncoder, "jit_consistency", "jit vs eager"),
    ("encoder", toys.NaNEncoder, "finite", "NaN or infinity"),
    ("encoder", toys.BatchMixingEncoder, "batch_consistency", "other items of the batch"),
    ("encoder", toys.NoisyEncoder, "determinism", "a second identical call"),
    ("conditioner", toys.KeylessRandomConditioner, "determinism", "a second identical call"),
    ("encoder", toys.CountingEncoder, "no_retracing", "traced 3 times"),
    ("encoder", toys.ConstantEncoder, "input_dependence", "does not change when the input changes"),
    ("encoder", toys.OrderedEncoder, "permutation_invariance", "reversed set"),
    ("encoder", toys.MaskIgnoringEncoder, "masked_elements", "masked slot"),
    ("encoder", toys.TimeBlindEncoder, "time_awareness", "declares time_aware"),
    ("encoder", toys.SelfIncludingEncoder, "leave_one_out", "leave-one-out context of element 0"),
    ("conditioner", toys.FixedKeyConditioner, "key_usage", "two keys give the same conditioning"),
    ("conditioner", toys.SetDependentNullConditioner, "null_conditioning", "null conditioning of another set"),
    ("denoiser", toys.TimeBlindDenoiser, "time_dependence", "does not change with the timestep"),
    ("denoiser", toys.TokenBlindDenoiser, "conditioning_dependence", "ignores cond.tokens"),
]
"""A toy per check that violates exactly the property the check protects, and what the failure must say."""


@pytest.mark.parametrize(
    ("kind", "toy", "check", "says"), BROKEN, ids=[f"{check}-{toy.__name__}" for _, toy, check, _ in BROKEN]
)
def test_each_check_catches_a_component_that_violates_it(kind, toy, check, says):
    options = {"variational": True} if toy is toys.FixedKeyConditioner else {}
    with pytest.raises(ComponentCheckError) as info:
        run_check(kind, toy, check, **options)
    assert info.value.failures.keys() == {check}
    assert f"{kind}:{toy.__name__} failed 1 check:\n  {check}: " in str(info.value)
    assert says in str(info.value)


def test_every_check_has_a_broken_toy():
    assert {check for _, _, check, _ in BROKEN} == set(check_names())


@pytest.mark.parametrize(
    ("kind", "toy", "options"),
    [
        ("encoder", toys.GoodEncoder, {}),
        ("conditioner", toys.GoodConditioner, {"variational": True}),
        ("denoiser", toys.GoodDenoiser, {}),
    ],
)
def test_good_toys_pass_every_check(kind, toy, options):
    outcomes = check_component(kind, toy, **options)
    assert list(outcomes) == check_names(kind)
    assert set(outcomes.values()) == {"passed"}


def test_dependence_checks_randomise_zero_initialised_gates_first():
    """A fresh ZeroGatedDenoiser ignores t by design (its gate starts at zero); the check still passes, and the
    broken TimeBlindDenoiser above still fails: the check tests the wiring, not the initialization."""
    assert run_check("denoiser", toys.ZeroGatedDenoiser, "time_dependence") == "passed"


def test_checks_that_do_not_apply_say_why():
    assert run_check("conditioner", toys.GoodConditioner, "key_usage").startswith("not applicable: the KL is zero")


def test_all_failures_are_reported_at_once_by_name():
    with pytest.raises(ComponentCheckError) as info:
        check_component("encoder", toys.OrderedMaskIgnoringEncoder)
    assert set(info.value.failures) == {"permutation_invariance", "masked_elements"}
    assert str(info.value).startswith("encoder:OrderedMaskIgnoringEncoder failed 2 checks:\n  permutation_invariance:")
    assert isinstance(info.value, AssertionError) and isinstance(info.value, fsdiff.FsdiffError)


def test_expected_failures_waive_a_check_but_not_a_passing_one():
    outcomes = check_component("encoder", toys.MaskIgnoringEncoder, expected_failures={"masked_elements": "wip"})
    assert outcomes["masked_elements"] == "expected failure: wip"
    with pytest.raises(ComponentCheckError, match="masked_elements: waived .*remove the waiver"):
        check_component("encoder", toys.GoodEncoder, expected_failures={"masked_elements": "stale"})
    with pytest.raises(ValueError, match="unknown check 'masked' for a encoder; the checks are: constructor_schema"):
        check_component("encoder", toys.GoodEncoder, expected_failures={"masked": "typo"})


def test_parametrize_with_checks_names_cases_and_marks_waivers_xfail():
    mark = parametrize_with_checks(
        [
            ("encoder", "vit", {"width": 16}),
            ("encoder", "vit", {"width": 16, "pool": "cls", "expected_failures": {"finite": "known NaN"}}),
            ("denoiser", toys.GoodDenoiser),
        ]
    )
    argnames, params = mark.args
    ids = [param.id for param in params]
    assert argnames == "check"
    assert ids[:2] == ["encoder:vit-constructor_schema", "encoder:vit-config_round_trip"]
    assert "encoder:vit[pool='cls']-permutation_invariance" in ids
    assert "denoiser:GoodDenoiser-conditioning_dependence" in ids
    assert len(ids) == 2 * len(check_names("encoder")) + len(check_names("denoiser"))
    (waived,) = [param for param in params if param.marks]
    (xfail,) = waived.marks
    assert waived.id == "encoder:vit[pool='cls']-finite"
    assert xfail.name == "xfail"
    assert xfail.kwargs == {"reason": "known NaN", "raises": ComponentCheckError, "strict": True}


def test_a_check_that_does_not_apply_skips_in_pytest():
    mark = parametrize_with_checks([("conditioner", toys.GoodConditioner)])
    (case,) = [param.values[0] for param in mark.args[1] if param.id.endswith("-key_usage")]
    with pytest.raises(pytest.skip.Exception, match="the KL is zero"):
        case()


def test_an_unregistered_class_leaves_no_trace():
    call = toys.GoodEncoder.__dict__["__call__"]
    run_check("encoder", toys.GoodEncoder, "constructor_schema")
    assert toys.GoodEncoder.__dict__["__call__"] is call, "the class is never edited"
    assert "GoodEncoder" not in fsdiff.list_components("encoder")


def test_bad_kit_arguments_are_refused():
    with pytest.raises(ValueError, match="checks the kinds encoder, conditioner, denoiser; got 'widget'"):
        check_component("widget", "x")
    with pytest.raises(fsdiff.ConfigError, match="model.encoder.widht: unknown option; did you mean 'width'"):
        check_component("encoder", "vit", widht=16)
    with pytest.raises(ValueError, match="pass no 'rngs'"):
        check_component("encoder", "vit", rngs=None)
