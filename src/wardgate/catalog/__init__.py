"""The core's view of upstream catalogs: a per-resource, per-database cache and index."""

from wardgate.catalog.cache import CatalogCache
from wardgate.catalog.index import CatalogIndex

__all__ = ["CatalogCache", "CatalogIndex"]
