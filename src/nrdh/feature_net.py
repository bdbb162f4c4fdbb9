"""The self-supervised feature network's artifacts: its stage folder, checkpoint and loader.

The train_feature_net stage writes one folder per dataset: ``encoder.pt`` and
``history.json`` when ``features.backbone`` is simclr (SimCLR training:
`nrdh.train.train_simclr`), otherwise only ``none.json``. Torch is imported only by the
functions that save or load a network, so the torch-free feature and graph stages can
import this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nrdh import io
from nrdh.config import as_dict, from_mapping
from nrdh.errors import NRDHError
from nrdh.params import FeatureConfig, FeatureNetConfig

if TYPE_CHECKING:
    from nrdh.models import FeatureEncoder

KIND = "feature_net"
NETWORK, HISTORY, NO_NETWORK = "encoder.pt", "history.json", "none.json"


def network_file(net_dir: Path | None, f_cfg: FeatureConfig) -> Path | None:
    """The encoder checkpoint the features stage reads: <net_dir>/encoder.pt for the simclr
    backbone, None for the others (they use no learned network)."""
    if f_cfg.backbone != "simclr":
        return None
    if net_dir is None:
        raise NRDHError("features.backbone simclr: no train_feature_net folder given")
    return net_dir / NETWORK


def save_encoder(
    encoder: FeatureEncoder, cfg: FeatureNetConfig, channels: int, prov: dict, out: Path
) -> None:
    """The encoder's checkpoint: tensors and plain values (read with weights_only=True)."""
    io.save_torch(
        {
            "kind": KIND,
            "schema_version": io.SCHEMA_VERSION,
            "channels": channels,
            "config": as_dict(cfg),
            "provenance": prov,
            "state_dict": encoder.state_dict(),
        },
        out,
    )


def load_encoder(path: Path) -> tuple[FeatureEncoder, FeatureNetConfig]:
    """The trained encoder (eval mode) and the config that built it, from its checkpoint."""
    from nrdh.models import FeatureEncoder

    ckpt = io.load_torch(path, KIND)
    cfg = from_mapping(FeatureNetConfig, ckpt["config"], f"{path}:config")
    encoder = FeatureEncoder(ckpt["channels"], cfg.width, cfg.dim)
    encoder.load_state_dict(ckpt["state_dict"])
    return encoder.eval(), cfg
