"""Readers of the pipeline's HDF5 artifacts."""

from nrdh.features import Features, read_features

__all__ = ["Features", "read_features"]
