"""The Python module against closed forms and against the library's own guarantees.

Run by ctest (python.bindings) with PYTHONPATH set to the build tree's python/ folder.
"""
import math

import numpy as np
import pytest

import causalqwen as cq

DOMAINS = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "domains"


def test_cauchy_kl_matches_the_closed_form():
    rng = np.random.default_rng(0)
    lp, lq = rng.normal(size=50), rng.normal(size=50)
    sp, sq = rng.uniform(0.1, 3, 50), rng.uniform(0.1, 3, 50)
    expected = np.log(((sp + sq) ** 2 + (lp - lq) ** 2) / (4 * sp * sq))
    np.testing.assert_allclose(cq.cauchy_kl(lp, sp, lq, sq), expected, rtol=1e-12)
    assert cq.cauchy_kl(1.0, 2.0, 1.0, 2.0) == 0.0


def test_cdf_pdf_and_interval():
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(cq.cauchy_cdf(x, 1.0, 2.0), 0.5 + np.arctan((x - 1) / 2) / math.pi, rtol=1e-12)
    np.testing.assert_allclose(cq.cauchy_pdf(x, 1.0, 2.0), 1 / (math.pi * 2 * (1 + ((x - 1) / 2) ** 2)), rtol=1e-12)
    low, high = cq.central_interval(3.0, 0.5, 0.9)
    assert cq.cauchy_cdf(high, 3.0, 0.5) - cq.cauchy_cdf(low, 3.0, 0.5) == pytest.approx(0.9, abs=1e-12)


def test_bad_input_is_a_value_error_naming_the_field():
    with pytest.raises(ValueError, match="scale"):
        cq.cauchy_pdf(0.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="level"):
        cq.central_interval(0.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="no_such_model"):
        cq.CausalLM("/no_such_model")


@pytest.fixture(scope="module")
def lm():
    return cq.CausalLM(threads=2)


def test_encode_decode_round_trip(lm):
    ids, values = lm.encode("Iron (Fe) has atomic number 26.")
    assert ids.dtype == np.int32 and values.dtype == np.float64 and ids.shape == values.shape
    assert (ids == lm.num_token).sum() == 1 and values[ids == lm.num_token][0] == 26.0
    assert lm.decode(ids, values) == "Iron (Fe) has atomic number 26."


def test_hidden_states_and_decisions(lm):
    hidden = lm.hidden_states("Abacus, n. A frame with beads")
    ids, _ = lm.encode("Abacus, n. A frame with beads")
    assert hidden.dtype == np.float32 and hidden.shape == (len(ids), lm.hidden_size)
    p = lm.predict(hidden)
    assert p["classes"].shape == (len(ids),)
    assert np.all((p["confidence"] > 0) & (p["confidence"] <= 1)) and np.all(p["value_scale"] > 0)
    with pytest.raises(ValueError, match="columns"):
        lm.predict(hidden[:, :5])


def test_exact_precision_moves_hidden_states_by_bfloat16_rounding_only(lm):
    # The embedded model is bfloat16: by default its prompts multiply bfloat16 activations.
    text = "Abacus, n. A frame with beads"
    fast, exact = lm.hidden_states(text), cq.CausalLM(threads=2, exact=True).hidden_states(text)
    assert np.abs(fast - exact).max() <= 1e-2 * np.abs(exact).max()  # measured: 8e-4


def test_tokenizer_round_trip_and_vocabulary(lm):
    tok = cq.Tokenizer(cq.default_model)
    ids = tok.encode("Abacus, n. A frame with beads")
    assert ids.dtype == np.int32 and len(ids) > 3
    assert tok.decode(ids) == "Abacus, n. A frame with beads"
    assert tok.token_id(tok.token(int(ids[0]))) == ids[0] and tok.token_id("no such token ~~") is None
    assert "<|endoftext|>" in tok.added_tokens and tok.id_limit == lm.tokenizer.id_limit
    assert lm.num_token == tok.id_limit  # <NUM> is the model's class past the text vocabulary
    with pytest.raises(ValueError, match="UTF-8"):
        tok.encode(b"ab\xff")  # bytes reach the tokenizer as they are
    with pytest.raises(ValueError):
        tok.token(10**8)


def test_head_in_double_decides_as_the_model(lm):
    head = cq.CausalHead()
    hidden = lm.hidden_states("Sodium (Na) has atomic number")
    ours, model = head.predict(hidden.astype(np.float64)), lm.predict(hidden)
    assert np.array_equal(ours["classes"], model["classes"])
    np.testing.assert_allclose(ours["confidence"], model["confidence"], rtol=1e-4)
    f = head.forward(hidden.astype(np.float64))
    best = f["probabilities"][np.arange(len(hidden)), ours["classes"]]
    np.testing.assert_allclose(best, ours["confidence"], rtol=1e-12)
    assert f["class_loc"].shape == (len(hidden), head.classes) and np.all(f["class_scale"] > 0)


def test_head_gradient_matches_finite_differences():
    head = cq.CausalHead.random(hidden=5, latent=3, classes=4, seed=7)
    rng = np.random.default_rng(2)
    h = rng.normal(size=(6, 5))
    classes = np.array([3, 0, 3, 1, 2, 3], dtype=np.int32)
    values = np.where(classes == 3, rng.normal(size=6), np.nan)
    loss, grads = head.loss_and_gradient(h, classes, values)
    assert loss["total"] == pytest.approx(loss["classification"] + loss["regression"], rel=1e-14)
    params = head.params()
    for name in ("abduction.scale_weight", "action.class_weight", "action.threshold", "noise.b_noise"):
        flat = params[name].reshape(-1)
        for i in range(0, flat.size, max(1, flat.size // 4)):
            step = 1e-6
            plus = {k: v.copy() for k, v in params.items()}
            plus[name].reshape(-1)[i] += step
            minus = {k: v.copy() for k, v in params.items()}
            minus[name].reshape(-1)[i] -= step
            head.set_params(plus)
            up = head.loss(h, classes, values)["total"]
            head.set_params(minus)
            down = head.loss(h, classes, values)["total"]
            assert grads[name].reshape(-1)[i] == pytest.approx((up - down) / (2 * step), rel=1e-5, abs=1e-8), name
    head.set_params(params)
    with pytest.raises(ValueError, match="action.threshold"):
        head.set_params({k: v for k, v in params.items() if k != "action.threshold"})
    with pytest.raises(ValueError, match="outside"):
        head.loss(h, np.full(6, 9, dtype=np.int32), values)
    with pytest.raises(ValueError, match="class_reduction"):
        head.loss(h, classes, values, class_reduction="max")


def test_generation_is_deterministic_and_numbers_carry_their_law(lm):
    a = lm.generate("Sodium (Na) has atomic number", max_tokens=8)
    b = lm.generate("Sodium (Na) has atomic number", max_tokens=8)
    assert a["text"] == b["text"] and np.array_equal(a["tokens"], b["tokens"])
    numbers = a["tokens"] == lm.num_token
    assert numbers.any()
    assert np.all(np.isfinite(a["values"][numbers])) and np.all(a["value_scales"][numbers] > 0)
    assert np.all(np.isnan(a["values"][~numbers]))


def test_adapt_two_domains_and_certify_their_fusion(tmp_path):
    deltas = []
    for name, eps in (("elements", 0.05), ("units", 0.1)):
        out = tmp_path / f"{name}.safetensors"
        cq.adapt(DOMAINS / f"{name}.txt", out, eps=eps, threads=2)
        deltas.append(out)
        alone = cq.verify_fusion([out], DOMAINS / f"{name}.txt", [1.0], threads=2)
        # The budget holds on the domain's own text: the mean exact KL is eps (to the line search's 1 %).
        assert alone["exact_kl"].mean() == pytest.approx(eps, rel=0.02)
    r = cq.verify_fusion(deltas, DOMAINS / "units.txt", [0.5, 0.5], threads=2)
    assert r["certified"] and r["violations"] == 0 and r["domains"] == ["elements", "units"]
    assert np.all(r["exact_kl"] <= r["certified_bound"])

    delta = cq.load_delta(deltas[0])
    assert delta["domain"] == "elements" and delta["epsilon"] == pytest.approx(0.05, rel=0.02)
    base = cq.CausalHead()
    fused = base.fused(deltas, [0.5, 0.5])
    for name, w in delta["weights"].items():
        expected = base.params()["abduction." + name] + 0.5 * w + 0.5 * cq.load_delta(deltas[1])["weights"][name]
        np.testing.assert_allclose(fused.params()["abduction." + name], expected, rtol=1e-15, atol=1e-15)
    cq.fuse(deltas, tmp_path / "fused", [0.5, 0.5])
    written = cq.CausalHead(tmp_path / "fused").params()
    for name, w in fused.params().items():
        np.testing.assert_array_equal(written[name], w)
    with pytest.raises(ValueError, match="2 deltas"):
        base.fused(deltas, [1.0])
