"""The self-supervised feature network's artifacts: its stage folder, checkpoint and loader.

The train_feature_net stage writes one folder per dataset: ``encoder.pt`` and
``history.json`` when ``features.backbone`` is simclr (SimCLR training:
`nrdh.simclr.train_simclr`), otherwise only ``none.json``. Torch is imported only by the
functions that save or load a network, so the torch-free feature and graph stages can
import this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nrdh import io
from nrdh.errors import NRDHError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from nrdh.models import FeatureEncoder

KIND = "feature_net"
NETWORK, HISTORY, NO_NETWORK = "encoder.pt", "history.json", "none.json"


def network_file(net_dir: Path | None, backbone: str) -> Path | None:
    """The encoder checkpoint the features stage reads: <net_dir>/encoder.pt for the simclr
    backbone, None for the others (they use no learned network)."""
    if backbone != "simclr":
        return None
    if net_dir is None:
        raise NRDHError("features.backbone simclr: no train_feature_net folder given")
    return net_dir / NETWORK


def save_encoder(
    encoder: FeatureEncoder,
    stats: tuple[torch.Tensor, torch.Tensor] | None,
    threads: int,
    prov: dict,
    out: Path,
) -> None:
    """The encoder's checkpoint with the train-split (mean, std) of its features when they
    are standardised, and the CPU thread count it was trained with: tensors and plain
    values (read with weights_only=True). It stores the encoder's own constructor arguments,
    so it loads whatever keys feature_net gains."""
    io.save_torch(
        {
            "kind": KIND,
            "schema_version": io.CHECKPOINT_SCHEMA_VERSION,
            "arch": encoder.arch,
            "threads": threads,  # the features are its bytes on this thread count
            "provenance": prov,
            "state_dict": encoder.state_dict(),
            "standardise": None if stats is None else {"mean": stats[0], "std": stats[1]},
        },
        out,
    )


def load_encoder(path: Path) -> tuple[nn.Module, int, int]:
    """The feature network of a checkpoint (eval mode): the encoder, then the standardisation
    when it has one; its feature size; and the CPU thread count it was trained with."""
    from torch import nn

    from nrdh.models import FeatureEncoder, Standardise

    ckpt = io.load_torch(path, KIND)
    encoder = FeatureEncoder(**ckpt["arch"])
    encoder.load_state_dict(ckpt["state_dict"])
    stats = ckpt["standardise"]
    model = encoder if stats is None else nn.Sequential(encoder, Standardise(**stats))
    return model.eval(), ckpt["arch"]["dim"], ckpt["threads"]
