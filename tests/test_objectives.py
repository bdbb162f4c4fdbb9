"""The hasher's training objectives (nrdh.objectives) against values worked out by hand."""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
from conftest import ROOT, default_params

from nrdh import objectives as ob
from nrdh import train
from nrdh.data import load_dataset
from nrdh.errors import NRDHError
from nrdh.models import HashNet, SmallCNN
from nrdh.params import load_params
from nrdh.peers import PEERS, hasher_config, peer_config

LN3 = math.log(3.0)
P = default_params()  # params.yaml: the peers' published defaults and the hasher section


def out(fc: list[list[float]], fch: list[list[float]] | None = None) -> tuple:
    """(fc, fch) of one view from literal rows; fch defaults to tanh(fc)."""
    f = torch.tensor(fc, dtype=torch.float32)
    return f, torch.tensor(fch, dtype=torch.float32) if fch is not None else torch.tanh(f)


def test_nrdh_looks_up_targets_by_image_index():
    # Image 3's target g = [1, -1]; fc = [0, 0] so fch = 0.
    # MSE = ((0-1)^2 + (0+1)^2) / 2 = 1. BCE of (0+1)/2 = 0.5 against b = (sign 0 + 1)/2 = 0.5
    # = -(0.5 ln 0.5 + 0.5 ln 0.5) = ln 2 = 0.693147. L = 0.8 * 1 + 0.2 * 0.693147 = 0.938629.
    targets = np.zeros((5, 2), np.float32)
    targets[3] = [1.0, -1.0]
    loss, terms = ob.NRDH(targets, 0.8, 0.2, "own")([out([[0.0, 0.0]])], torch.tensor([3]))
    assert terms["mse"].item() == pytest.approx(1.0)
    assert terms["bce"].item() == pytest.approx(0.693147, abs=1e-6)
    assert loss.item() == pytest.approx(0.938629, abs=1e-6)


# ------------------------------------------------------------------------------- SSDH


def test_ssdh_thresholds_on_a_hand_made_distribution():
    # d = 0.1, 0.3, 0.5, 0.5, 0.5, 0.9 in 5 bins over [0.1, 0.9] (width 0.16, edges 0.1,
    # 0.26, 0.42, 0.58, 0.74, 0.9): the fullest bin is [0.42, 0.58), so m = 0.5.
    # Left of m: -0.4, -0.2 -> sigma_l = sqrt((0.16 + 0.04) / 2) = sqrt(0.1) = 0.316228.
    # Right of m: 0.4 -> sigma_r = 0.4. alpha = 1, beta = 0.5:
    # d_l = 0.5 - 0.316228 = 0.183772, d_r = 0.5 + 0.5 * 0.4 = 0.7.
    d = np.array([0.1, 0.3, 0.5, 0.5, 0.5, 0.9])
    d_l, d_r = ob.ssdh_thresholds(d, alpha=1.0, beta=0.5, bins=5)
    assert d_l == pytest.approx(0.183772, abs=1e-6)
    assert d_r == pytest.approx(0.7, abs=1e-9)
    labels = ob.ssdh_labels(torch.tensor([0.1, 0.183, 0.5, 0.7, 0.8]), d_l, d_r)
    assert labels.tolist() == [1.0, 1.0, 0.0, -1.0, -1.0]


def test_training_distances_all_pairs():
    # x0 = [1, 0], x1 = [0, 1], x2 = [1, 1]: pairs (0,1) cos 0 -> 1, (0,2) and (1,2)
    # cos 1/sqrt 2 -> 1 - 0.707107 = 0.292893.
    d = ob.training_distances(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), 10)
    np.testing.assert_allclose(d, [1.0, 0.292893, 0.292893], atol=1e-6)


def test_ssdh_loss_by_hand():
    # Features of images 10..13: [1,0], [1,0], [0,1], [-1,0]. Cosine distances: (0,1) 0,
    # (0,2) 1, (0,3) 2, (1,2) 1, (1,3) 2, (2,3) 1. 100 bins over [0, 2] (width 0.02): the
    # three 1s fill bin [1.0, 1.02), m = 1.01. Left of m: 0, 1, 1, 1 -> deviations -1.01 and
    # 3 x -0.01 -> sigma_l = sqrt((1.0201 + 0.0003) / 4) = sqrt(0.2551) = 0.505074; right:
    # the two 2s -> sigma_r = 0.99. alpha = beta = 0.5: d_l = 1.01 - 0.252537 = 0.757463,
    # d_r = 1.01 + 0.495 = 1.505.
    # So S = +1 for (0,1), -1 for (0,3) and (1,3), 0 for the rest.
    # Codes h0 = [.5, .5], h1 = [.5, -.5], h2 = [.5, .5], h3 = [-.5, -.5]; h.h / 2:
    # (0,1) 0 -> (1 - 0)^2 = 1; (0,3) -0.25 -> (-1 + 0.25)^2 = 0.5625; (1,3) 0 -> 1.
    # Mean over the 6 ordered labelled pairs: (1 + 0.5625 + 1) / 3 = 0.854167;
    # labelled share 6 / 16 = 0.375.
    x = np.array([[1, 0], [1, 0], [0, 1], [-1, 0]], np.float32)
    obj = ob.build_objective(
        PEERS["ssdh"], replace(P.peers["ssdh"], alpha=0.5, beta=0.5), x, 2, np.arange(10, 14)
    )
    assert obj.d_l == pytest.approx(0.757463, abs=1e-6)
    assert obj.d_r == pytest.approx(1.505, abs=1e-6)
    h = [[0.5, 0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, -0.5]]
    loss, terms = obj([out(h, h)], torch.tensor([10, 11, 12, 13]))
    assert loss.item() == pytest.approx(0.854167, abs=1e-6)
    assert terms["labelled"].item() == pytest.approx(0.375)


# ------------------------------------------------------------------ GreedyHash, BiHalf

H = [[0.5, -2.0], [1.0, 0.2], [-0.3, 0.4], [2.0, 1.0]]


def test_sign_ste_forward_sign_backward_identity():
    # y = sign(h); d(sum w * y)/dh passes w straight through.
    h = torch.tensor(H, requires_grad=True)
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.5], [0.0, -2.0]])
    y = ob.SignSTE.apply(h)
    assert y.tolist() == [[1, -1], [1, 1], [-1, 1], [1, 1]]
    (y * w).sum().backward()
    assert h.grad.tolist() == w.tolist()


def test_greedyhash_loss_by_hand():
    # b = sign(h) = [1,-1], [1,1], [-1,1], [1,1]. Half-pairs (0,2): cos = (-1 - 1)/2 = -1;
    # (1,3): cos = 2/2 = 1. Features [1,0] vs [0,1]: 0; [1,1] vs [1,0]: 0.707107.
    # MSE = ((-1 - 0)^2 + (1 - 0.707107)^2) / 2 = (1 + 0.085786) / 2 = 0.542893.
    # | |h| - 1 |^3: 0.125, 1, 0, 0.512, 0.343, 0.216, 1, 0 -> mean 3.196 / 8 = 0.3995.
    # Loss = 0.542893 + 0.1 * 0.3995 = 0.582843.
    x = np.array([[1, 0], [1, 1], [0, 1], [1, 0]], np.float32)
    obj = ob.build_objective(PEERS["greedyhash"], P.peers["greedyhash"], x, 2, np.arange(4))
    loss, terms = obj([out(H)], torch.arange(4))
    assert terms["similarity"].item() == pytest.approx(0.542893, abs=1e-6)
    assert terms["penalty"].item() == pytest.approx(0.3995, abs=1e-6)
    assert loss.item() == pytest.approx(0.582843, abs=1e-6)


HB = [[0.3, -1.0], [-0.2, 0.5], [0.9, 0.1], [0.0, -0.4]]


def test_bihalf_layer_forward_and_gradient():
    # Column 0 in descending order: 0.9 (row 2), 0.3 (row 0) -> +1; 0.0, -0.2 -> -1.
    # Column 1: 0.5 (row 1), 0.1 (row 2) -> +1; -0.4, -1.0 -> -1.
    # Gradient = w + gamma (h - b) / 8 with gamma = 6, so 0.75 (h - b):
    # h - b = [-0.7, 0], [0.8, -0.5], [-0.1, -0.9], [1.0, 0.6]
    # -> w + [-0.525, 0], [0.6, -0.375], [-0.075, -0.675], [0.75, 0.45].
    h = torch.tensor(HB, requires_grad=True)
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    b = ob.BiHalfSign.apply(h, 6.0)
    assert b.tolist() == [[1, -1], [-1, 1], [1, 1], [-1, -1]]
    (b * w).sum().backward()
    expected = [[0.475, 0.0], [0.6, 0.625], [0.925, 0.325], [0.75, 0.45]]
    np.testing.assert_allclose(h.grad.numpy(), expected, atol=1e-6)


def test_bihalf_loss_by_hand():
    # b as above: pairs (0,2): [1,-1].[1,1] = 0 -> cos 0; (1,3): [-1,1].[-1,-1] = 0 -> 0.
    # Features (0,2): [1,0] vs [1,0] -> 1; (1,3): [0,1] vs [1,1] -> 0.707107.
    # MSE = ((0 - 1)^2 + (0 - 0.707107)^2) / 2 = (1 + 0.5) / 2 = 0.75.
    x = np.array([[1, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    obj = ob.build_objective(PEERS["bihalf"], P.peers["bihalf"], x, 2, np.arange(4))
    loss, _ = obj([out(HB)], torch.arange(4))
    assert loss.item() == pytest.approx(0.75, abs=1e-6)


# ------------------------------------------------------------------------------ DeepBit


def test_deepbit_loss_by_hand():
    # fc = [[ln 3, 0], [-ln 3, ln 3]] -> s = sigmoid = [[.75, .5], [.25, .75]],
    # b = 1[s >= .5] = [[1, 1], [0, 1]].
    # Quantisation: row 0 .0625 + .25 = .3125, row 1 .0625 + .0625 = .125 -> mean .21875.
    # Balance: bit means .5 and .625 -> 0 + .015625 = .015625.
    # Rotated copy fc = [[0, 0], [-ln 3, -ln 3]] -> s = [[.5, .5], [.25, .25]]:
    # row 0 (-.25)^2 = .0625, row 1 (-.5)^2 = .25 -> mean .15625.
    # Loss (alpha = beta = gamma = 1) = .21875 + .015625 + .15625 = .390625.
    zeros = np.zeros((2, 1), np.float32)
    obj = ob.build_objective(PEERS["deepbit"], P.peers["deepbit"], zeros, 2, np.arange(2))
    views = [out([[LN3, 0.0], [-LN3, LN3]]), out([[0.0, 0.0], [-LN3, -LN3]])]
    loss, terms = obj(views, torch.arange(2))
    assert terms["quantisation"].item() == pytest.approx(0.21875, abs=1e-6)
    assert terms["balance"].item() == pytest.approx(0.015625, abs=1e-6)
    assert terms["rotation"].item() == pytest.approx(0.15625, abs=1e-6)
    assert loss.item() == pytest.approx(0.390625, abs=1e-6)


# ------------------------------------------------------------------------------ CIBHash


def test_nt_xent_by_hand():
    # Normalised codes z0 = [1,1], z1 = [1,-1], z2 = [1,1], z3 = [-1,1] (over sqrt 2);
    # positives (0,2) cos 1 and (1,3) cos -1, every other pair cos 0. Temperature 0.5:
    # anchors 0, 2: ln(e^2 + 2) - 2 = ln(9.389056) - 2 = 2.239544 - 2 = 0.239544;
    # anchors 1, 3: ln(e^-2 + 2) + 2 = ln(2.135335) + 2 = 0.758623 + 2 = 2.758623.
    # Mean (0.239544 + 2.758623) / 2 = 1.499084.
    zi = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    zj = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
    assert ob.nt_xent(zi, zj, 0.5).item() == pytest.approx(1.499084, abs=1e-6)


def test_bernoulli_kl_by_hand():
    # KL(Bern(.5) || Bern(.25)) = .5 ln 2 + .5 ln(2/3) = .5 ln(4/3) = 0.143841; the same for
    # KL(Bern(.5) || Bern(.75)); summed over the 2 bits: 0.287682.
    kl = ob.bernoulli_kl(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.25, 0.75]]))
    assert kl.item() == pytest.approx(0.287682, abs=1e-6)


def test_cibhash_loss_by_hand():
    # fc = +-20 makes sigmoid 0 or 1 to 1e-9, so z = sign(p - u) is [[1,1],[1,-1]] in both
    # views for any u, and the views' probabilities agree: KL = 0. Each anchor has its
    # positive at cos 1 and two negatives at cos 0; temperature 0.3:
    # ln(1 + 2 e^(-1/0.3)) = ln(1 + 2 * 0.035674) = ln(1.071349) = 0.068919.
    zeros = np.zeros((2, 1), np.float32)
    obj = ob.build_objective(PEERS["cibhash"], P.peers["cibhash"], zeros, 2, np.arange(2))
    view = out([[20.0, 20.0], [20.0, -20.0]])
    loss, terms = obj([view, view], torch.arange(2))
    assert terms["kl"].item() == pytest.approx(0.0, abs=1e-6)
    assert loss.item() == pytest.approx(0.068919, abs=1e-5)


# ------------------------------------------------------------------------ config, loop


def test_build_objective_rejects_another_peers_config_and_unknown_keys():
    x = np.zeros((2, 1), np.float32)
    with pytest.raises(NRDHError, match=r"peers\.bihalf: expected a BiHalfConfig"):
        ob.build_objective(PEERS["bihalf"], P.peers["ssdh"], x, 2, np.arange(2))
    with pytest.raises(NRDHError, match=r"peers\.bihalf: unknown key\(s\) \['gama'\]"):
        peer_config(PEERS["bihalf"], {**asdict(P.peers["bihalf"]), "gama": 6})
    with pytest.raises(NRDHError, match="one row per training image"):
        ob.build_objective(PEERS["ssdh"], P.peers["ssdh"], x, 2, np.arange(3))


def test_hasher_config_takes_peer_lr_and_epochs_when_set():
    base = replace(P.hasher, lr=1e-3, epochs=30)
    cfg = hasher_config(base, replace(P.peers["cibhash"], lr=0.0, epochs=5))
    assert (cfg.lr, cfg.epochs) == (1e-3, 5)


def test_one_loop_feeds_deepbit_its_rotated_views():
    # 32 digits, 1 epoch: the loop must pass the image and its two rotations (3 views) and
    # record DeepBit's terms in the history.
    images = load_dataset(P.dataset("digits"), 0)
    from nrdh.hash_network import hasher_transforms

    cfg = replace(P.hasher, epochs=1, batch_size=16, device="cpu")
    t_train, t_eval = hasher_transforms(cfg.image_size, cfg.augment, None)
    zeros = np.zeros((32, 1), np.float32)
    obj = ob.build_objective(PEERS["deepbit"], P.peers["deepbit"], zeros, 8, np.arange(32))
    seen: list[int] = []

    class Counting(ob.DeepBit):
        def __call__(self, outputs, idx):
            seen.append(len(outputs))
            return super().__call__(outputs, idx)

    counting = Counting(obj.cfg)
    view = images.view(counting.view_transform(t_train, t_eval), images.split["train"][:32])
    torch.manual_seed(0)
    model = HashNet(SmallCNN(1), SmallCNN.out_dim, 8)
    history = train.train_hasher(model, view, counting, cfg, 0)
    assert seen == [3, 3]
    assert set(history[0]) == {"epoch", "loss", "quantisation", "balance", "rotation"}
    assert all(math.isfinite(v) for v in history[0].values())


def test_params_yaml_peers_section_parses_with_published_defaults():
    # Every method of params.yaml's peers section builds its config; the published values
    # (SSDH alpha = beta = 2, GreedyHash alpha 0.1, BiHalf gamma 6, CIBHash tau 0.3 and
    # beta 0.001) are the ones the file sets.
    cfgs = load_params(ROOT / "params.yaml").peers
    assert set(cfgs) == set(PEERS)
    assert all(isinstance(cfgs[name], PEERS[name].config) for name in PEERS)
    assert (cfgs["ssdh"].alpha, cfgs["ssdh"].beta) == (2.0, 2.0)
    assert cfgs["greedyhash"].alpha == 0.1
    assert cfgs["bihalf"].gamma == 6.0
    assert (cfgs["cibhash"].temperature, cfgs["cibhash"].beta) == (0.3, 0.001)
    assert cfgs["deepbit"].angles == (-10.0, 10.0)


class Interrupted(Exception):
    """Raised by `Stopping` to cut a run short, as a kill would."""


def test_cibhash_run_resumes_to_the_uninterrupted_weights(tmp_path):
    # CIBHash draws random crops, jitter and Bernoulli noise: a run cut in epoch 3 and
    # resumed from its epoch-2 checkpoint must end with the uninterrupted run's weights.
    images = load_dataset(P.dataset("digits"), 0)
    from nrdh.hash_network import hasher_transforms

    cfg = replace(P.hasher, epochs=4, batch_size=16, device="cpu", checkpoint_every=2)
    t_train, t_eval = hasher_transforms(cfg.image_size, cfg.augment, None)
    cib = replace(P.peers["cibhash"], flip=False)

    class Stopping(ob.CIBHash):
        calls = 0

        def __call__(self, outputs, idx):
            Stopping.calls += 1
            if Stopping.calls == 5:  # 2 batches per epoch: the first batch of epoch 3
                raise Interrupted
            return super().__call__(outputs, idx)

    def run(objective: ob.Objective, ckpt) -> HashNet:
        view = images.view(objective.view_transform(t_train, t_eval), images.split["train"][:32])
        torch.manual_seed(0)
        model = HashNet(SmallCNN(1), SmallCNN.out_dim, 8)
        train.train_hasher(model, view, objective, cfg, 0, ckpt, "run")
        return model

    full = run(ob.CIBHash(cib), tmp_path / "full.ckpt")
    with pytest.raises(Interrupted):
        run(Stopping(cib), tmp_path / "cut.ckpt")
    assert torch.load(tmp_path / "cut.ckpt", weights_only=False)["epoch"] == 2
    resumed = run(ob.CIBHash(cib), tmp_path / "cut.ckpt")
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_feature_objective_rejects_images_outside_its_training_rows():
    # Rows belong to images 10 and 12: image 11 (a hole) and 13 (past the end) have none.
    eye = np.eye(2, dtype=np.float32)
    obj = ob.build_objective(PEERS["bihalf"], P.peers["bihalf"], eye, 2, np.array([10, 12]))
    h = out([[0.1, 0.2], [0.3, 0.4]])
    for bad in ([10, 11], [12, 13]):
        with pytest.raises(NRDHError, match="outside the training features"):
            obj([h], torch.tensor(bad))
    loss, _ = obj([h], torch.tensor([12, 10]))
    assert math.isfinite(loss.item())
