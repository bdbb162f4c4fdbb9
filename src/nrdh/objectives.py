"""Training objectives of the hash network: NRDH (Eq. 18) and its deep unsupervised peers.

One loop (`nrdh.train.train_hasher`) trains the same hash network for every method; an
objective is the only part that differs. It says which image views the loop must feed
(`view_transform`: one view for most, two augmentations for CIBHash, the image and its
rotations for DeepBit), and turns the network's outputs on those views into a loss and its
named terms for the history. Objectives that need feature similarities index the training
images' feature matrix (rows of features.h5, float32) by the batch's image indices. A peer's
objective (`PeerObjective`) names its config class; `nrdh.peers` registers it by name.

Every hyper-parameter default is its paper's; docs/PEERS.md cites each and lists every
choice a paper leaves open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nrdh.errors import NRDHError
from nrdh.losses import hash_loss
from nrdh.peers import (
    BiHalfConfig,
    CIBHashConfig,
    DeepBitConfig,
    GreedyHashConfig,
    Peer,
    PeerConfig,
    SSDHConfig,
)

# (fc, fch) of one view: pre-tanh activations and tanh codes, each (B, bits).
Outputs = tuple[torch.Tensor, torch.Tensor]
Terms = dict[str, torch.Tensor]


class Objective:
    """A hash-network training objective: views to feed and a loss on their outputs."""

    def view_transform(self, train_t: Callable, eval_t: Callable) -> Callable:
        """The per-image transform of the training set: one view (the stage's training
        transform) unless the method needs several, then a tuple of tensors."""
        return train_t

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        """(loss, named terms) for the outputs of each view of a batch of image indices `idx`."""
        raise NotImplementedError


class Views:
    """Transform an image into a tuple of views, one per transform (picklable for workers)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Image.Image) -> tuple[Any, ...]:
        return tuple(t(img) for t in self.transforms)


def _rows(matrix: torch.Tensor, idx: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Rows `idx` of a CPU matrix, on the device and dtype of `like`."""
    return matrix[idx].to(like.device, like.dtype)


def _index_map(train_idx: np.ndarray, n_rows: int) -> torch.Tensor:
    """Image index -> row of the training feature matrix (-1 for images outside it)."""
    if len(train_idx) != n_rows:
        raise NRDHError(
            f"train features: {n_rows} rows for {len(train_idx)} training images; expected one "
            "row per training image (features.h5 rows of the train split, in split order)"
        )
    size = int(train_idx.max()) + 1 if len(train_idx) else 0
    lookup = torch.full((size,), -1, dtype=torch.int64)
    lookup[torch.from_numpy(np.asarray(train_idx, dtype=np.int64))] = torch.arange(n_rows)
    return lookup


class PeerObjective(Objective):
    """A peer's objective: `config` is its config class (whose key names the peer, and its
    ``peers`` block); `from_training` builds it, the one constructor `build_objective` calls."""

    config: ClassVar[type[PeerConfig]]

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    @classmethod
    def from_training(
        cls, cfg: Any, train_features: np.ndarray, train_idx: np.ndarray
    ) -> PeerObjective:
        """The objective of `cfg`; the training features are for objectives that read them."""
        return cls(cfg)


class FeatureObjective(PeerObjective):
    """A peer objective reading feature similarities of the training images."""

    def __init__(self, cfg: Any, train_features: np.ndarray, train_idx: np.ndarray) -> None:
        super().__init__(cfg)
        self.features = torch.from_numpy(np.ascontiguousarray(train_features, dtype=np.float32))
        self.lookup = _index_map(train_idx, len(self.features))

    @classmethod
    def from_training(
        cls, cfg: Any, train_features: np.ndarray, train_idx: np.ndarray
    ) -> PeerObjective:
        """The objective of `cfg` over the training features, row r for image train_idx[r]."""
        return cls(cfg, train_features, train_idx)

    def batch_features(self, idx: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Feature rows of the images `idx`, on the device of `like`."""
        rows = self.lookup[idx.clamp_max(len(self.lookup) - 1)]
        if (rows < 0).any() or (idx >= len(self.lookup)).any():
            raise NRDHError(
                f"peers.{self.cfg.key}: the batch holds images outside the training features' "
                "train_idx; build the objective with the training view's image indices"
            )
        return _rows(self.features, rows, like)


# ------------------------------------------------------------------------- NRDH (the paper)


class NRDH(Objective):
    """Wang et al., Pattern Recognition 2021, Eq. 18: mu MSE(fc, g(x)) + omega BCE to b."""

    def __init__(self, targets: np.ndarray, mu: float, omega: float, target: str) -> None:
        self.targets = torch.from_numpy(targets)  # g(x) looked up by image index
        self.mu, self.omega, self.target = mu, omega, target

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        fc, fch = outputs[0]
        g = self.targets[idx].to(fc.device, non_blocking=True)
        loss, mse, bce = hash_loss(fc, fch, g, self.mu, self.omega, self.target)
        return loss, {"mse": mse, "bce": bce}


# ----------------------------------------------------------------- binarisation layers


class SignSTE(torch.autograd.Function):
    """sign() forward, identity gradient backward (GreedyHash, Su et al. 2018, Sec. 3.2)."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor) -> torch.Tensor:
        return torch.sign(h)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad


class BiHalfSign(torch.autograd.Function):
    """The bi-half layer (Li and van Gemert, AAAI 2021, Sec. 3, Eq. 9).

    Forward: per bit (column), the larger half of the batch gets +1 and the rest -1 (the
    larger half has floor(N/2) rows, as in the authors' code). Backward: the incoming
    gradient plus gamma (h - b) / (N * bits), the gradient of the transport cost
    gamma / (2 N bits) ||h - b||^2 that the layer minimises.
    """

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, gamma: float) -> torch.Tensor:
        n = h.shape[0]
        order = h.argsort(dim=0, descending=True, stable=True)
        signs = torch.ones_like(h)
        signs[n // 2 :] = -1.0
        b = torch.empty_like(h).scatter_(0, order, signs)
        ctx.save_for_backward(h, b)
        ctx.gamma = gamma
        return b

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        h, b = ctx.saved_tensors
        return grad + ctx.gamma * (h - b) / b.numel(), None


def halves_cosine(a: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of row i and row i + N//2 for i < N//2 (the pairing of the
    GreedyHash and BiHalf unsupervised code: the first half of a batch against the second)."""
    k = a.shape[0] // 2
    return F.cosine_similarity(a[:k], a[k : 2 * k], dim=1)


def similarity_preservation(b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """MSE between the half-pair cosine similarities of codes b and of features x."""
    return F.mse_loss(halves_cosine(b), halves_cosine(x))


# ----------------------------------------------------------------------------- SSDH


def cosine_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity of every row of a with every row of b: (len(a), len(b))."""
    return 1.0 - F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


def ssdh_thresholds(d: np.ndarray, alpha: float, beta: float, bins: int) -> tuple[float, float]:
    """SSDH Sec. 3.1: (d_l, d_r) from two half-Gaussians fitted left and right of the mode.

    m = centre of the fullest of `bins` equal histogram bins; sigma_l (sigma_r) = root mean
    square of (d - m) over the distances below (above) m, the half-Gaussian's ML estimate.
    """
    counts, edges = np.histogram(d, bins=bins)
    top = int(counts.argmax())
    m = 0.5 * (edges[top] + edges[top + 1])
    left, right = d[d < m] - m, d[d > m] - m
    sigma_l = float(np.sqrt(np.mean(left**2))) if left.size else 0.0
    sigma_r = float(np.sqrt(np.mean(right**2))) if right.size else 0.0
    return float(m - alpha * sigma_l), float(m + beta * sigma_r)


def ssdh_labels(d: torch.Tensor, d_l: float, d_r: float) -> torch.Tensor:
    """S = +1 where d <= d_l (similar), -1 where d >= d_r (dissimilar), 0 otherwise."""
    return (d <= d_l).to(d.dtype) - (d >= d_r).to(d.dtype)


def training_distances(x: torch.Tensor, max_pairs: int, seed: int = 0) -> np.ndarray:
    """Cosine distances of the pairs i < j of the training features, or of `max_pairs`
    pairs drawn with a fixed seed when there are more."""
    n = len(x)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = torch.triu_indices(n, n, offset=1)
    else:
        gen = torch.Generator().manual_seed(seed)
        i = torch.randint(n, (max_pairs,), generator=gen)
        j = (i + torch.randint(1, n, (max_pairs,), generator=gen)) % n
    xn = F.normalize(x, dim=1)
    pairs = zip(i.split(1 << 18), j.split(1 << 18), strict=True)
    chunks = [1.0 - (xn[a] * xn[b]).sum(1) for a, b in pairs]
    return torch.cat(chunks).numpy().astype(np.float64)


class SSDH(FeatureObjective):
    """Yang et al., IJCAI 2018, Eq. 5-7: (S_ij - h_i . h_j / k)^2 on tanh codes h, averaged
    over the labelled pairs (S_ij != 0, i != j) of a batch; S from `ssdh_thresholds` fitted
    once on the training set's feature distances."""

    config = SSDHConfig

    def __init__(self, cfg: SSDHConfig, train_features: np.ndarray, train_idx: np.ndarray) -> None:
        super().__init__(cfg, train_features, train_idx)
        d = training_distances(self.features, cfg.max_pairs)
        self.d_l, self.d_r = ssdh_thresholds(d, cfg.alpha, cfg.beta, cfg.bins)

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        _, h = outputs[0]
        x = self.batch_features(idx, h)
        s = ssdh_labels(cosine_distances(x, x), self.d_l, self.d_r)
        s.fill_diagonal_(0.0)
        mask = s != 0
        sim = h @ h.T / h.shape[1]
        loss = ((s - sim)[mask] ** 2).sum() / mask.sum().clamp_min(1)
        return loss, {"labelled": mask.float().mean()}


# ----------------------------------------------------------------------- GreedyHash


class GreedyHash(FeatureObjective):
    """Su et al., NeurIPS 2018, Sec. 3 (unsupervised): b = sign(h) with the straight-through
    gradient; MSE between the cosine similarities of codes and of features over the batch's
    half-pairs, plus alpha mean | |h| - 1 |^3 on the pre-sign activations h."""

    config = GreedyHashConfig

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        h, _ = outputs[0]
        b = SignSTE.apply(h)
        x = self.batch_features(idx, h)
        sim = similarity_preservation(b, x)
        penalty = (h.abs() - 1.0).pow(3).abs().mean()
        return sim + self.cfg.alpha * penalty, {"similarity": sim, "penalty": penalty}


# --------------------------------------------------------------------------- BiHalf


class BiHalf(FeatureObjective):
    """Li and van Gemert, AAAI 2021, Sec. 3-4 (unsupervised): b = bi-half(h); MSE between the
    cosine similarities of codes and of features over the batch's half-pairs."""

    config = BiHalfConfig

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        h, _ = outputs[0]
        b = BiHalfSign.apply(h, self.cfg.gamma)
        loss = similarity_preservation(b, self.batch_features(idx, h))
        return loss, {"similarity": loss}


# --------------------------------------------------------------------------- DeepBit


class Rotate:
    """Rotate a PIL image by a fixed angle about its centre (corners filled with 0)."""

    def __init__(self, angle: float) -> None:
        self.angle = angle

    def __call__(self, img: Image.Image) -> Image.Image:
        return img.rotate(self.angle, resample=Image.BILINEAR)


class DeepBit(PeerObjective):
    """Lin et al., CVPR 2016, Eqs. 1-4, on s = sigmoid(fc) with b = 1[s >= 0.5]:
    alpha mean_n ||b_n - s_n||^2 + beta sum_m (mean_n s_nm - 0.5)^2
    + gamma mean_{n, theta} ||s_n,theta - s_n||^2 (theta: the rotated copies)."""

    config = DeepBitConfig

    def view_transform(self, train_t: Callable, eval_t: Callable) -> Callable:
        """The image, then one copy per rotation angle."""
        from torchvision import transforms as T

        return Views([train_t, *(T.Compose([Rotate(a), eval_t]) for a in self.cfg.angles)])

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        s = torch.sigmoid(outputs[0][0])
        b = (s.detach() >= 0.5).to(s.dtype)
        quant = (b - s).pow(2).sum(1).mean()
        balance = (s.mean(0) - 0.5).pow(2).sum()
        rotated = [torch.sigmoid(fc) for fc, _ in outputs[1:]]
        rotation = (
            torch.stack([(r - s).pow(2).sum(1).mean() for r in rotated]).mean()
            if rotated
            else s.new_zeros(())
        )
        c = self.cfg
        loss = c.alpha * quant + c.beta * balance + c.gamma * rotation
        return loss, {"quantisation": quant, "balance": balance, "rotation": rotation}


# --------------------------------------------------------------------------- CIBHash


class ResizedCrop:
    """A random resized crop back to the image's own size (any image size, picklable)."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, img: Image.Image) -> Image.Image:
        from torchvision import transforms as T

        return T.RandomResizedCrop(img.size[::-1], scale=(self.scale, 1.0))(img)


def augment(cfg: Any, eval_t: Callable) -> Callable:
    """One random view (SimCLR's, as CIBHash uses it): resized crop, flip, colour jitter,
    greyscale, then the eval transform. `cfg` has crop_scale, flip, jitter, jitter_p and
    grey_p (``peers.cibhash``, ``feature_net``)."""
    from torchvision import transforms as T

    steps: list[Callable] = [ResizedCrop(cfg.crop_scale)]
    if cfg.flip:
        steps.append(T.RandomHorizontalFlip())
    jitter = T.ColorJitter(cfg.jitter, cfg.jitter, cfg.jitter)
    steps += [T.RandomApply([jitter], p=cfg.jitter_p), T.RandomGrayscale(cfg.grey_p), eval_t]
    return T.Compose(steps)


def two_views(cfg: Any, eval_t: Callable) -> Views:
    """Two independent augmentations (`augment`) of each image: a contrastive pair."""
    return Views([augment(cfg, eval_t), augment(cfg, eval_t)])


def nt_xent(z_i: torch.Tensor, z_j: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (SimCLR) over 2N codes: each code's positive is its other view, the 2N - 2
    others are negatives; cosine similarity / temperature, mean over the 2N anchors."""
    z = F.normalize(torch.cat([z_i, z_j]), dim=1)
    n = len(z_i)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, positive)


def bernoulli_kl(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """KL(Bern(p) || Bern(q)) summed over bits, mean over the batch; q without gradient."""
    q = q.detach()
    kl = p * (torch.log(p + eps) - torch.log(q + eps)) + (1 - p) * (
        torch.log(1 - p + eps) - torch.log(1 - q + eps)
    )
    return kl.sum(1).mean()


class CIBHash(PeerObjective):
    """Qiu et al., IJCAI 2021, Eq. 12: NT-Xent between the stochastic codes of two views,
    z = sign_STE(sigmoid(fc) - u), u ~ U(0, 1), plus beta times the symmetrised KL between
    the views' bit probabilities."""

    config = CIBHashConfig

    def view_transform(self, train_t: Callable, eval_t: Callable) -> Callable:
        """Two independent augmentations of each image."""
        return two_views(self.cfg, eval_t)

    def __call__(self, outputs: Sequence[Outputs], idx: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        p_i, p_j = (torch.sigmoid(fc) for fc, _ in outputs[:2])
        z_i = SignSTE.apply(p_i - torch.rand_like(p_i))
        z_j = SignSTE.apply(p_j - torch.rand_like(p_j))
        contrast = nt_xent(z_i, z_j, self.cfg.temperature)
        kl = 0.5 * (bernoulli_kl(p_i, p_j) + bernoulli_kl(p_j, p_i))
        return contrast + self.cfg.beta * kl, {"contrast": contrast, "kl": kl}


# ------------------------------------------------------------------------------ build


def build_objective(
    peer: Peer,
    cfg: PeerConfig,
    train_features: np.ndarray,
    bits: int,
    train_idx: np.ndarray,
) -> PeerObjective:
    """The objective of `peer` from its params (``peers.<name>``), for `bits`-bit codes.

    `train_features` (n_train, z) holds the features.h5 rows of the training split; row r
    belongs to image `train_idx[r]` (the image indices the training view yields).
    """
    cls = peer.objective_class()
    if not (isinstance(cls, type) and issubclass(cls, PeerObjective)):
        raise NRDHError(f"peers.{peer.name}: {peer.objective} is not a PeerObjective subclass")
    if not isinstance(cfg, peer.config):
        raise NRDHError(f"peers.{peer.name}: expected a {peer.config.__name__}, got {cfg!r}")
    if bits < 1:
        raise NRDHError(f"peers.{peer.name}: bits {bits} is out of range, expected >= 1")
    return cls.from_training(cfg, train_features, np.asarray(train_idx))
