"""The deep unsupervised peers' registry: each peer's config class and where its objective is.

A peer is one objective class (`nrdh.objectives.PeerObjective`) whose ``config`` attribute
names its config dataclass; the config's ``key`` is the peer's name and its
``peers.<name>`` block of params.yaml. The built-in peers are registered here, once each,
by `register_peer` on their config, which points at the objective class by its dotted path:
params load validates every ``peers`` block without importing torch, and the objective
module is imported only when a stage builds the objective. A peer of one's own needs no
edit here: its params block names its class (``objective: "module:Class"``), see
docs/PEERS.md, "Adding a peer".
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from nrdh.config import check_range, from_mapping
from nrdh.errors import NRDHError

OBJECTIVE = "objective"  # the key of a peers block naming its own objective class


@dataclass(frozen=True)
class PeerConfig:
    """Settings every peer has: lr and epochs overrides of the hasher section (0 = its value).

    Subclasses name their params.yaml key (`key`) and the fields that must be >= 0
    (`nonnegative`); each is checked with a message naming ``peers.<key>.<field>``.
    """

    key: ClassVar[str] = ""
    nonnegative: ClassVar[tuple[str, ...]] = ()
    lr: float
    epochs: int

    def __post_init__(self) -> None:
        for field in ("lr", "epochs", *self.nonnegative):
            check_range(f"peers.{self.key}.{field}", getattr(self, field), 0.0, None)


@dataclass(frozen=True)
class Peer:
    """A registered peer: its config class (whose key is its name) and its objective class's
    dotted path, ``module:Class``, imported only when the objective is built."""

    config: type[PeerConfig]
    objective: str

    @property
    def name(self) -> str:
        """The peer's name: its config's key and its ``peers`` block."""
        return self.config.key

    def objective_class(self) -> Any:
        """The objective class, imported now, checked to declare this peer's config."""
        cls = import_object(self.objective, f"peers.{self.name}.{OBJECTIVE}")
        if getattr(cls, "config", None) is not self.config:
            raise NRDHError(
                f"peers.{self.name}.{OBJECTIVE}: {self.objective} does not declare "
                f"config = {self.config.__name__}"
            )
        return cls


PEERS: dict[str, Peer] = {}  # the built-in peers by name, filled by `register_peer`
C = TypeVar("C", bound=type[PeerConfig])


def register_peer(objective: str) -> Callable[[C], C]:
    """Class decorator registering a built-in peer's config with its objective's dotted path."""

    def register(config: C) -> C:
        if config.key in PEERS:
            raise NRDHError(f"peers: {config.key!r} is registered twice")
        PEERS[config.key] = Peer(config, objective)
        return config

    return register


def import_object(path: str, where: str) -> Any:
    """The object `path` (``module:name``) names, imported, or an NRDHError naming `where`."""
    module, sep, attr = path.partition(":")
    if not (sep and module and attr):
        raise NRDHError(f"{where}: expected 'module:Class', got {path!r}")
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        raise NRDHError(
            f"{where}: cannot import {module!r} ({exc}); the stages must be able to import it "
            "(a module under the project's src/, or on PYTHONPATH)"
        ) from None
    if not hasattr(found, attr):
        raise NRDHError(f"{where}: module {module!r} has no {attr!r}")
    return getattr(found, attr)


def _own_peer(name: str, path: Any) -> Peer:
    """The peer a ``peers.<name>`` block adds by naming its objective class (imported now)."""
    where = f"peers.{name}.{OBJECTIVE}"
    if name in PEERS:
        raise NRDHError(
            f"{where}: {name!r} is a built-in peer ({PEERS[name].objective}); give yours "
            "another name"
        )
    if not isinstance(path, str):
        raise NRDHError(f"{where}: expected 'module:Class', got {path!r}")
    config = getattr(import_object(path, where), "config", None)
    if not (isinstance(config, type) and issubclass(config, PeerConfig)):
        raise NRDHError(f"{where}: {path} has no config, a PeerConfig subclass")
    if config.key != name:
        raise NRDHError(f"{where}: {path}'s config {config.__name__} has key {config.key!r}")
    return Peer(config, path)


def parse_peers(data: Any) -> tuple[dict[str, PeerConfig], dict[str, Peer]]:
    """The ``peers`` section: (name -> its config, name -> its Peer). Every built-in peer has
    a block; any other block names its objective class (``objective: "module:Class"``)."""
    if not isinstance(data, dict):
        raise NRDHError("peers: expected a mapping of one block per peer")
    missing = sorted(set(PEERS) - set(data))
    if missing:
        raise NRDHError(f"peers: missing block(s) {missing}; every built-in peer has one")
    registry, configs = dict(PEERS), {}
    for name, block in data.items():
        section = dict(block) if isinstance(block, dict) else block
        if isinstance(section, dict) and OBJECTIVE in section:
            registry[name] = _own_peer(name, section.pop(OBJECTIVE))
        elif name not in PEERS:
            raise NRDHError(
                f"peers.{name}: unknown peer; known peers are {sorted(PEERS)}, and a peer of "
                f"your own names its class ({OBJECTIVE}: 'module:Class', docs/PEERS.md)"
            )
        configs[name] = peer_config(registry[name], section)
    return configs, registry


def peer_config(peer: Peer, section: Mapping[str, Any] | None) -> Any:
    """The frozen config of `peer` from its ``peers.<name>`` mapping (without ``objective``)."""
    return from_mapping(peer.config, section, f"peers.{peer.name}")


def hasher_config(hasher_cfg: Any, peer_cfg: Any) -> Any:
    """The hasher config with the peer's lr and epochs where they are set (> 0)."""
    changes = {k: getattr(peer_cfg, k) for k in ("lr", "epochs") if getattr(peer_cfg, k)}
    return dataclasses.replace(hasher_cfg, **changes)


# --------------------------------------------------------------------- the built-in peers
@register_peer("nrdh.objectives:SSDH")
@dataclass(frozen=True)
class SSDHConfig(PeerConfig):
    """SSDH (Yang et al., IJCAI 2018): thresholds on the cosine-distance distribution."""

    key: ClassVar[str] = "ssdh"
    nonnegative: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    alpha: float  # d_l = m_l - alpha sigma_l (Sec. 3.1; authors' code)
    beta: float  # d_r = m_r + beta sigma_r
    bins: int  # histogram bins locating the mode m (the paper: "the mode")
    max_pairs: int  # distances sampled for the fit (all pairs when fewer)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("peers.ssdh.bins", self.bins, 2, None)
        check_range("peers.ssdh.max_pairs", self.max_pairs, 1, None)


@register_peer("nrdh.objectives:GreedyHash")
@dataclass(frozen=True)
class GreedyHashConfig(PeerConfig):
    """GreedyHash, unsupervised (Su et al., NeurIPS 2018)."""

    key: ClassVar[str] = "greedyhash"
    nonnegative: ClassVar[tuple[str, ...]] = ("alpha",)
    alpha: float  # weight of the | |h| - 1 |^3 penalty (authors' code)


@register_peer("nrdh.objectives:BiHalf")
@dataclass(frozen=True)
class BiHalfConfig(PeerConfig):
    """BiHalf (Li and van Gemert, AAAI 2021)."""

    key: ClassVar[str] = "bihalf"
    nonnegative: ClassVar[tuple[str, ...]] = ("gamma",)
    gamma: float  # gradient scale of the bi-half layer (authors' code)


@register_peer("nrdh.objectives:DeepBit")
@dataclass(frozen=True)
class DeepBitConfig(PeerConfig):
    """DeepBit (Lin et al., CVPR 2016): quantisation, even distribution, rotation invariance."""

    key: ClassVar[str] = "deepbit"
    nonnegative: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma")
    alpha: float  # quantisation weight
    beta: float  # bit-balance weight
    gamma: float  # rotation-invariance weight
    angles: tuple[float, ...]  # rotations in degrees (Sec. 3.2)


@register_peer("nrdh.objectives:CIBHash")
@dataclass(frozen=True)
class CIBHashConfig(PeerConfig):
    """CIBHash (Qiu et al., IJCAI 2021): contrastive views + information bottleneck."""

    key: ClassVar[str] = "cibhash"
    nonnegative: ClassVar[tuple[str, ...]] = ("beta", "jitter")
    temperature: float  # NT-Xent temperature tau (Sec. 4.1)
    beta: float  # weight of the KL term (Sec. 4.1)
    crop_scale: float  # random resized crop: smallest area fraction (authors' code)
    flip: bool  # random horizontal flip (authors' code)
    jitter: float  # colour jitter strength: brightness, contrast, saturation
    jitter_p: float  # probability of colour jitter
    grey_p: float  # probability of greyscale

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("peers.cibhash.temperature", self.temperature, 1e-6, None)
        check_range("peers.cibhash.crop_scale", self.crop_scale, 1e-3, 1.0)
        for p in ("jitter_p", "grey_p"):
            check_range(f"peers.cibhash.{p}", getattr(self, p), 0.0, 1.0)
