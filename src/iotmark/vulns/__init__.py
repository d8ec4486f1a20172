"""Offline vulnerability data and version-range matching for components embedded devices run.

No network at run time: shipped data (data/embedded.yaml) plus whatever the user imported from OSV
or NVD exports (see import_files) under user_data_dir().
"""

from iotmark.vulns.advisory import Advisory, AffectedRange
from iotmark.vulns.db import VulnDataError, VulnDB, VulnImportError, user_data_dir
from iotmark.vulns.importers import FileImport, ImportResult, import_files
from iotmark.vulns.names import ComponentId, Cpe, Purl, canonical_name, identify, parse_cpe, parse_purl
from iotmark.vulns.versions import Version, VersionError, compare_versions, parse_version, split_distro_version

__all__ = [
    "Advisory",
    "AffectedRange",
    "ComponentId",
    "Cpe",
    "FileImport",
    "ImportResult",
    "Purl",
    "Version",
    "VersionError",
    "VulnDB",
    "VulnDataError",
    "VulnImportError",
    "canonical_name",
    "compare_versions",
    "identify",
    "import_files",
    "parse_cpe",
    "parse_purl",
    "parse_version",
    "split_distro_version",
    "user_data_dir",
]
