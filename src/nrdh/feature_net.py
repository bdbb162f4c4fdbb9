"""The self-supervised feature network: SimCLR (Chen et al., ICML 2020) on the training
images, never their labels; our stand-in for ImageNet features where none can be downloaded.

Two augmented views of each training image (`nrdh.objectives.two_views`, the augmentations
CIBHash uses) go through the encoder and projection head (`nrdh.models.SimCLRNet`); NT-Xent
(`nrdh.objectives.nt_xent`) pulls each image's views together against the other images of
the batch. The features are the encoder's pooled output h, before the head. Every epoch
draws its order and augmentations from (seed, epoch), so CPU runs are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

import torch

from nrdh import io
from nrdh.config import as_dict, from_mapping
from nrdh.data import ImageSet, ScaledTensor, image_channels
from nrdh.errors import NRDHError
from nrdh.models import FeatureEncoder, SimCLRNet
from nrdh.objectives import nt_xent, two_views
from nrdh.params import FeatureNetConfig
from nrdh.train import epoch_generator, fit

KIND = "feature_net"


def train_simclr(
    images: ImageSet, cfg: FeatureNetConfig, device: torch.device
) -> tuple[FeatureEncoder, list[dict[str, float]]]:
    """The encoder trained with NT-Xent on `images.split["train"]` (images only: the view
    yields no labels), and its loss history per epoch; returned on the CPU in eval mode."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    encoder = FeatureEncoder(image_channels(images), cfg.width, cfg.dim)
    net = SimCLRNet(encoder, cfg.dim, cfg.proj_dim).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    pairs = images.view(two_views(cfg, ScaledTensor()), images.split["train"])
    if len(pairs) < 2:
        raise NRDHError("feature_net: the training split needs at least 2 images")

    def run_epoch(epoch: int) -> dict[str, float]:
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # the augmentations' global RNG
        net.train()
        loader = torch.utils.data.DataLoader(
            pairs,
            batch_size=cfg.batch_size,
            shuffle=True,
            drop_last=len(pairs) > cfg.batch_size,
            generator=epoch_generator(cfg.seed, epoch),
        )
        total, steps = 0.0, 0
        for (x_i, x_j), _ in loader:  # the image indices are unused: no targets, no labels
            z_i, z_j = net(torch.cat([x_i, x_j]).to(device)).chunk(2)  # (B, proj_dim) each
            loss = nt_xent(z_i, z_j, cfg.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        return {"loss": total / steps}

    history = fit(net, opt, cfg.epochs, run_epoch, None, 0, "", KIND)
    return encoder.cpu().eval(), history


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
    ckpt = io.load_torch(path, KIND)
    cfg = from_mapping(FeatureNetConfig, ckpt["config"], f"{path}:config")
    encoder = FeatureEncoder(ckpt["channels"], cfg.width, cfg.dim)
    encoder.load_state_dict(ckpt["state_dict"])
    return encoder.eval(), cfg
