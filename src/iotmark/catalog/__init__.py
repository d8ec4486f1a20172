"""Standards catalog: IoT security standards as data, their cross-mappings, device risk classes and certification levels.

Data lives in `data/*.yaml` (one file per standard). Provision ids, statuses and counts are the standards' own;
titles and descriptions are iotmark's paraphrases. Facts we could not confirm carry `verified: false`.
"""

from iotmark.catalog.loader import (
    catalog_as_json,
    device_class,
    fully_covered,
    level_provisions,
    list_standards,
    load_device_classes,
    load_levels,
    load_mappings,
    load_standard,
    map_provisions,
    related,
)
from iotmark.catalog.types import (
    CatalogError,
    Category,
    Condition,
    Ixit,
    Level,
    Mapping,
    Provision,
    Source,
    Standard,
    TestCase,
)

__all__ = [
    "CatalogError",
    "Category",
    "Condition",
    "Ixit",
    "Level",
    "Mapping",
    "Provision",
    "Source",
    "Standard",
    "TestCase",
    "catalog_as_json",
    "device_class",
    "fully_covered",
    "level_provisions",
    "list_standards",
    "load_device_classes",
    "load_levels",
    "load_mappings",
    "load_standard",
    "map_provisions",
    "related",
]
