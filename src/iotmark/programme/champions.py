"""Security champions: the roster per business unit and where coverage is missing."""

from __future__ import annotations

import datetime as dt

from iotmark.programme.results import ChampionGap
from iotmark.programme.workspace import Champion, Workspace


def active_champions(workspace: Workspace, today: dt.date) -> list[Champion]:
    """Champions whose term covers `today` and who have not left the organisation."""
    out = []
    for champion in workspace.champions:
        person = workspace.organisation.person(champion.person)
        if champion.since > today or (champion.until is not None and champion.until < today):
            continue
        if person is None or (person.left is not None and person.left <= today):
            continue
        out.append(champion)
    return out


def roster(workspace: Workspace, today: dt.date) -> dict[str, list[Champion]]:
    """Unit id -> its active champions (every unit listed, possibly with none)."""
    active = active_champions(workspace, today)
    return {u.id: [c for c in active if c.unit == u.id] for u in workspace.organisation.units}


def champion_gaps(workspace: Workspace, today: dt.date) -> list[ChampionGap]:
    """Units and products without an active champion, champions who left, and overloaded champions."""
    gaps: list[ChampionGap] = []
    org = workspace.organisation
    for champion in workspace.champions:
        person = org.person(champion.person)
        current = champion.since <= today and (champion.until is None or champion.until >= today)
        if current and person is not None and person.left is not None and person.left <= today:
            gaps.append(ChampionGap(unit=champion.unit, kind="champion_left",
                                    detail=f"{person.name} left on {person.left.isoformat()} but is still listed"))
    for unit in org.units:
        champions = roster(workspace, today)[unit.id]
        staff = [p for p in org.people if p.unit == unit.id and (p.left is None or p.left > today)]
        if not champions:
            gaps.append(ChampionGap(unit=unit.id, kind="unit_without_champion",
                                    detail=f"{unit.name} ({len(staff)} people) has no active champion"))
            continue
        unit_wide = any(not c.products for c in champions)
        covered = {p for c in champions for p in c.products}
        for product in unit.products:
            if not unit_wide and product not in covered:
                gaps.append(ChampionGap(unit=unit.id, product=product, kind="product_without_champion",
                                        detail=f"no champion covers {product}"))
        if len(staff) > org.max_people_per_champion * len(champions):
            gaps.append(ChampionGap(unit=unit.id, kind="champion_overloaded",
                                    detail=f"{len(staff)} people for {len(champions)} champion(s); "
                                           f"the limit is {org.max_people_per_champion} per champion"))
    return gaps
