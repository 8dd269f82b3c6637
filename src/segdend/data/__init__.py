"""Data: IDX files, the MNIST and Fashion-MNIST sources, the cache and checksums."""

from segdend.data.dataset import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
