"""The back-office is in Simplified Chinese by default, English selectable (issue #2, item 1)."""

import pytest


@pytest.mark.django_db
def test_admin_is_chinese_even_for_an_english_browser(admin_client):
    response = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
    assert "定点医药机构" in response.content.decode()
    # the switcher names each language in its own words, as a reader of it looks for it
    assert '<option value="en">English</option>' in response.content.decode()


@pytest.mark.django_db
def test_a_clerk_can_switch_to_english_and_back(admin_client):
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "Designated institutions" in admin_client.get("/admin/").content.decode()
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    assert "定点医药机构" in admin_client.get("/admin/").content.decode()


def _po_entries(path):
    """(msgid, msgstr, flags) of each entry of a .po file; continuation lines joined."""
    entry, key = {"flags": ""}, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if "msgid" in entry:
                yield entry.get("msgid", ""), entry.get("msgstr", entry.get("msgstr[0]", "")), entry["flags"]
            entry, key = {"flags": ""}, None
        elif line.startswith("#,"):
            entry["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += line[1:-1]
        else:
            key, _, rest = line.partition(" ")
            entry[key] = rest[1:-1]


def test_every_catalogue_is_fully_translated():
    """DESIGN: the UI is Simplified Chinese; an empty or fuzzy msgstr shows English to a clerk."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    catalogues = [p for p in root.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts]
    assert len(catalogues) >= 4
    for path in catalogues:
        missing = [msgid for msgid, msgstr, flags in _po_entries(path) if msgid and (not msgstr or "fuzzy" in flags)]
        assert not missing, f"{path.relative_to(root)}: {missing[:10]}"


def test_a_year_column_reads_benefit_year_not_per_year():
    """The parameter tables' "per year" must not leak into every "year" label (年度, not 每年)."""
    from django.utils.translation import gettext, override, pgettext

    with override("zh-hans"):
        assert gettext("year") == "年度"
        assert pgettext("per", "year") == "每年"
