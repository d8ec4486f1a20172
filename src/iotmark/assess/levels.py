"""Certification levels (catalog/data/levels.yaml) and cross-standard coverage from provision verdicts."""

from __future__ import annotations

from collections import defaultdict

from iotmark.catalog import Standard, load_levels, load_mappings
from iotmark.model import Bundle, LevelResult, Verdict, VerdictValue

SATISFIED = (VerdictValue.PASS, VerdictValue.NOT_APPLICABLE)


def evidence_kinds(bundle: Bundle) -> set[str]:
    """Kinds of evidence actually present: a source was recorded, or a check of that kind produced a result."""
    kinds = {source.kind for source in bundle.sources}
    kinds |= {f.kind for f in bundle.findings if f.outcome in ("pass", "fail")}
    return kinds


def compute_levels(standard: Standard, verdicts: list[Verdict], bundle: Bundle) -> list[LevelResult]:
    """Each level of the standard's ladder with what is missing; levels are cumulative."""
    try:
        ladder = load_levels(standard.ref)
    except Exception:  # noqa: BLE001 - a standard without a ladder simply has no levels
        return []
    by_id = {v.provision: v for v in verdicts}
    present = evidence_kinds(bundle)
    results: list[LevelResult] = []
    below_ok = True
    for level in sorted(ladder, key=lambda lv: lv.level):
        wanted: list[str] = list(level.provisions)
        for named in level.sets:
            if named == "all_mandatory":
                wanted += [p.id for p in standard.provisions if p.mandatory]
            elif named == "all_recommended":
                wanted += [p.id for p in standard.provisions if not p.mandatory]
            else:
                raise ValueError(f"levels.yaml: unknown provision set {named!r}")
        missing = []
        for pid in dict.fromkeys(wanted):
            verdict = by_id.get(pid)
            if verdict is None:
                missing.append(f"{pid}: not in the standard")
            elif verdict.verdict not in SATISFIED:
                missing.append(f"{pid}: {verdict.verdict.value}")
        missing += [f"no {kind} evidence" for kind in level.evidence if kind not in present]
        if not below_ok:
            missing.insert(0, f"level {level.level - 1} not reached")
        reached = not missing
        results.append(LevelResult(level=level.level, name=level.name, reached=reached, missing=missing))
        below_ok = below_ok and reached
    return results


def also_covers(standard: Standard, verdicts: list[Verdict], relations: tuple[str, ...]) -> dict[str, list[str]]:
    """Provisions of other standards whose every provision mapped here (by `relations`) passed or does not apply.

    With ("equivalent",) this is coverage; with ("partial",) it is supporting evidence, not a conformity claim.
    """
    by_id = {v.provision: v.verdict for v in verdicts}
    mapped: dict[str, set[str]] = defaultdict(set)
    for mapping in load_mappings():
        if mapping.relation not in relations:
            continue
        for mine, other in ((mapping.from_, mapping.to), (mapping.to, mapping.from_)):
            std, _, pid = mine.partition(":")
            if std == standard.id and other.split(":", 1)[0] != standard.id:
                mapped[other].add(pid)
    covered: dict[str, list[str]] = defaultdict(list)
    for other, mine in sorted(mapped.items()):
        states = [by_id.get(pid) for pid in mine]
        if all(s in SATISFIED for s in states) and VerdictValue.PASS in states:
            std, _, pid = other.partition(":")
            covered[std].append(pid)
    return dict(covered)
