"""Topology losses: gradient checks, descent on toy problems, tubed skeletons and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from monai.losses import SoftclDiceLoss, SoftDiceclDiceLoss

from medpipe.losses import (
    BettiMatchingLoss,
    ClDiceLoss,
    DiceClDiceLoss,
    MIPLoss,
    SkeletonRecallLoss,
    focal_tversky_loss,
    tubed_skeleton,
)
from medpipe.losses.topology import _refine
from medpipe.metrics.betti_matching import load_reference, refine_to_vertices


def _has_reference() -> bool:
    try:
        load_reference()
    except ImportError:
        return False
    return True


requires_reference = pytest.mark.skipif(
    not _has_reference(), reason="Betti-Matching-3D reference not installed (pip install --no-deps topolosses)"
)


def _ring_target(shape=(1, 1, 9, 10)) -> torch.Tensor:
    target = torch.zeros(shape, dtype=torch.float64)
    target[..., 1:8, 2:9] = 1
    target[..., 3:6, 4:7] = 0
    return target


def _descends(loss_fn, target: torch.Tensor, steps: int = 15, lr: float = 0.2, seed: int = 0) -> tuple[float, float]:
    """Optimise free logits for ``steps`` Adam steps; returns the first and last loss."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(target.shape, generator=generator, dtype=torch.float64).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=lr)
    history = []
    for _ in range(steps):
        optimiser.zero_grad()
        loss = loss_fn(torch.sigmoid(logits), target)
        loss.backward()
        optimiser.step()
        history.append(loss.item())
    return history[0], history[-1]


@requires_reference
@pytest.mark.parametrize("connectivity", [1, "full"])
@pytest.mark.parametrize("shape", [(1, 1, 6, 7), (1, 1, 3, 4, 5)])
def test_betti_matching_loss_gradcheck(shape, connectivity):
    generator = torch.Generator().manual_seed(3)
    probabilities = torch.rand(shape, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand(shape, generator=generator) > 0.5).double()
    loss = BettiMatchingLoss(connectivity=connectivity)
    assert torch.autograd.gradcheck(lambda p: loss(p, target), (probabilities,))


@requires_reference
def test_betti_matching_loss_gradient_only_at_birth_and_death_voxels():
    generator = torch.Generator().manual_seed(1)
    probabilities = torch.rand((1, 1, 9, 10), generator=generator, dtype=torch.float64).requires_grad_(True)
    BettiMatchingLoss()(probabilities, _ring_target()).backward()
    touched = int((probabilities.grad != 0).sum())
    assert 0 < touched < probabilities.numel() // 2


@requires_reference
def test_betti_matching_loss_is_zero_on_the_target_and_descends():
    target = _ring_target()
    assert BettiMatchingLoss()(target.clone(), target).item() == 0.0
    first, last = _descends(BettiMatchingLoss(), target)
    assert last < first


@requires_reference
def test_betti_matching_loss_channels_and_reduction():
    target = torch.cat([1 - _ring_target(), _ring_target()], dim=1).repeat(2, 1, 1, 1)
    probabilities = torch.rand(target.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    per_item = BettiMatchingLoss(reduction="none")(probabilities, target)
    assert per_item.shape == (2, 1)
    assert BettiMatchingLoss(include_background=True, reduction="none")(probabilities, target).shape == (2, 2)
    logits = torch.logit(probabilities)
    assert BettiMatchingLoss(sigmoid=True)(logits, target).item() == pytest.approx(per_item.mean().item())
    copied = copy.deepcopy(BettiMatchingLoss(reduction="sum"))  # losses get copied by trainers
    assert copied(probabilities, target).item() == pytest.approx(per_item.sum().item())


def test_refine_matches_numpy_twin():
    values = torch.rand(4, 5, 3, dtype=torch.float64)
    np.testing.assert_array_equal(_refine(values).numpy(), refine_to_vertices(values.numpy()))


def test_cldice_losses_are_monai_and_descend():
    assert ClDiceLoss is SoftclDiceLoss and DiceClDiceLoss is SoftDiceclDiceLoss
    target = _ring_target((1, 1, 12, 13)).float()
    for loss in (ClDiceLoss(), DiceClDiceLoss(alpha=0.5)):
        first, last = _descends(lambda p, t: loss(p.float(), t), target, lr=0.3)
        assert last < first
    probabilities = torch.rand((1, 1, 5, 6), dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    assert torch.autograd.gradcheck(lambda p: ClDiceLoss()(p, _ring_target((1, 1, 5, 6))), (probabilities.requires_grad_(),))


def test_tubed_skeleton():
    label = np.zeros((15, 16), dtype=np.uint8)
    label[3:12, 7:10] = 2  # a vertical bar three pixels wide
    skeleton = tubed_skeleton(label, tube=False)
    assert set(np.unique(skeleton)) == {0, 2}
    assert (skeleton[:, 8] == 2).sum() >= 5 and (skeleton[:, [7, 9]] == 0).all()
    tubed = tubed_skeleton(label)
    assert (tubed > 0).sum() > (skeleton > 0).sum()
    assert ((tubed > 0) <= (label > 0)).all()  # the tube keeps only voxels of the label
    assert not tubed_skeleton(np.zeros((5, 6, 7))).any()
    with pytest.raises(ValueError, match=r"`label` must be 2D or 3D, got shape \(5,\)"):
        tubed_skeleton(np.zeros(5))


def test_skeleton_recall_loss_value_gradcheck_and_descent():
    label = np.zeros((12, 13), dtype=np.uint8)
    label[2:10, 5:8] = 1
    skeleton = torch.as_tensor(tubed_skeleton(label) > 0, dtype=torch.float64)[None, None]
    loss = SkeletonRecallLoss(smooth=0.0)
    assert loss(skeleton.clone(), skeleton).item() == pytest.approx(0.0)
    assert loss(torch.zeros_like(skeleton), skeleton).item() == pytest.approx(1.0)
    probabilities = torch.rand(skeleton.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    assert torch.autograd.gradcheck(lambda p: SkeletonRecallLoss()(p, skeleton), (probabilities.requires_grad_(),))
    first, last = _descends(SkeletonRecallLoss(), skeleton)
    assert last < first


def test_focal_tversky_values():
    target = torch.zeros((1, 1, 4, 5, 6), dtype=torch.float64)
    target[..., 1:3, 1:4, 2:5] = 1
    assert focal_tversky_loss(target, target).item() == pytest.approx(0.0)
    # Predict nothing: TP = 0, FN = 18 -> TI = 1 / (0.7 * 18 + 1), loss = (1 - TI) ** 0.75.
    expected = (1 - 1 / (0.7 * 18 + 1)) ** 0.75
    assert focal_tversky_loss(torch.zeros_like(target), target).item() == pytest.approx(expected)


@pytest.mark.parametrize("axes", [2, "all"])
def test_mip_loss_mix_gradcheck_and_descent(axes):
    generator = torch.Generator().manual_seed(6)
    target = (torch.rand((1, 1, 5, 6, 7), generator=generator) > 0.7).double()
    probabilities = torch.rand(target.shape, generator=generator, dtype=torch.float64)
    loss = MIPLoss(axes=axes)
    chosen = (2,) if axes == 2 else (0, 1, 2)
    volume = focal_tversky_loss(probabilities, target).mean()
    projections = torch.stack([focal_tversky_loss(probabilities.amax(2 + a), target.amax(2 + a)).mean() for a in chosen])
    assert loss(probabilities, target).item() == pytest.approx((0.7 * volume + 0.3 * projections.mean()).item())
    assert torch.autograd.gradcheck(lambda p: loss(p, target), (probabilities.requires_grad_(),))
    first, last = _descends(loss, target)
    assert last < first


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MIPLoss(axes=3), r"`axes` must be 0, 1, 2, a sequence of them or 'all', got \(3,\)"),
        (lambda: MIPLoss(mip_weight=1.5), r"`mip_weight` must be in \[0, 1\], got 1.5"),
        (lambda: SkeletonRecallLoss(sigmoid=True, softmax=True)(torch.zeros(1, 1, 4, 5), torch.zeros(1, 1, 4, 5)),
         r"`sigmoid` and `softmax` must not both be True"),
        (lambda: MIPLoss()(torch.zeros(1, 1, 4, 5), torch.zeros(1, 1, 4, 5)), r"`input` and `target` must share one shape \(B, C, X, Y, Z\)"),
        (lambda: SkeletonRecallLoss()(torch.zeros(1, 4, 5), torch.zeros(1, 4, 5)), r"`input` and `target` must share one shape"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@requires_reference
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: BettiMatchingLoss(connectivity=2), r"`connectivity` must be 1 .* got 2"),
        (lambda: BettiMatchingLoss(sigmoid=True, softmax=True)(torch.zeros(1, 1, 4, 5), torch.zeros(1, 1, 4, 5)),
         r"`sigmoid` and `softmax` must not both be True"),
        (lambda: BettiMatchingLoss()(torch.zeros(1, 1, 4, 5), torch.zeros(1, 1, 4, 6)),
         r"`input` and `target` must share one shape .* got \(1, 1, 4, 5\) and \(1, 1, 4, 6\)"),
    ],
)
def test_betti_matching_loss_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()
