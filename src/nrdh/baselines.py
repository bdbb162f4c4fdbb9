"""Classic unsupervised hashing baselines NRDH is compared with: LSH, PCAH, ITQ and SH.

All four learn from training features xt (nt, z) and map features x (n, z) to 0/1 codes
(n, bits). Every model is a handful of arrays (its `state()`), so a stage can store it in
HDF5 and `from_state` rebuilds the same encoder. Maths is in float64 whatever the input.

- lsh: Charikar 2002 sign random projections; bit = [(x - mean) @ W >= 0], W ~ N(0, 1).
- pcah: bit = [(x - mean) @ P >= 0], P the top-`bits` principal directions.
- itq: Gong & Lazebnik, CVPR 2011; PCA to `bits` dims, then alternate B = sign(V R) and the
  orthogonal Procrustes step R = argmin ||B - V R||_F from a random orthogonal R.
- sh: Weiss, Torralba & Fergus, NIPS 2008; PCA, a uniform box [a, b] per PCA dim, and the
  `bits` one-dimensional eigenfunctions cos(k pi (v - a) / (b - a)) with the smallest
  eigenvalues (k / (b - a))^2, thresholded at 0; follows the authors' trainSH/compressSH.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nrdh.errors import NRDHError

METHODS = ("lsh", "pcah", "itq", "sh", "random")

# Options each method accepts through fit_baseline(**options), with their defaults.
OPTIONS: dict[str, dict[str, int]] = {
    "lsh": {},
    "pcah": {},
    "itq": {"iterations": 50},  # Procrustes updates; the demo's ITQ(V, 50) makes 51
    "sh": {},
    "random": {},
}

# Arrays each method's state must hold; "loss" (ITQ's training history) is informative only.
STATE_KEYS: dict[str, tuple[str, ...]] = {
    "lsh": ("mean", "projection"),
    "pcah": ("mean", "projection"),
    "itq": ("mean", "projection", "loss"),
    "sh": ("mean", "projection", "lower", "upper", "modes"),
    "random": ("mean", "seed", "n_bits"),
}


@dataclass(frozen=True)
class Baseline:
    """A fitted baseline hash: the method name and the arrays that define its encoder."""

    method: str
    arrays: dict[str, np.ndarray]

    @property
    def bits(self) -> int:
        """Code length: one column of the projection (LSH/PCAH/ITQ) or one SH mode per bit."""
        if self.method == "sh":
            return int(self.arrays["modes"].shape[0])
        if self.method == "random":
            return int(self.arrays["n_bits"][0])
        return int(self.arrays["projection"].shape[1])

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Map features x (n, z) to codes (n, bits) of 0/1 as uint8."""
        mean = self.arrays["mean"]
        if x.ndim != 2 or x.shape[1] != mean.shape[0]:
            raise NRDHError(
                f"{self.method}: features to encode have shape {x.shape}, "
                f"expected (n, {mean.shape[0]})"
            )
        if self.method == "random":
            return _random_codes(x, int(self.arrays["seed"][0]), self.bits)
        v = (np.asarray(x, dtype=np.float64) - mean) @ self.arrays["projection"]  # (n, p)
        if self.method != "sh":
            return (v >= 0).astype(np.uint8)
        return (_sh_eigenfunctions(v, self.arrays) > 0).astype(np.uint8)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that rebuild this encoder with `from_state` (stored by the stage in HDF5)."""
        return {key: value.copy() for key, value in self.arrays.items()}

    @classmethod
    def from_state(cls, method: str, state: dict[str, np.ndarray]) -> Baseline:
        """Rebuild a baseline from `state()` output, checking the method and required arrays."""
        _check_method(method)
        missing = [key for key in STATE_KEYS[method] if key not in state]
        if missing:
            raise NRDHError(
                f"{method} baseline state: missing arrays {missing}, "
                f"expected {list(STATE_KEYS[method])}"
            )
        return cls(method, {key: np.asarray(state[key]) for key in STATE_KEYS[method]})


def fit_baseline(method: str, xt: np.ndarray, bits: int, seed: int, **options: int) -> Baseline:
    """Fit one baseline on training features xt (nt, z) for `bits`-bit codes, seeded."""
    _check_method(method)
    unknown = sorted(set(options) - set(OPTIONS[method]))
    if unknown:
        raise NRDHError(
            f"{method} baseline: unknown options {unknown}, expected some of "
            f"{sorted(OPTIONS[method])}"
        )
    if isinstance(bits, bool) or not isinstance(bits, int) or bits < 1:
        raise NRDHError(f"{method} baseline: bits must be a positive integer, got {bits!r}")
    if xt.ndim != 2 or xt.shape[0] < 2:
        raise NRDHError(
            f"{method} baseline: training features have shape {xt.shape}, "
            f"expected (nt, z) with nt >= 2"
        )
    if not np.all(np.isfinite(xt)):
        raise NRDHError(f"{method} baseline: training features contain NaN or inf")
    z = xt.shape[1]
    if method in ("pcah", "itq") and bits > z:
        raise NRDHError(
            f"{method} baseline: bits={bits} exceeds the feature dim z={z} "
            f"(it keeps one PCA direction per bit)"
        )
    xt = np.asarray(xt, dtype=np.float64)
    mean = xt.mean(axis=0)
    rng = np.random.default_rng(seed)
    arrays = _FITTERS[method](xt - mean, bits, rng, **{**OPTIONS[method], **options})
    return Baseline(method, {"mean": mean, **arrays})


def _check_method(method: str) -> None:
    """Reject an unknown method name, listing the known ones."""
    if method not in METHODS:
        raise NRDHError(f"unknown baseline method {method!r}, expected one of {list(METHODS)}")


def _pca(xc: np.ndarray, dims: int) -> np.ndarray:
    """Top-`dims` principal directions (z, dims) of centred data, by decreasing variance.

    Each direction's sign is fixed so its largest-magnitude entry is positive (as sklearn's
    svd_flip), making codes independent of the eigensolver's arbitrary sign.
    """
    cov = xc.T @ xc / (xc.shape[0] - 1)  # (z, z)
    eigval, eigvec = np.linalg.eigh(cov)  # ascending eigenvalues
    directions = eigvec[:, np.argsort(-eigval, kind="stable")[:dims]]  # (z, dims)
    signs = np.sign(directions[np.argmax(np.abs(directions), axis=0), np.arange(dims)])
    return directions * signs


def _fit_lsh(xc: np.ndarray, bits: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """LSH: Gaussian random hyperplanes through the training mean."""
    return {"projection": rng.standard_normal((xc.shape[1], bits))}


def _fit_pcah(xc: np.ndarray, bits: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PCAH: hyperplanes orthogonal to the top-`bits` principal directions."""
    return {"projection": _pca(xc, bits)}


def _fit_itq(
    xc: np.ndarray, bits: int, rng: np.random.Generator, iterations: int
) -> dict[str, np.ndarray]:
    """ITQ: rotate the PCA projection to minimise the quantisation loss ||B - V R||_F^2.

    R starts as the orthogonal factor of one SVD of a random matrix, then takes `iterations`
    Procrustes updates (one SVD each): iterations + 1 SVDs in all. Loss history `loss`
    (iterations + 1,) is ||B - V R||_F^2 / nt at each iterate R_t with its optimal
    B_t = sign(V R_t); it cannot increase, since each half-step is a minimiser. Codes use
    the final R, as the authors' demo does. Its ITQ.m loops ``for iter=0:n_iter``, so its
    ITQ(V, 50) makes 51 updates (52 SVDs): ``iterations=51`` here.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise NRDHError(f"itq baseline: iterations must be an integer >= 0, got {iterations!r}")
    pc = _pca(xc, bits)
    v = xc @ pc  # (nt, bits)
    rotation = np.linalg.svd(rng.standard_normal((bits, bits)))[0]  # random orthogonal
    loss = []
    for step in range(iterations + 1):
        vr = v @ rotation
        b = np.where(vr >= 0, 1.0, -1.0)  # (nt, bits)
        loss.append(np.sum((b - vr) ** 2) / v.shape[0])
        if step == iterations:
            break
        # Procrustes: max tr(R^T V^T B); with B^T V = U S W^T, R = W U^T.
        u, _, wt = np.linalg.svd(b.T @ v)
        rotation = wt.T @ u.T
    return {"projection": pc @ rotation, "loss": np.asarray(loss)}


def _fit_sh(xc: np.ndarray, bits: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """SH: pick the `bits` smallest-eigenvalue 1-D eigenfunctions of uniform PCA boxes.

    As in trainSH.m: npca = min(bits, z); box [min - eps, max + eps] per PCA dim; dim i
    offers modes k = 1..ceil((bits + 1) R_i / max R); modes are ranked by (k / R_i)^2
    (a stable sort, the constant mode skipped) and the first `bits` kept.
    """
    pc = _pca(xc, min(bits, xc.shape[1]))
    v = xc @ pc  # (nt, npca)
    eps = np.finfo(np.float64).eps
    lower, upper = v.min(axis=0) - eps, v.max(axis=0) + eps
    width = upper - lower
    max_mode = np.ceil((bits + 1) * width / width.max()).astype(np.int64)
    # One row per candidate: the constant mode, then k = 1..max_mode_i - 1 on each dim i.
    modes = [np.zeros(len(width), dtype=np.int64)]
    for i, top in enumerate(max_mode):
        for k in range(1, top):
            mode = np.zeros(len(width), dtype=np.int64)
            mode[i] = k
            modes.append(mode)
    modes_all = np.stack(modes)  # (n_modes, npca)
    eigval = np.sum((modes_all * np.pi / width) ** 2, axis=1)
    order = np.argsort(eigval, kind="stable")[1 : bits + 1]
    return {"projection": pc, "lower": lower, "upper": upper, "modes": modes_all[order]}


def _sh_eigenfunctions(v: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """SH eigenfunction values (n, bits): prod_j sin(pi/2 + k_j pi (v_j - a_j) / (b_j - a_j))."""
    omega0 = np.pi / (arrays["upper"] - arrays["lower"])  # (npca,)
    omegas = arrays["modes"] * omega0  # (bits, npca)
    shifted = v - arrays["lower"]  # (n, npca)
    # One bit at a time keeps memory at (n, npca) rather than (n, bits, npca).
    return np.stack([np.prod(np.sin(shifted * w + np.pi / 2), axis=1) for w in omegas], axis=1)


def _random_codes(x: np.ndarray, seed: int, bits: int) -> np.ndarray:
    """Chance-level reference: fair coin bits seeded by (seed, the row's bytes), so an image
    always gets the same code but codes carry no information about similarity."""
    rows = np.ascontiguousarray(x, dtype=np.float32)
    return (
        np.stack(
            [
                np.random.default_rng([seed, zlib.crc32(row.tobytes())]).integers(0, 2, bits)
                for row in rows
            ]
        )
        .astype(np.uint8)
        .reshape(len(rows), bits)
    )


def _fit_random(xc: np.ndarray, bits: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "seed": np.array([rng.integers(2**31)], dtype=np.int64),
        "n_bits": np.array([bits], dtype=np.int64),
    }


_FITTERS: dict[str, Callable[..., dict[str, np.ndarray]]] = {
    "lsh": _fit_lsh,
    "pcah": _fit_pcah,
    "itq": _fit_itq,
    "sh": _fit_sh,
    "random": _fit_random,
}
