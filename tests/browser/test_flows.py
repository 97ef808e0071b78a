"""What members do, in Chromium, against the real server (CSRF on): log in, read, write with
a Markdown preview, quote, search, report, moderate, read the comité's analyses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page

from comcep.members.models import Member
from tests.browser.conftest import Tab, inject_axe
from tests.browser.test_accessibility import AXE_RUN_JS
from tests.factories import make_reply, make_topic
from tests.forum.test_knowledge import PDF


def _published(page: Page) -> None:
    page.wait_for_url("**/t/**")
    page.wait_for_load_state()


def test_a_member_logs_in_through_the_form_and_opens_a_topic(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    pair = make_member(name="Claire Martin")
    topic = make_topic(pair, title="Un bilan de compétences en ligne ?", body="Qui a essayé ?")
    tab = open_tab()
    tab.goto(f"/t/{topic.id}")  # anonymous: sent to the login form
    page = tab.page
    assert "/connexion" in page.url
    page.get_by_label("Adresse e-mail").fill(pair.email)
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"**/t/{topic.id}")  # back where the visitor was going
    assert page.get_by_role("status").first.inner_text() == "Bienvenue, Claire Martin."
    page.get_by_role("link", name="Forum", exact=True).first.click()
    page.get_by_role("link", name="Le premier entretien").first.click()
    page.get_by_role("link", name="Un bilan de compétences en ligne ?").click()
    page.wait_for_url("**/t/**")
    assert page.locator("h1").inner_text() == "Un bilan de compétences en ligne ?"
    assert page.locator(".post__body").first.inner_text() == "Qui a essayé ?"


def test_a_new_topic_is_previewed_with_its_markdown_then_published(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab(make_member())
    page = tab.page
    tab.goto("/r/premier-entretien")
    page.get_by_role("link", name="Nouveau sujet").click()
    page.get_by_label("Titre").fill("Premier entretien d'un cadre en reconversion")
    page.get_by_label("Message").fill("Un **point important** :\n\n- le CPF\n- la VAE")
    page.get_by_role("button", name="Prévisualiser").click()
    page.wait_for_load_state()
    preview = page.locator(".preview")
    assert preview.locator("strong").inner_text() == "point important"
    assert preview.locator("li").all_inner_texts() == ["le CPF", "la VAE"]
    assert (
        page.get_by_label("Titre").input_value() == "Premier entretien d'un cadre en reconversion"
    )
    assert page.get_by_label("Message").input_value().startswith("Un **point important**")
    page.get_by_role("button", name="Publier le sujet").click()
    _published(page)
    assert page.locator("h1").inner_text() == "Premier entretien d'un cadre en reconversion"
    assert page.locator(".post__body strong").inner_text() == "point important"
    assert page.get_by_role("status").first.inner_text() == "Votre sujet est publié."


def test_a_reply_previewed_in_place_keeps_its_chosen_file_and_publishes_it(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """« Prévisualiser » no longer sends the form (static/js/comcep.js): the page stays, so
    the file chosen is still chosen, and « Publier » sends it with the text."""
    topic = make_topic(make_member(), "je-partage-mes-outils", title="Vos grilles d'entretien")
    tab = open_tab(make_member())
    page = tab.page
    tab.goto(f"/t/{topic.id}/repondre")
    page.get_by_label("Message").fill("Ma **grille** en pièce jointe.")
    page.locator("input[type=file]").set_input_files(
        [{"name": "grille.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    url = page.url
    page.get_by_role("button", name="Prévisualiser").click()
    assert page.locator(".preview strong").inner_text() == "grille"
    assert page.url == url
    assert page.locator("input[type=file]").evaluate("input => input.files.length") == 1
    assert page.locator(".notice--files").count() == 0  # nothing to choose again
    page.get_by_label("Message").fill("Ma **grille** en pièce jointe, relue.")
    page.get_by_role("button", name="Prévisualiser").click()
    page.get_by_text("en pièce jointe, relue.").wait_for()
    assert page.locator(".preview").count() == 1  # the same preview, brought up to date
    page.get_by_role("button", name="Publier la réponse").click()
    _published(page)
    assert page.get_by_role("link", name="grille.pdf").count() == 1
    assert tab.server_errors == []


def test_without_its_preview_in_place_the_button_sends_the_form_as_before(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """Empty, the text is not sent; if the preview cannot be had (here, the request
    fails), the button sends the form and the page comes back with the server's preview."""
    topic = make_topic(make_member(), title="Un sujet à prévisualiser")
    tab = open_tab(make_member())
    page = tab.page
    tab.goto(f"/t/{topic.id}/repondre")
    page.get_by_role("button", name="Prévisualiser").click()
    assert page.locator(".preview").inner_text().endswith("rien à prévisualiser.")
    page.route("**/apercu", lambda route: route.abort())
    page.get_by_label("Message").fill("Un *essai* hors ligne.")
    with page.expect_navigation():
        page.get_by_role("button", name="Prévisualiser").click()
    assert page.locator(".preview em").inner_text() == "essai"
    assert page.get_by_label("Message").input_value() == "Un *essai* hors ligne."


def test_a_reply_quotes_the_post_whose_citer_link_was_followed(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    asker, helper = make_member(name="Karim Benali"), make_member(name="Sophie Leroy")
    topic = make_topic(asker, title="Financer une formation longue", body="Avec quel dispositif ?")
    tab = open_tab(helper)
    page = tab.page
    tab.goto(f"/t/{topic.id}")
    page.locator(".post").first.get_by_role("link", name="Citer").click()
    page.wait_for_url("**/repondre?citer=*")
    body = page.get_by_label("Message")
    prefilled = body.input_value()
    assert "Karim Benali" in prefilled
    assert "> Avec quel dispositif ?" in prefilled
    # The cursor waits in the box, after the quote (it stood before it, outside the box:
    # review of stop 52): typing at once answers below the quote.
    page.keyboard.type("Le projet de transition professionnelle.")
    page.get_by_role("button", name="Publier la réponse").click()
    _published(page)
    reply = page.locator(".post").nth(1)
    assert reply.locator("blockquote").inner_text() == "Avec quel dispositif ?"
    assert "Le projet de transition professionnelle." in reply.locator(".post__body").inner_text()


def test_the_header_search_box_finds_a_topic(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    pair = make_member()
    topic = make_topic(pair, title="Accompagner une reconversion", body="Le cas des aidants.")
    make_topic(pair, title="Autre chose", body="Sans rapport.")
    tab = open_tab(pair)
    tab.goto("/")
    box = tab.page.get_by_role("searchbox", name="Rechercher dans le forum")
    box.fill("reconversions")
    box.press("Enter")
    tab.page.wait_for_url("**/recherche?q=reconversions*")
    hits = tab.page.locator(".search-hit")
    assert hits.count() == 1
    # The matched word is highlighted (PostgreSQL's title headline uses <b>, Whoosh <mark>).
    assert hits.locator("mark, b").first.inner_text().lower().startswith("reconversion")
    hits.get_by_role("link").first.click()
    tab.page.wait_for_url(f"**/t/{topic.id}/**")


def test_recipients_are_offered_as_they_are_typed_and_the_message_goes(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """The names come from the server (members the writer may see); a list of names
    completes its last one."""
    writer = make_member(name="Claire Martin")
    make_member(name="Karim Benali")
    make_member(name="Karine Roux")
    make_member(name="Nadia Karoui")  # « kar » inside a name: not a prefix, not offered
    tab = open_tab(writer)
    tab.goto("/messages/nouveau")
    field = tab.page.get_by_label("Destinataires")
    options = tab.page.locator("#recipient-names option")
    field.press_sequentially("Kar", delay=30)
    options.first.wait_for(state="attached")
    assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == [
        "Karim Benali",
        "Karine Roux",
    ]
    field.fill("Karine Roux, ")
    field.press_sequentially("Karim", delay=30)
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('#recipient-names option')]"
        ".map(o => o.value).join('|') === 'Karine Roux, Karim Benali'"
    )
    field.fill("Karine Roux, Karim Benali")
    tab.page.get_by_label("Objet").fill("Une question")
    tab.page.get_by_label("Message").fill("Bonjour à vous deux.")
    tab.page.get_by_role("button", name="Envoyer").click()
    tab.page.wait_for_url("**/messages/*")
    assert "Bonjour à vous deux." in tab.page.locator("main").inner_text()


def test_at_in_a_reply_offers_names_and_the_keyboard_writes_the_chosen_one(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """« @Kar » offers the members the writer may see; ↓ then Entrée writes the second name
    in full (not a line break), Échap closes the list and keeps what was typed."""
    writer = make_member(name="Claire Martin")
    make_member(name="Karim Benali")
    make_member(name="Karine Roux")
    topic = make_topic(writer, title="Un cas à plusieurs", body="Vos avis ?")
    tab = open_tab(writer)
    tab.goto(f"/t/{topic.id}")
    area = tab.page.get_by_label("Votre réponse")
    listbox = tab.page.get_by_role("listbox", name="Membres à mentionner")
    area.press_sequentially("Merci @Kar", delay=30)
    listbox.wait_for(state="visible")
    assert listbox.get_by_role("option").all_inner_texts() == ["Karim Benali", "Karine Roux"]
    inject_axe(tab.page)  # the open list, its options and the textarea's ARIA
    serious = [v for v in tab.page.evaluate(AXE_RUN_JS) if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    area.press("ArrowDown")
    assert listbox.get_by_role("option", selected=True).inner_text() == "Karine Roux"
    area.press("Enter")
    assert listbox.is_hidden()
    area.press_sequentially("pour l'idée, @Kar", delay=30)
    listbox.wait_for(state="visible")
    area.press("Escape")
    assert listbox.is_hidden()
    assert area.input_value() == "Merci @Karine Roux pour l'idée, @Kar"
    area.press("Backspace")
    area.press("Backspace")
    area.press("Backspace")
    area.press("Backspace")
    area.press_sequentially("!", delay=30)
    # The caret moved away from « @Kar » while the list was open: Entrée writes no name over
    # the text in between (it once replaced everything from « @ » to the caret).
    area.press("Home")
    area.press_sequentially("@Kar", delay=30)
    listbox.wait_for(state="visible")
    area.press("End")
    assert listbox.is_hidden()
    area.press("Enter")
    assert area.input_value() == "@KarMerci @Karine Roux pour l'idée, !\n"
    area.fill("Merci @Karine Roux pour l'idée, !")
    tab.page.get_by_role("button", name="Publier la réponse").click()
    _published(tab.page)
    assert "Merci @Karine Roux pour l'idée, !" in tab.page.locator(".post").nth(1).inner_text()


def test_a_reported_post_hidden_by_the_animatrice_disappears_for_the_pair(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    author, reader = make_member(name="Julien Moreau"), make_member(name="Nadia Haddad")
    animatrice = make_member(name="Isabelle Durand", roles=("animation",))
    topic = make_topic(author, title="Une question d'entretien", body="Le contexte.")
    make_reply(author, topic, "Le nom complet du bénéficiaire : TEXTE-A-MASQUER.")
    pair = open_tab(reader)
    pair.goto(f"/t/{topic.id}")
    post = pair.page.locator(".post", has_text="TEXTE-A-MASQUER")
    post.get_by_role("link", name="Signaler").click()
    pair.page.get_by_label("Données personnelles d'un bénéficiaire").check()
    pair.page.get_by_label("Précisions").fill("Un nom de bénéficiaire en clair.")
    pair.page.get_by_role("button", name="Envoyer le signalement").click()
    pair.page.wait_for_load_state()
    assert "signalement est transmis" in pair.page.get_by_role("status").first.inner_text()

    staff = open_tab(animatrice)
    staff.goto("/moderation")
    item = staff.page.locator(".queue-item", has_text="TEXTE-A-MASQUER")
    assert "Un nom de bénéficiaire en clair." in item.inner_text()
    item.get_by_label("Raison").fill("Données personnelles d'un bénéficiaire.")
    item.get_by_role("button", name="Masquer", exact=True).click()
    staff.page.wait_for_load_state()
    assert staff.page.get_by_role("status").first.inner_text() == "Signalement traité."
    assert "TEXTE-A-MASQUER" not in staff.page.locator("main").inner_text()

    pair.goto(f"/t/{topic.id}")
    main = pair.page.locator("main").inner_text()
    assert "TEXTE-A-MASQUER" not in main
    assert "Ce message a été masqué par la modération." in main


def test_the_comite_opens_the_analyses_and_their_charts_are_drawn(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab], browser_app: Flask
) -> None:
    if "analytics.index" not in browser_app.view_functions:
        pytest.xfail("issue 5 : la page /analyses n'existe pas encore")
    # Enough members per network that no figure is masked as « < 5 ».
    pairs = [
        make_member(network=network) for network in ("apec", "france-travail") for _ in range(6)
    ]
    for n, pair in enumerate(pairs):
        make_topic(pair, title=f"Sujet d'analyse {n}", replies=[(pairs[n - 1], "Réponse.")])
    comite = make_member(statut="hors_pair", network="dgefp", roles=("comite",))
    tab = open_tab(comite)
    tab.goto("/")
    tab.page.get_by_role("link", name="Analyses").click()
    tab.page.wait_for_url("**/analyses")
    tab.goto("/analyses?periode=lancement")
    charts = tab.page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map(canvas => {
          const chart = window.Chart && window.Chart.getChart(canvas);
          const {data} = canvas.getContext('2d')
            .getImageData(0, 0, canvas.width, canvas.height);
          let inked = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]) inked++;
          return {id: canvas.id, chart: !!chart, width: canvas.width, height: canvas.height,
                  inked, points: chart ? chart.data.datasets.flatMap(d => d.data).length : 0};
        })"""
    )
    assert len(charts) >= 4, charts
    for chart in charts:
        assert chart["chart"], chart
        assert min(chart["width"], chart["height"]) > 100, chart
        assert chart["inked"] > 500, chart  # axes, labels and legend at least
    assert sum(chart["points"] for chart in charts) > 0
    assert tab.page.locator("table.stats-table").count() >= 4


def test_merci_is_a_toggle_button_that_counts_without_leaving_the_page(
    make_member: Callable[..., Member], open_tab: Callable[..., Tab]
) -> None:
    """The script turns the « Merci » link into a pressed/unpressed button posting the
    page's CSRF token (CSRF is on here); the count follows, the page stays put."""
    asker = make_member(name="Claire Martin")
    answerer = make_member(name="Karim Benali")
    topic = make_topic(asker, title="Un cas de reconversion", body="Vos avis ?")
    make_reply(answerer, topic, "Voici ce que je ferais.")
    tab = open_tab(asker)
    tab.goto(f"/t/{topic.id}")
    page = tab.page
    assert page.get_by_role("button", name="Merci pour le message n° 2").is_visible()
    thanks = page.locator("a.thanks")
    assert thanks.get_attribute("aria-pressed") == "false"
    url = page.url
    thanks.click()
    page.wait_for_function(
        "() => document.querySelector('a.thanks').getAttribute('aria-pressed') === 'true'"
    )
    assert thanks.inner_text().startswith("Remercié")
    assert page.locator(".thanks-count").inner_text().startswith("1 merci")
    assert page.locator(".posts + [role=status]").inner_text() == (
        "Merci transmis à l'auteur du message. 1 remerciement."
    )
    assert page.url == url
    inject_axe(page)
    serious = [v for v in page.evaluate(AXE_RUN_JS) if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    thanks.press(" ")  # a button answers the space bar too
    page.wait_for_function(
        "() => document.querySelector('a.thanks').getAttribute('aria-pressed') === 'false'"
    )
    assert page.locator(".thanks-count").count() == 0
    thanks.click()
    page.wait_for_function("() => document.querySelector('.thanks-count') !== null")
    page.reload()  # what the server kept
    assert page.get_by_role("button", name="Remercié pour le message n° 2").is_visible()
    page.locator(".thanks-count").click()
    page.wait_for_url("**/merci")
    assert "Claire Martin" in page.locator("main").inner_text()


def test_on_a_phone_every_header_link_is_on_screen_under_menu(
    members: dict[str, Member], open_tab: Callable[..., Tab]
) -> None:
    """At 375 px the forum's links and the account's sat in two rows scrolled sideways:
    « Déconnexion », « Membres », « Mots-clés » lay past the screen's edge with no sign of
    them (review of stop 52). « Déconnexion », the messages and the notifications are on
    screen; the rest opens under « Menu », each link within the screen, and Escape closes
    it back to « Menu »."""
    tab = open_tab(members["animation"], width=375)
    page = tab.page
    tab.goto("/")
    width = page.viewport_size["width"]

    def on_screen(locator) -> bool:  # noqa: ANN001
        box = locator.bounding_box()
        return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width

    for name in ("Déconnexion", "Messages", "Notifications"):
        control = (
            page.locator(".site-header")
            .get_by_role("button", name=name)
            .or_(page.locator(".site-header").get_by_role("link", name=name, exact=True))
        )
        assert control.is_visible(), name
        assert on_screen(control), name
    assert not page.get_by_role("link", name="Membres", exact=True).is_visible()

    menu = page.locator(".mobile-menu > summary")
    menu.click()
    panel = page.get_by_role("navigation", name="Menu")
    names = panel.get_by_role("link").all_inner_texts()
    for expected in ("Forum", "Non lus", "Sujets actifs", "Outils", "Mots-clés", "Membres",
                     "Mon compte", "Mes signalements"):  # fmt: skip
        assert any(n.startswith(expected) for n in names), (expected, names)
    assert any(n.startswith("Modération") for n in names)  # the animatrice's
    for link in panel.get_by_role("link").all():
        assert link.is_visible(), link.inner_text()
        assert on_screen(link), link.inner_text()

    panel.get_by_role("link", name="Mots-clés").focus()
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"

    menu.click()
    panel.get_by_role("link", name="Membres").click()
    page.wait_for_url("**/membres")
    assert page.locator("h1").inner_text().startswith("Membres")
