"""SimCLR (Chen et al., ICML 2020): the feature network learned without labels, our stand-in
for ImageNet features where none can be downloaded.

Two augmented views of each training image (`nrdh.objectives.two_views`, the augmentations
CIBHash uses) go through the encoder and projection head (`nrdh.models.SimCLRNet`); NT-Xent
(`nrdh.objectives.nt_xent`) pulls each image's two views together against the other images
of the batch. The features are the encoder's pooled output h, before the head, optionally
standardised with the training split's statistics (`feature_statistics`). Every epoch
draws its order and augmentations from (seed, epoch), so CPU runs are byte-identical.
Its own module, so only the train_feature_net stage depends on the training code.
"""

from __future__ import annotations

import torch

from nrdh.backbones import STD_FLOOR
from nrdh.data import ImageSet, ScaledTensor, image_channels
from nrdh.errors import NRDHError
from nrdh.models import FeatureEncoder, SimCLRNet
from nrdh.objectives import nt_xent, two_views
from nrdh.params import FeatureNetConfig
from nrdh.train import epoch_loader, fit


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
        net.train()
        total, steps = 0.0, 0
        # the image indices are unused: no targets, no labels
        for (x_i, x_j), _ in epoch_loader(pairs, cfg.batch_size, cfg.seed, epoch):
            z_i, z_j = net(torch.cat([x_i, x_j]).to(device)).chunk(2)  # (B, proj_dim) each
            loss = nt_xent(z_i, z_j, cfg.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + loss.item(), steps + 1
        return {"loss": total / steps}

    history = fit(net, opt, cfg.epochs, run_epoch, None, 0, "", "feature_net")
    return encoder.cpu().eval(), history


@torch.no_grad()
def feature_statistics(
    encoder: FeatureEncoder, images: ImageSet, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and population std (floored at STD_FLOOR) of the encoder's h over
    the train split, summed in float64 so the batch size does not change them: (dim,) each."""
    view = images.view(ScaledTensor(), images.split["train"])
    total = total_sq = torch.zeros(())
    for x, _ in torch.utils.data.DataLoader(view, batch_size=batch_size):
        h = encoder(x).double()  # (B, dim)
        total, total_sq = total + h.sum(0), total_sq + (h * h).sum(0)
    mean = total / len(view)
    std = (total_sq / len(view) - mean * mean).clamp_min(0).sqrt().clamp_min(STD_FLOOR)
    return mean.float(), std.float()
