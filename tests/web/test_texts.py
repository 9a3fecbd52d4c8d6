"""Every word the pages show has its Chinese in the catalogs (web.po and web-<area>.po)."""

from __future__ import annotations

import re
from pathlib import Path

from devicekit.texts import LOCALE_DIR
from engine.district import Tier
from hub.accounts import Role
from hub.audit import Action
from hub.web_pages import texts

PAGES = Path(texts.__file__).parent
RESULTS = ("ok", "bad_credentials", "throttled", "idle", "absolute", "account_changed")


def used_messages() -> set[str]:
    literal = re.compile(r'_\("((?:[^"\\]|\\.)*)"\)')
    refusals = re.compile(r'refusal\(request, \d+, "\w+", "([^"]+)"\)')
    found: set[str] = set()
    for path in [*PAGES.glob("templates/*.html"), *PAGES.glob("**/*.py")]:
        text = path.read_text()
        found |= set(literal.findall(text)) | set(refusals.findall(text))
    return found | {*Role, *Tier, *Action, *RESULTS}


def test_every_message_is_translated() -> None:
    folder = LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
    po = "".join((folder / f"{domain}.po").read_text() for domain in texts.domains())
    translate = texts.translator(texts.CHINESE)

    missing = sorted(message for message in used_messages() if translate(message) == message)

    assert len(used_messages()) > 40
    assert missing == [], f"add to web.po: {missing}"
    # no message twice, in one catalog or across them (each has one empty msgid, its header)
    assert po.count("msgid") - len(texts.domains()) == len(set(re.findall(r'^msgid "(.+)"$', po, re.MULTILINE)))
