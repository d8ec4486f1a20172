"""Catalog types: a standard with its provisions, TS 103 701 test cases, cross-mappings and certification levels.

These live here rather than in model.py because only the catalog and its readers need them; the assessment
contract (model.py) refers to provisions by qualified id (`standard:provision`) only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from iotmark.model import EvidenceKind


class CatalogError(ValueError):
    """Bad catalog data or an unknown standard, provision, level or device class; the message says which."""


class _Data(BaseModel):
    # Frozen because loaded objects are cached and shared between callers.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


TestKind = Literal["conceptual", "functional", "conceptual/functional"]
Relation = Literal["equivalent", "partial", "related"]
NamedSet = Literal["all_mandatory", "all_recommended"]


class Source(_Data):
    """Where a fact came from: a repository file at a commit, a public page, or a publication."""

    title: str | None = None
    repo: str | None = None
    path: str | None = None
    commit: str | None = None
    url: str | None = None
    index_file_id: str | None = None
    note: str | None = None


class TestCase(_Data):
    """One ETSI TS 103 701 test case: its id, whether it inspects documentation or exercises the device, and the
    IXIT documents its test group refers to."""

    __test__ = False  # not a pytest test class despite the name

    id: str
    kind: TestKind
    ixit: list[str] = Field(default_factory=list)


class Category(_Data):
    id: str
    title: str
    description: str = ""
    counts: dict[str, int] = Field(default_factory=dict)


class Condition(_Data):
    """A trigger that makes a conditional provision apply (e.g. 'the device uses passwords')."""

    key: str
    number: int | None = None
    meaning: str
    provisions: list[str] = Field(default_factory=list)


class Feature(_Data):
    """A feature, capability or mechanism whose presence makes a provision apply (EN 303 645 V3 Annex B marks these
    `F (letter)`, next to the numbered conditions `C (n)`)."""

    letter: str = Field(pattern=r"^[a-z]{1,2}$")
    meaning: str
    provisions: list[str] = Field(default_factory=list)


class Ixit(_Data):
    """An ETSI TS 103 701 IXIT document: the extra information the supplier gives the test lab."""

    id: str
    name: str
    verified: bool = True


class Provision(_Data):
    """One requirement of a standard. `status` is the standard's own marking (EN 303 645: M, R, M C (n), R C (n);
    V3 adds feature markers such as M F (a)). `features` holds the letters of those feature markers."""

    id: str
    title: str
    description: str = ""
    status: str
    mandatory: bool = False
    conditional: bool = False
    condition: str | None = None
    features: list[str] = Field(default_factory=list)
    category: str | None = None
    levels: list[int] = Field(default_factory=list)
    test_cases: list[TestCase] = Field(default_factory=list)
    verified_status: bool = True
    requirements: int | None = None  # for entries that group several requirements (ISVS sections)
    note: str | None = None


class Standard(_Data):
    """A standard, regulation or scheme as data."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: str
    title: str
    publisher: str
    published: str | None = None
    sources: list[Source] = Field(default_factory=list)
    verified: bool = False
    default: bool = False  # the version a bare id resolves to when the catalog holds several (else the newest)
    status_meaning: dict[str, str] = Field(default_factory=dict)
    categories: list[Category] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    ixit: list[Ixit] = Field(default_factory=list)
    provisions: list[Provision]
    notes: list[str] = Field(default_factory=list)

    _index: dict[str, Provision] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: object) -> None:
        self._index = {p.id: p for p in self.provisions}

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def provision(self, pid: str) -> Provision:
        """The provision with this id (plain, or qualified with this standard's id)."""
        plain = pid.split(":", 1)[1] if pid.startswith(f"{self.id}:") else pid
        try:
            return self._index[plain]
        except KeyError:
            raise CatalogError(f"{self.id} {self.version} has no provision '{pid}'") from None

    def has(self, pid: str) -> bool:
        return pid in self._index

    def qualified(self, pid: str) -> str:
        return f"{self.id}:{self.provision(pid).id}"

    def ids(self, *, mandatory: bool | None = None) -> list[str]:
        """Provision ids in catalog order; `mandatory=True/False` keeps only mandatory or only recommended ones."""
        return [p.id for p in self.provisions if mandatory is None or p.mandatory == mandatory]

    def test_case_count(self) -> int:
        return sum(len(p.test_cases) for p in self.provisions)


class Mapping(_Data):
    """A link between provisions of two standards, both qualified (`standard:provision`)."""

    from_: str = Field(alias="from")
    to: str
    relation: Relation
    source: str | None = None
    verified: bool = False
    note: str | None = None


class Level(_Data):
    """One rung of iotmark's certification ladder. `provisions` and `sets` add to everything the lower levels require."""

    level: int = Field(ge=1)
    name: str
    summary: str
    provisions: list[str] = Field(default_factory=list)
    sets: list[NamedSet] = Field(default_factory=list)
    evidence: list[EvidenceKind] = Field(default_factory=list)
