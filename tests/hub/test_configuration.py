"""A configuration change from the web pages: checked, stored with its author, in force at once, audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from engine import commands as cmd
from engine.district import District, Site
from hub.audit import Action, audit_for
from hub.configuration import ConfigRejected, Configuration, changed_sites, digest
from hub.district_file import SAMPLE_DISTRICT, load_district
from hub.gateway import Gateway
from hub.service import HallService
from hub.site_info import site_info
from hub.store import EventStore, open_store
from tests.support.hall import OPENING

DISTRICT = load_district(SAMPLE_DISTRICT)
SITE_ID = "centre"


class Follower:
    def __init__(self, district: District) -> None:
        self.district = district


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    store = open_store(f"sqlite:///{tmp_path / 'hall.db'}")
    store.save_district(msgspec.json.encode(DISTRICT))
    yield store
    store.close()


@pytest.fixture
def writer() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as executor:
        yield executor


@pytest.fixture
def gateway(store: EventStore) -> Gateway:
    return Gateway(HallService(DISTRICT, store), lambda _device_id: None, lambda: OPENING)


@pytest.fixture
def follower() -> Follower:
    return Follower(DISTRICT)


@pytest.fixture
def configuration(store: EventStore, gateway: Gateway, writer: ThreadPoolExecutor, follower: Follower) -> Configuration:
    applied = []

    def apply(district: District, sites: frozenset[str]) -> None:
        applied.append(sites)
        gateway.apply_district(district)

    configuration = Configuration(
        store, DISTRICT, executor=writer, apply=apply, states=gateway.service.state, audit=audit_for(store),
        clock=lambda: OPENING, followers=(follower,),
    )  # fmt: skip
    configuration.applied = applied  # type: ignore[attr-defined]
    return configuration


def site(district: District) -> Site:
    found = district.site(SITE_ID)
    assert found is not None
    return found


Edit = Callable[[District], District]


def edit_site(change: Callable[[Site], Site]) -> Edit:
    def edit(district: District) -> District:
        new = change(site(district))
        return msgspec.structs.replace(district, sites=tuple(new if s.id == SITE_ID else s for s in district.sites))

    return edit


def with_weights(window_id: str, weights: dict[str, int]) -> Edit:
    return edit_site(
        lambda old: msgspec.structs.replace(
            old,
            windows=tuple(msgspec.structs.replace(w, weights=weights) if w.id == window_id else w for w in old.windows),
        )
    )


SUBJECT = f"site:{SITE_ID}"
WITH_B01 = {"F01": 3, "F02": 3, "B01": 1}


def execute(gateway: Gateway, *commands: cmd.Command) -> None:
    for command in commands:
        outcome = gateway.execute(command)
        assert outcome.rejection is None, outcome.rejection


async def test_a_change_is_stored_with_its_author_and_in_force_at_once(
    configuration: Configuration, gateway: Gateway, store: EventStore, follower: Follower
) -> None:
    base = configuration.digest(SUBJECT)

    saved = await configuration.change(
        with_weights("w11", WITH_B01), subject=SUBJECT, base=base, actor="li", reason="11 号窗口增办 B01",
        site_id=SITE_ID, address="10.0.0.5",
    )  # fmt: skip

    assert saved.sites == {SITE_ID} and saved.version == configuration.version
    info = {matter.code: matter.windows for matter in site_info(gateway.district, site(gateway.district)).matters}
    assert info["B01"] == (1, 2, 3, 4, 7, 8, 11) and info["F01"] == (1, 2, 3, 4, 11)
    assert gateway.service.district is gateway.district is configuration.district is follower.district
    assert gateway.boards[SITE_ID].site.window("w11").weights == WITH_B01  # type: ignore[union-attr]
    newest = store.district_versions()[0]
    assert (newest.version, newest.author, newest.reason) == (saved.version, "li", "11 号窗口增办 B01")
    assert msgspec.json.decode(store.district() or b"", type=District) == configuration.district
    (entry,) = [e for e in audit_for(store).entries() if e.action == Action.CONFIG_CHANGED]
    assert (entry.actor, entry.subject, entry.site_id, entry.address) == ("li", SUBJECT, SITE_ID, "10.0.0.5")
    w11_before = next(w for w in entry.before["windows"] if w["id"] == "w11")
    w11_after = next(w for w in entry.after["windows"] if w["id"] == "w11")
    assert (w11_before["weights"], w11_after["weights"]) == ({"F01": 3, "F02": 3}, WITH_B01)
    assert configuration.applied == [frozenset({SITE_ID})]  # type: ignore[attr-defined]


async def test_a_form_older_than_the_part_it_edits_is_refused(configuration: Configuration, store: EventStore) -> None:
    stale = configuration.digest(SUBJECT)
    await configuration.change(with_weights("w11", WITH_B01), subject=SUBJECT, base=stale, actor="li", reason="")
    versions = len(store.district_versions())

    with pytest.raises(ConfigRejected) as refused:
        await configuration.change(
            with_weights("w09", {"D01": 3}), subject=SUBJECT, base=stale, actor="wang", reason=""
        )

    assert refused.value.code == "stale"
    assert len(store.district_versions()) == versions
    assert site(configuration.district).window("w09").weights == {"D01": 3, "D02": 3}  # type: ignore[union-attr]


async def test_nothing_changed_is_not_a_new_version(configuration: Configuration, store: EventStore) -> None:
    with pytest.raises(ConfigRejected) as refused:
        await configuration.change(
            lambda district: district, subject=SUBJECT, base=configuration.digest(SUBJECT), actor="li", reason=""
        )

    assert refused.value.code == "unchanged"
    assert len(store.district_versions()) == 1


async def test_an_invalid_district_is_refused_with_the_field_at_fault(
    configuration: Configuration, gateway: Gateway
) -> None:
    edit = with_weights("w09", {"D01": 3, "D02": 3, "Z99": 1})

    with pytest.raises(ConfigRejected) as refused:
        await configuration.change(edit, subject=SUBJECT, base=configuration.digest(SUBJECT), actor="li", reason="")

    assert refused.value.code == "invalid"
    fields = [problem.field for problem in refused.value.problems]
    assert fields == [f"sites.{SITE_ID}.windows.w09.weights.Z99"]
    assert all(problem.zh and problem.en for problem in refused.value.problems)
    assert gateway.district is DISTRICT


async def test_an_open_window_cannot_be_taken_away(configuration: Configuration, gateway: Gateway) -> None:
    execute(
        gateway,
        cmd.OpenDay(command_id="d", site_id=SITE_ID, at=OPENING),
        cmd.OpenWindow(command_id="w", site_id=SITE_ID, at=OPENING, window_id="w05"),
    )

    with pytest.raises(ConfigRejected) as refused:
        await configuration.change(
            edit_site(lambda old: msgspec.structs.replace(old, windows=tuple(w for w in old.windows if w.id != "w05"))),
            subject=SUBJECT, base=configuration.digest(SUBJECT), actor="li", reason="",
        )  # fmt: skip

    (problem,) = refused.value.problems
    assert problem.field == f"sites.{SITE_ID}.windows.w05"
    assert "5 号窗口正在开放" in problem.zh


async def test_people_waiting_keep_a_window_for_their_matter(configuration: Configuration, gateway: Gateway) -> None:
    execute(
        gateway,
        cmd.OpenDay(command_id="d", site_id=SITE_ID, at=OPENING),
        cmd.IssueTicket(command_id="t", site_id=SITE_ID, at=OPENING, matters=("G02",)),
    )

    def without_g02(old: Site) -> Site:
        matters = {code: limit for code, limit in old.matters.items() if code != "G02"}
        windows = tuple(
            msgspec.structs.replace(w, weights={"G01": 3, "A01": 1}) if w.id == "w12" else w for w in old.windows
        )
        return msgspec.structs.replace(old, matters=matters, windows=windows)

    with pytest.raises(ConfigRejected) as refused:
        await configuration.change(
            edit_site(without_g02), subject=SUBJECT, base=configuration.digest(SUBJECT), actor="li", reason=""
        )

    (problem,) = refused.value.problems
    assert problem.field == f"sites.{SITE_ID}.matters.G02"
    assert "还有 1 人等候" in problem.zh


def test_a_catalogue_change_concerns_the_sites_that_offer_the_matter() -> None:
    g01 = DISTRICT.matter("G01")
    assert g01 is not None
    renamed = msgspec.structs.replace(g01, name_zh="新名称")
    after = msgspec.structs.replace(
        DISTRICT, catalogue=tuple(renamed if m.code == "G01" else m for m in DISTRICT.catalogue)
    )

    offering = {s.id for s in DISTRICT.sites if "G01" in s.matters}
    assert changed_sites(DISTRICT, after) == offering and SITE_ID in offering and len(offering) < len(DISTRICT.sites)
    assert changed_sites(DISTRICT, DISTRICT) == frozenset()
    assert digest(DISTRICT, "matter:G01") != digest(after, "matter:G01")
    assert digest(DISTRICT, SUBJECT) == digest(after, SUBJECT)


async def test_a_change_that_cannot_be_put_in_force_is_rolled_back(
    store: EventStore, gateway: Gateway, writer: ThreadPoolExecutor
) -> None:
    applied: list[District] = []

    def apply(district: District, _sites: frozenset[str]) -> None:
        if district is not DISTRICT and not applied:
            applied.append(district)
            raise RuntimeError("the writer failed")
        gateway.apply_district(district)

    configuration = Configuration(
        store, DISTRICT, executor=writer, apply=apply, states=gateway.service.state, audit=audit_for(store),
        clock=lambda: OPENING,
    )  # fmt: skip

    with pytest.raises(RuntimeError):
        await configuration.change(
            with_weights("w11", WITH_B01), subject=SUBJECT, base=configuration.digest(SUBJECT), actor="li", reason=""
        )

    assert configuration.district is DISTRICT and gateway.district is DISTRICT
    assert msgspec.json.decode(store.district() or b"", type=District) == DISTRICT  # in force again at a restart
    assert store.district_versions()[0].reason == "rolled back"
    assert not [e for e in audit_for(store).entries() if e.action == Action.CONFIG_CHANGED]
