"""Where an NRDH gap comes from: representation, fit or generalisation (issue 12, item 3).

NRDH teaches its hash network the codes sign(g(x)) of the training images. Three mAP@all
numbers split a difference between two runs (or two implementations) into its sources:

- ``map_target``: sign(g(x)) ranked on the training images: how good the taught codes are
  (the representation);
- ``map_network``: the trained network's codes of the same training images, same protocol:
  what the network learnt of them; ``fit_gap = map_target - map_network``;
- ``map_test``: the network's codes on the query/database split (the evaluate stage's
  number); ``generalisation_gap = map_network - map_test``.

So ``map_test = map_target - fit_gap - generalisation_gap`` exactly, and a difference of
``map_test`` between two runs is the sum of the differences of the three terms.

Protocol on the training images (the issue leaves it open): the training images in their
stored order (ascending image index) are split by position, even positions as queries and
odd positions as the database, so no image is ranked against itself and both halves keep
the class mix whatever order the classes come in. Relevance, ties and empty queries are
those of the evaluate stage. The generalisation gap therefore also absorbs the change of
protocol (a database of half the training images against the real database).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nrdh.codes import sign_to_bits
from nrdh.errors import NRDHError
from nrdh.metrics import mean_average_precision


def half_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(query, database) positions of n training images: even positions, odd positions."""
    if n < 2:
        raise NRDHError(f"diagnostics: need at least 2 training images, got {n}")
    positions = np.arange(n)
    return positions[0::2], positions[1::2]


def half_split_map(bits01: np.ndarray, labels: np.ndarray, ties: str, empty_query: str) -> float:
    """mAP@all of 0/1 codes (n, bits) on the training images, even positions against odd."""
    q, b = half_split(len(bits01))
    return mean_average_precision(
        bits01[q], bits01[b], labels[q], labels[b], None, ties, bits01.shape[1], empty_query
    )


def fit_report(
    reps: np.ndarray,
    network_bits: np.ndarray,
    labels: np.ndarray,
    *,
    ties: str,
    empty_query: str,
    test: Sequence[np.ndarray] | None = None,
) -> dict[str, Any]:
    """The taught, learnt and test mAP@all of one run and the bit agreement taught/learnt.

    reps: (n, bits) g(x) of the training images, whose sign (Eq. 19, 1 where >= 0) is the
    code taught; network_bits: (n, bits) 0/1 codes of the trained network on the same
    images in the same order; labels: (n, C) multi-hot or (n,) class ids. test: optional
    (query codes, database codes, query labels, database labels), codes 0/1 or packed.
    ``bit_agreement`` is the fraction of the n x bits bits where the two codes agree,
    ``bit_agreement_per_bit`` the same per bit.
    """
    reps, network_bits = np.asarray(reps), np.asarray(network_bits)
    if reps.ndim != 2 or reps.shape != network_bits.shape or len(labels) != len(reps):
        raise NRDHError(
            f"diagnostics: g(x) {reps.shape}, network codes {network_bits.shape} and "
            f"{len(labels)} labels must describe the same (n, bits) training images"
        )
    target = sign_to_bits(reps)
    agree = target == network_bits
    report: dict[str, Any] = {
        "map_target": half_split_map(target, labels, ties, empty_query),
        "map_network": half_split_map(network_bits, labels, ties, empty_query),
        "bit_agreement": float(agree.mean()),
        "bit_agreement_per_bit": agree.mean(0).tolist(),
    }
    report["fit_gap"] = report["map_target"] - report["map_network"]
    if test is not None:
        bq, bb, yq, yb = test
        report["map_test"] = mean_average_precision(
            bq, bb, yq, yb, None, ties, reps.shape[1], empty_query
        )
        report["generalisation_gap"] = report["map_network"] - report["map_test"]
    n_query, n_database = (len(h) for h in half_split(len(reps)))
    report["protocol"] = {
        "train_split": "training images in index order: even positions query, odd database",
        "train_queries": n_query,
        "train_database": n_database,
        "ties": ties,
        "empty_query": empty_query,
        "map": "mAP@all",
    }
    return report


def regulariser_share(history: Sequence[dict[str, float]], beta: float) -> dict[str, float]:
    """The GCN's last epoch: its losses and beta * Lw / L1, the share of Eq. 8's weight
    term in the loss (L1 = alpha Lr + beta Lw holds for the epoch means too)."""
    if not history:
        raise NRDHError("diagnostics: the GCN loss history is empty")
    last = history[-1]
    return {
        "epochs_run": int(last["epoch"]),
        "loss": float(last["loss"]),
        "recon": float(last["recon"]),
        "reg": float(last["reg"]),
        "reg_share": beta * float(last["reg"]) / float(last["loss"]),
    }
