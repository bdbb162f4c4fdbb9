"""NRDH: unsupervised deep hashing with node representation (Pattern Recognition 112, 2021).

Importing the package changes nothing in the process: the entry points (the stage runner,
nrdh.runner, and the `nrdh` command) pin the CPU kernels themselves (nrdh.numerics).
"""

__version__ = "0.1.0"
