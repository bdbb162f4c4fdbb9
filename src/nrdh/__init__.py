"""NRDH: unsupervised deep hashing with node representation (Pattern Recognition 112, 2021)."""

from nrdh.numerics import pin_cpu_numerics

__version__ = "0.1.0"

# Before numpy or torch load their BLAS: the CPU kernels they pick decide the last bits.
pin_cpu_numerics()
