"""NRDH: unsupervised deep hashing with node representation (Pattern Recognition 112, 2021)."""

__version__ = "0.1.0"
