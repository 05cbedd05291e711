"""The head's loss and analytic gradients against PyTorch autograd on the same formulas.

A few lines of float64 PyTorch restate the design (abduction, exogenous noise, action, one-vs-rest
BCE, the gated Cauchy NLL) from the parameters alone; autograd differentiates them. Skipped when
PyTorch (Debian: python3-torch) is not installed.
"""
import math

import numpy as np
import pytest

import causalqwen as cq

torch = pytest.importorskip("torch")

LINKS = {"exp": torch.exp, "softplus": torch.nn.functional.softplus, "identity": lambda x: x}


def torch_loss(p, h, classes, values, ignore, lam, gate_alpha, gate_gradient, class_reduction):
    loc_u = h @ p["abduction.loc_weight"].T + p["abduction.loc_bias"]
    scale_u = LINKS[cq.CausalHead.scale_link](h @ p["abduction.scale_weight"].T + p["abduction.scale_bias"])
    scale_u = scale_u + p["noise.b_noise"].abs()  # the standard mode at temperature 1
    a = p["action.class_weight"]
    class_loc = loc_u @ a.T + p["action.class_bias"]
    class_scale = scale_u @ a.abs().T
    prob = 0.5 + torch.atan((class_loc - p["action.threshold"]) / class_scale) / math.pi
    k = a.shape[0]
    y = torch.nn.functional.one_hot(classes, k).double()
    bce = -(y * torch.log(prob) + (1 - y) * torch.log1p(-prob)).sum(1)
    if class_reduction == "mean":
        bce = bce / k
    value_loc = loc_u @ p["action.value_weight"] + p["action.value_bias"]
    value_scale = scale_u @ p["action.value_weight"].abs()
    is_num = classes == k - 1
    z = (torch.where(is_num, values, value_loc) - value_loc) / value_scale
    nll = torch.log(math.pi * value_scale) + torch.log1p(z * z)
    p_num = prob[:, -1] if gate_gradient else prob[:, -1].detach()
    gate = gate_alpha + (1 - gate_alpha) * p_num
    per_position = bce + lam * torch.where(is_num, gate * nll, torch.zeros_like(nll))
    return per_position[~ignore].mean()


@pytest.mark.parametrize(
    "lam, gate_alpha, gate_gradient, class_reduction",
    [(1.0, 0.0, True, "sum"), (2.5, 0.0, False, "sum"), (0.7, 0.3, True, "mean"), (1.0, 1.0, True, "sum")],
)
def test_loss_and_gradients_match_autograd(lam, gate_alpha, gate_gradient, class_reduction):
    head = cq.CausalHead.random(hidden=6, latent=4, classes=7, seed=3)
    rng = np.random.default_rng(1)
    n = 16
    h = rng.normal(size=(n, 6))
    classes = rng.integers(0, 7, size=n).astype(np.int32)
    classes[:5] = 6  # <NUM> at several positions
    values = np.where(classes == 6, rng.normal(2.0, 3.0, size=n), np.nan)
    ignore = np.zeros(n, dtype=np.uint8)
    ignore[[4, 9]] = 1
    loss, grads = head.loss_and_gradient(h, classes, values, ignore, lam=lam, gate_alpha=gate_alpha,
                                         gate_gradient=gate_gradient, class_reduction=class_reduction)

    params = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True) for name, v in head.params().items()}
    th = torch.tensor(h, requires_grad=True)
    reference = torch_loss(params, th, torch.tensor(classes, dtype=torch.int64), torch.tensor(values),
                           torch.tensor(ignore, dtype=torch.bool), lam, gate_alpha, gate_gradient, class_reduction)
    reference.backward()

    assert loss["total"] == pytest.approx(reference.item(), rel=1e-12)
    assert loss["positions"] == n - 2
    for name, tensor in params.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(grads["hidden"], th.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert not np.any(grads["hidden"][ignore == 1])
