"""Training loops for the GCN autoencoder and the hash network, with resumable checkpoints.

Every epoch draws its randomness from a generator seeded with (seed, epoch), so a run
resumed from a checkpoint replays exactly the epochs an uninterrupted run would have, and
the final weights are identical on CPU.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from nrdh.device import resolve_device
from nrdh.errors import NRDHError
from nrdh.io import read_torch, save_torch
from nrdh.losses import gcn_loss
from nrdh.models import GCNAutoencoder, HashNet
from nrdh.params import GCNConfig, HasherConfig

if TYPE_CHECKING:  # a type only: stages that never train a hasher need not depend on it
    from nrdh.objectives import Objective


def config_digest(obj: object) -> str:
    """Stable digest of a JSON-able description, to tell a checkpoint of the same run."""
    return hashlib.md5(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def plateau_reached(losses: Sequence[float], patience: int, min_delta: float) -> bool:
    """True when the last `patience` epoch losses all failed to improve on the best loss
    before them by a relative `min_delta` (a positive loss counts as an improvement when it
    is below best * (1 - min_delta); the best moves only on an improvement).

    A pure function of the loss sequence, so a resumed run stops at the same epoch.
    """
    if not losses:
        return False
    best, waited = losses[0], 0
    for loss in losses[1:]:
        if loss < best * (1.0 - min_delta):
            best, waited = loss, 0
        else:
            waited += 1
    return waited >= patience


def gcn_stop_rule(cfg: GCNConfig) -> Callable[[list[dict[str, float]]], bool] | None:
    """The GCN's early-stopping test on its history (None = run all ``gcn.epochs``)."""
    if cfg.stop == "epochs":
        return None
    return lambda history: plateau_reached(
        [h["loss"] for h in history], cfg.patience, cfg.min_delta
    )


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    run_epoch: Callable[[int], dict[str, float]],
    checkpoint: Path | None,
    every: int,
    run_id: str,
    desc: str,
    stop: Callable[[list[dict[str, float]]], bool] | None = None,
) -> list[dict[str, float]]:
    """Run epochs with a progress bar, resuming from and saving `checkpoint` every `every` epochs.

    `run_epoch(epoch)` trains one epoch and returns its mean losses; `stop(history)`, when
    given, ends training early once it returns True. A checkpoint whose run_id differs
    (other params or inputs) is ignored. The checkpoint is removed at the end.
    It holds tensors and plain values only and is read with ``weights_only=True``.
    """
    history: list[dict[str, float]] = []
    start = 0
    if checkpoint is not None and checkpoint.is_file():
        try:
            state = read_torch(checkpoint, f"{desc} resume")
        except NRDHError as exc:
            raise NRDHError(f"{exc}; delete it to train from scratch") from None
        if isinstance(state, dict) and state.get("run_id") == run_id:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, start = state["history"], state["epoch"]
            tqdm.write(f"{desc}: resuming from {checkpoint} at epoch {start}")
    bar = tqdm(range(start, epochs), desc=desc, initial=start, total=epochs, leave=False)
    for epoch in bar:
        stats = run_epoch(epoch)
        history.append({"epoch": epoch + 1, **stats})
        bar.set_postfix(loss=f"{stats['loss']:.4f}", refresh=False)
        if stop is not None and stop(history):
            break
        if checkpoint is not None and every and (epoch + 1) % every == 0 and epoch + 1 < epochs:
            save_torch(
                {
                    "run_id": run_id,
                    "epoch": epoch + 1,
                    "history": history,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                },
                checkpoint,
            )
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return history


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator that orders one epoch: a pure function of (seed, epoch)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def epoch_loader(
    images: torch.utils.data.Dataset,
    batch_size: int,
    seed: int,
    epoch: int,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> torch.utils.data.DataLoader:
    """The shuffled batches of one epoch (the last partial batch dropped unless it is the
    only one), ordered by `epoch_generator`. Random transforms draw from the global RNG, so
    it is seeded per epoch too: a run resumed from a checkpoint replays the same views."""
    torch.manual_seed(seed * 1_000_003 + epoch)
    return torch.utils.data.DataLoader(
        images,
        batch_size=batch_size,
        shuffle=True,
        drop_last=len(images) > batch_size,
        generator=epoch_generator(seed, epoch),
        num_workers=num_workers,
        pin_memory=pin_memory,
    )


def train_gcn(
    x: np.ndarray,
    nodes: np.ndarray,
    valid: np.ndarray,
    adj: np.ndarray,
    bits: int,
    cfg: GCNConfig,
    seed: int,
    checkpoint: Path | None = None,
    run_id: str = "",
) -> tuple[GCNAutoencoder, list[dict[str, float]]]:
    """Train the GCN autoencoder on training features x (n, z) and stored graphs.

    nodes (P, B, M) and valid (P, B, M) index x per partition; adj (P, B, M, M) is U'.
    Epoch e uses partition e mod P, in a shuffled order of graphs; each optimiser step
    takes `graphs_per_step` graphs as one batched tensor.
    """
    torch.manual_seed(seed)
    model = GCNAutoencoder(x.shape[1], bits, cfg.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    xt = torch.from_numpy(x)
    nodes_t, valid_t = torch.from_numpy(nodes), torch.from_numpy(valid)
    adj_t = torch.from_numpy(adj)
    eye = torch.eye(nodes.shape[-1])

    def run_epoch(epoch: int) -> dict[str, float]:
        part = epoch % nodes.shape[0]
        order = torch.randperm(nodes.shape[1], generator=epoch_generator(seed, epoch))
        totals = np.zeros(3)
        steps = 0
        for chunk in order.split(cfg.graphs_per_step):
            idx = nodes_t[part, chunk]  # (S, M)
            a = eye.expand(len(chunk), -1, -1) if cfg.identity_graph else adj_t[part, chunk]
            xb = xt[idx]  # (S, M, z)
            _, x_hat = model(xb, a)
            loss, lr_, lw = gcn_loss(
                xb,
                x_hat,
                model.weights(),
                cfg.alpha,
                cfg.beta,
                valid_t[part, chunk],
                cfg.recon_reduction,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            totals += [loss.item(), lr_.item(), lw.item()]
            steps += 1
        return dict(zip(("loss", "recon", "reg"), (totals / steps).tolist(), strict=True))

    history = fit(
        model,
        opt,
        cfg.epochs,
        run_epoch,
        checkpoint,
        cfg.checkpoint_every,
        run_id,
        "gcn",
        gcn_stop_rule(cfg),
    )
    return model, history


@torch.no_grad()
def node_representations(
    model: GCNAutoencoder,
    x: np.ndarray,
    nodes: np.ndarray,
    valid: np.ndarray,
    adj: np.ndarray,
    identity_graph: bool = False,
    chunk: int = 1024,
) -> np.ndarray:
    """g(x) for every training node, from the first partition's graphs: (n, g) float32."""
    model.eval()
    n = x.shape[0]
    bits = model.encoder[-1].weight.shape[1]
    out = np.zeros((n, bits), dtype=np.float32)
    xt = torch.from_numpy(x)
    eye = torch.eye(nodes.shape[-1])
    for s in range(0, nodes.shape[1], chunk):
        idx = torch.from_numpy(nodes[0, s : s + chunk])
        a = (
            eye.expand(len(idx), -1, -1)
            if identity_graph
            else torch.from_numpy(adj[0, s : s + chunk])
        )
        h = model.encode(xt[idx], a).numpy()  # (S, M, g)
        ok = valid[0, s : s + chunk]
        out[nodes[0, s : s + chunk][ok]] = h[ok]
    return out


def make_optimizer(params: Iterable[torch.Tensor], cfg: HasherConfig) -> torch.optim.Optimizer:
    """Adam or SGD (momentum 0.9) with the configured learning rate and weight decay."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def train_hasher(
    model: HashNet,
    images: torch.utils.data.Dataset,
    objective: Objective,
    cfg: HasherConfig,
    seed: int,
    checkpoint: Path | None = None,
    run_id: str = "",
) -> list[dict[str, float]]:
    """Fit the hash network with `objective` (NRDH's Eq. 18 or a peer's loss).

    Items of `images` are (view, i) or, for objectives needing several views, (tuple of
    views, i), i the image index (see `Objective.view_transform`). Each view goes through
    the network as its own batch; the history holds the loss and the objective's terms.
    """
    device = resolve_device(cfg.device)
    amp = cfg.amp and device.type == "cuda"
    if device.type == "cuda":  # documented determinism flags (docs/RELIABILITY.md)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    model.to(device)
    opt = make_optimizer(model.parameters(), cfg)
    if len(images) < 2:
        raise NRDHError("hasher: the training split needs at least 2 images")

    def run_epoch(epoch: int) -> dict[str, float]:
        model.train()
        loader = epoch_loader(
            images, cfg.batch_size, seed, epoch, cfg.num_workers, device.type == "cuda"
        )
        totals: dict[str, float] = {}
        steps = 0
        for xb, idx in loader:
            outputs = []
            for view in xb if isinstance(xb, list | tuple) else (xb,):
                with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                    fc, fch = model(view.to(device, non_blocking=True))
                outputs.append((fc.float(), fch.float()))
            loss, terms = objective(outputs, idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            for key, value in {"loss": loss, **terms}.items():
                totals[key] = totals.get(key, 0.0) + value.item()
            steps += 1
        return {key: total / max(steps, 1) for key, total in totals.items()}

    history = fit(
        model, opt, cfg.epochs, run_epoch, checkpoint, cfg.checkpoint_every, run_id, "hasher"
    )
    model.cpu()
    return history


@torch.no_grad()
def hash_outputs(
    model: HashNet,
    images: torch.utils.data.Dataset,
    batch_size: int,
    device: str,
    num_workers: int = 0,
) -> np.ndarray:
    """fch(x) for every item of `images`, in order: (n, bits) float32 (eval mode).

    `num_workers` loader processes decode and transform, so a GPU is not left waiting on
    the main process (one core supplies about 1,000 images/s at 224 x 224).
    """
    dev = resolve_device(device)
    model.to(dev).eval()
    loader = torch.utils.data.DataLoader(
        images,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=dev.type == "cuda",
    )
    outs = [
        model(xb.to(dev, non_blocking=True))[1].cpu().numpy()
        for xb, _ in tqdm(loader, desc="codes", leave=False)
    ]
    model.cpu()
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0, 0), np.float32)
