"""Validate MUD files against the real RFC 8520 / RFC 8519 YANG modules with yangson.

The modules are the ones the pyang wheel installs under `<prefix>/share/yang/modules/ietf`; set
IOTMARK_YANG_PATH to use another folder holding the same files.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import site
import sys
import sysconfig
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import yaml

from iotmark.mitigate import yang_memo
from iotmark.mitigate.yang_errors import FirstError, collect_errors, parse_pointer

log = logging.getLogger(__name__)

_REVISION = re.compile(rb"^\s*revision\s+\"?(\d{4}-\d{2}-\d{2})\"?", re.MULTILINE)


class YangModulesMissing(RuntimeError):
    """The YANG modules needed to validate MUD files were not found."""


@dataclass(frozen=True)
class SchemaError:
    """One reason a MUD file does not conform: the instance path (RFC 7951 style) and what is wrong."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if env := os.environ.get("IOTMARK_YANG_PATH"):
        dirs.append(Path(env))
    for prefix in {sysconfig.get_path("data"), sys.prefix, sys.base_prefix, site.getuserbase()}:
        dirs.append(Path(prefix) / "share" / "yang" / "modules" / "ietf")
    dirs.append(Path("/usr/share/yang/modules/ietf"))
    return dirs


def find_module_dir() -> Path:
    """The folder holding ietf-mud.yang and the modules it imports."""
    for folder in _candidate_dirs():
        if (folder / "ietf-mud.yang").is_file() and (folder / "ietf-acldns.yang").is_file():
            return folder
    raise YangModulesMissing("YANG modules not found (install pyang, or set IOTMARK_YANG_PATH to a folder "
                             "holding ietf-mud.yang)")


def _module_revision(folder: Path, name: str) -> str:
    path = folder / f"{name}.yang"
    if not path.is_file():
        raise YangModulesMissing(f"{name}.yang missing from {folder}")
    # The newest revision statement comes first in IETF modules.
    match = _REVISION.search(path.read_bytes())
    if not match:
        raise YangModulesMissing(f"{name}.yang has no revision statement")
    return match.group(1).decode()


def yang_library(folder: Path) -> dict[str, Any]:
    """An RFC 7895 module list naming the MUD modules, with the revisions of the files in `folder`."""
    spec = yaml.safe_load(resources.files("iotmark.mitigate").joinpath("data/mud-yang.yaml").read_text("utf-8"))
    modules = []
    for mod in spec["modules"]:
        entry: dict[str, Any] = {"name": mod["name"], "revision": _module_revision(folder, mod["name"]),
                                 "namespace": mod["namespace"], "conformance-type": mod["conformance"]}
        if mod.get("features"):
            entry["feature"] = list(mod["features"])
        modules.append(entry)
    return {"ietf-yang-library:modules-state": {"module-set-id": "iotmark-mud", "module": modules}}


@functools.lru_cache(maxsize=1)
def data_model() -> Any:
    """The yangson data model of MUD files, built once per process (about 0.15 s)."""
    from yangson import DataModel

    folder = find_module_dir()
    log.debug("MUD YANG modules from %s", folder)
    model = DataModel(json.dumps(yang_library(folder)), [str(folder)])
    yang_memo.install(model.schema)
    return model


def _error_pointer(exc: Exception) -> str:
    instance = getattr(exc, "instance", None)
    if instance is not None:
        return str(instance.json_pointer()) or "/"
    return str(getattr(exc, "path", "") or "/")


def _error_message(exc: Exception) -> str:
    tag = getattr(exc, "tag", None)
    message = getattr(exc, "message", None)
    name = type(exc).__name__
    if tag and tag.endswith("member-not-allowed"):
        return tag
    if tag and message:
        return f"{tag}: {message}"
    if tag:
        return str(tag)
    if name == "RawTypeError" and message:
        return f"wrong JSON type: {message}"
    if name == "RawMemberError":
        return "member not defined by the MUD YANG modules"
    return str(exc) or name


def _first_error_of(exc: Exception) -> FirstError:
    tag = str(getattr(exc, "tag", "") or "")
    detail = str(getattr(exc, "message", "") or "")
    member = detail if tag.endswith("member-not-allowed") and detail else None
    return FirstError(parse_pointer(_error_pointer(exc)), _error_message(exc), tag, detail, member)


def first_error(data: Any, memoised: bool = True, deferred: Optional[list[FirstError]] = None) -> Optional[FirstError]:
    """The first error yangson finds in parsed MUD JSON (as configuration data), or None when it is valid.

    `memoised=False` runs yangson exactly as shipped (no `yang_memo`), for comparisons. With a `deferred`
    list (memoised only), nodes missing mandatory members are appended to it and validation goes on.
    """
    from yangson.enumerations import ContentType
    from yangson.exceptions import YangsonException

    model = data_model()
    missing: list[Any] = []
    try:
        scope = yang_memo.document_scope(missing if deferred is not None else None)
        with scope if memoised else contextlib.nullcontext():
            instance = model.from_raw(data)
            instance.validate(ctype=ContentType.config)
    except YangsonException as exc:
        return _first_error_of(exc)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # yangson raises plain Python errors on some malformed values (e.g. a list where a scalar belongs).
        return FirstError((), f"malformed value: {type(exc).__name__}: {exc}"[:300])
    finally:
        if deferred is not None:
            deferred.extend(_first_error_of(exc) for exc in missing)
    return None


def validate_mud(data: Any, max_errors: int = 50, memoised: bool = True) -> list[SchemaError]:
    """Validate parsed MUD JSON as configuration data: every error (up to `max_errors`), each with its path.

    An empty list means valid.
    """
    if not isinstance(data, dict):
        return [SchemaError("/", "a MUD file is a JSON object")]
    if "ietf-mud:mud" not in data:
        return [SchemaError("/ietf-mud:mud", "missing-data: the ietf-mud:mud container is required")]
    found = collect_errors(data, first_error if memoised else functools.partial(first_error, memoised=False),
                           max_errors)
    return [SchemaError(path, message) for path, message in found]
