"""Registration requests (SPEC §4, issue 6): the e-mail goes over a real SMTP server on
loopback, the link confirms the address, the référent of the network decides, the log keeps
the decision; unconfirmed requests expire; an SMTP failure loses no e-mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from comcep import create_app, outbox
from comcep.errors import ComcepError
from comcep.extensions import db, limiter, utcnow
from comcep.mail import MailMessage
from comcep.members import membership
from comcep.members.models import Member, Network
from comcep.moderation.models import ModerationLog
from comcep.notifications.models import Notification
from comcep.outbox import OutboxEvent
from config import Config, TestConfig
from tests.factories import name_referent
from tests.mailserver import Mailbox, free_port, link_path, smtp_mailbox, smtp_server, text_of

PASSWORD = "Chemin-Vert-2026"
APPLICANT = {
    "name": "Camille Durand",
    "email": "camille.durand@apec.fr",
    "network": "apec",
    "organisation": "Apec Rennes",
    "region": "bretagne",
    "motivation": "Échanger avec d'autres conseillers sur les situations rencontrées.",
    "password": PASSWORD,
}
CONFIRM_SUBJECT = "Confirmez votre adresse e-mail"


@pytest.fixture(autouse=True)
def _rate_limits_as_configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limiter is module-level: an app built earlier in the run with rate limits on
    (e.g. a production app in test_login) has switched it on for every app."""
    monkeypatch.setattr(limiter, "enabled", app.config["RATELIMIT_ENABLED"])


@pytest.fixture
def mailbox(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_mailbox(app, monkeypatch) as box:
        yield box


def text(response) -> str:  # noqa: ANN001
    return unescape(response.get_data(as_text=True))


def register(client, **changes: str):  # noqa: ANN001, ANN201
    return client.post("/inscription", data={**APPLICANT, **changes})


def log_in(client, email: str = APPLICANT["email"], password: str = PASSWORD):  # noqa: ANN001, ANN201
    return client.post("/connexion", data={"email": email, "password": password})


def applicant() -> Member:
    member = db.session.scalar(select(Member).where(Member.email == APPLICANT["email"]))
    assert member is not None
    return member


def confirmation_path(mailbox: Mailbox, email: str = APPLICANT["email"]) -> str:
    messages = [m for m in mailbox.to(email) if m["Subject"] == CONFIRM_SUBJECT]
    assert messages, "no confirmation e-mail"
    return link_path(messages[-1], "/inscription/confirmer/")


def awaiting_request(client, mailbox: Mailbox) -> Member:  # noqa: ANN001
    """A registration confirmed by its e-mail link, waiting for the référent."""
    assert register(client).status_code == 200
    assert client.post(confirmation_path(mailbox)).status_code == 200
    return applicant()


def decide(client, member: Member, decision: str, reason: str = ""):  # noqa: ANN001, ANN201
    return client.post(
        f"/moderation/inscriptions/{member.id}", data={"decision": decision, "reason": reason}
    )


def test_the_registration_form_asks_for_the_spec_fields(client) -> None:
    page = client.get("/inscription")
    assert page.status_code == 200
    for name in ("name", "email", "network", "organisation", "region", "motivation", "password"):
        assert f'name="{name}"' in page.text
    # Only the networks of pairs are offered: hors pairs join by invitation.
    assert 'value="apec"' in page.text
    assert 'value="carif-oref"' not in page.text


def test_a_conseiller_registers_confirms_is_approved_by_the_referent_and_logs_in(
    client, client_for, members, make_member, mailbox
) -> None:
    other_referent = make_member(roles=("validation",), network="cap-emploi", name="Réf Cap")

    # The request: the page says what comes next and never echoes the password.
    response = register(client)
    assert response.status_code == 200
    assert "Demande enregistrée" in text(response)
    assert PASSWORD not in response.text
    member = applicant()
    assert (member.state, member.registration_status) == ("pending", "unconfirmed")
    assert member.display_name == "Camille Durand"
    assert member.organisation == "Apec Rennes"
    assert (member.network.code, member.region.code, member.statut) == ("apec", "bretagne", "pair")

    # The confirmation e-mail came over SMTP, in French, with an absolute link.
    message = mailbox.only(APPLICANT["email"], CONFIRM_SUBJECT)
    assert "Bonjour Camille Durand" in text_of(message)
    assert message.get_body(("html",)) is not None
    link = link_path(message, "/inscription/confirmer/")

    # Before confirming: no login, and the page says why.
    refused = log_in(client)
    assert refused.status_code == 403
    assert "Confirmez d'abord votre adresse e-mail" in text(refused)
    assert client.get("/compte").status_code == 302

    # The link opens a page whose button confirms (a link scanner opening it confirms
    # nothing); confirming tells the référent of the network, not the others.
    opened = client.get(link)
    assert opened.status_code == 200
    assert "Confirmer mon adresse" in text(opened)
    assert applicant().registration_status == "unconfirmed"
    confirmed = client.post(link)
    assert confirmed.status_code == 200
    assert "Adresse confirmée" in text(confirmed)
    assert applicant().registration_status == "awaiting"
    to_validate = mailbox.only(members["referent_apec"].email, "attend votre validation")
    assert link_path(to_validate, "/moderation/inscriptions") == "/moderation/inscriptions"
    assert mailbox.to(other_referent.email) == []

    # Still no login: the request waits for validation.
    waiting = log_in(client)
    assert waiting.status_code == 403
    assert "attend la validation du référent" in text(waiting)

    # The référent of apec sees the request; a référent of another network does not.
    referent = client_for(members["referent_apec"])
    queue = referent.get("/moderation/inscriptions")
    assert queue.status_code == 200
    assert "Camille Durand" in text(queue)
    assert APPLICANT["email"] in text(queue)
    assert "d'autres conseillers" in text(queue)
    stranger = client_for(other_referent)
    other_queue = stranger.get("/moderation/inscriptions")
    assert other_queue.status_code == 200
    assert "Camille Durand" not in text(other_queue)
    assert APPLICANT["email"] not in text(other_queue)
    assert decide(stranger, member, "approve").status_code == 404
    assert decide(stranger, member, "refuse", "Pas chez nous.").status_code == 404
    assert applicant().registration_status == "awaiting"
    assert db.session.scalar(select(func.count(ModerationLog.id))) == 0

    # Approval by the référent of the network.
    before = utcnow()
    approved = decide(referent, member, "approve")
    after = utcnow()
    assert approved.status_code == 302
    assert approved.headers["Location"].endswith("/moderation/inscriptions")
    member = applicant()
    assert (member.state, member.registration_status) == ("active", "approved")
    assert member.decided_by_id == members["referent_apec"].id
    assert "Camille Durand" not in text(referent.get("/moderation/inscriptions"))

    welcome = mailbox.only(APPLICANT["email"], "Bienvenue sur la ComCEP")
    assert "Votre inscription à la ComCEP est validée" in text_of(welcome)
    assert link_path(welcome, "/connexion") == "/connexion"

    # The first login.
    first = log_in(client)
    assert first.status_code == 302
    home = client.get("/")
    assert "Bienvenue, Camille Durand." in text(home)
    assert client.get("/compte").status_code == 200

    # The decision is in the moderation log: who, what, on whom, when.
    entry = db.session.scalar(select(ModerationLog))
    assert entry is not None
    assert entry.actor_id == members["referent_apec"].id
    assert entry.action == "approve_registration"
    assert (entry.target_type, entry.target_id) == ("member", member.id)
    assert before - timedelta(seconds=1) <= entry.created_at <= after + timedelta(seconds=1)


def test_an_approved_applicant_gets_one_welcome_e_mail_and_the_notice_on_the_bell(
    client, client_for, members, mailbox
) -> None:
    """The approval tells the applicant by e-mail once (« Bienvenue sur la ComCEP »); the
    bell's notice of it is not e-mailed again a few minutes later as « Du nouveau »."""
    member = awaiting_request(client, mailbox)
    assert decide(client_for(members["referent_apec"]), member, "approve").status_code == 302
    db.session.execute(update(OutboxEvent).values(available_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    outbox.process()  # the grouping delay run out
    subjects = [str(m["Subject"]) for m in mailbox.to(APPLICANT["email"])]
    assert subjects == [CONFIRM_SUBJECT, "Bienvenue sur la ComCEP"]

    db.session.expire_all()
    [notice] = db.session.scalars(select(Notification).where(Notification.member_id == member.id))
    assert (notice.kind, notice.read_at) == ("registration", None)
    assert log_in(client).status_code == 302
    assert "a validé votre demande d'inscription" in text(client.get("/notifications"))


def test_the_referent_queue_is_closed_to_members_without_the_role(
    client, client_for, members, mailbox
) -> None:
    member = awaiting_request(client, mailbox)
    for key in ("pair", "other_pair", "hors_pair", "comite"):
        assert client_for(members[key]).get("/moderation/inscriptions").status_code == 404, key
        assert decide(client_for(members[key]), member, "approve").status_code == 404, key
    assert client.get("/moderation/inscriptions").status_code == 302  # to /connexion
    assert applicant().registration_status == "awaiting"


def test_a_network_representative_decides_the_requests_of_the_network_they_validate(
    client, client_for, members, mailbox
) -> None:
    """SPEC §1: the référent is « any + role validation for one network ». A hors pair who
    represents Apec, named its référent by an admin, decides Apec's requests and only
    those (the wall stays: the queue shows no forum content)."""
    admin, representative = members["admin"], members["hors_pair"]
    assert name_referent(client_for(admin), representative, "apec").status_code == 302
    member = awaiting_request(client, mailbox)  # an Apec conseillère
    db.session.expire_all()
    referent = client_for(db.session.get(Member, representative.id))
    assert "Camille Durand" in text(referent.get("/moderation/inscriptions"))
    assert decide(referent, member, "approve").status_code == 302
    assert applicant().state == "active"
    assert applicant().decided_by_id == representative.id
    assert referent.get("/r/premier-entretien").status_code == 404
    # Only Apec's: a request to Cap emploi is not theirs to see or decide.
    other = register(client, email="leo.martin@capemploi.fr", network="cap-emploi")
    assert other.status_code == 200
    assert client.post(confirmation_path(mailbox, "leo.martin@capemploi.fr")).status_code == 200
    waiting = db.session.scalar(select(Member).where(Member.email == "leo.martin@capemploi.fr"))
    assert "leo.martin" not in text(referent.get("/moderation/inscriptions"))
    assert decide(referent, waiting, "approve").status_code == 404


@pytest.mark.parametrize("decider", ["animation", "admin"])
def test_the_animatrice_and_admins_decide_for_every_network(
    client, client_for, members, mailbox, decider
) -> None:
    member = awaiting_request(client, mailbox)
    staff = client_for(members[decider])
    assert "Camille Durand" in text(staff.get("/moderation/inscriptions"))
    assert decide(staff, member, "approve").status_code == 302
    assert applicant().state == "active"
    assert applicant().decided_by_id == members[decider].id


def test_a_refusal_needs_a_reason_which_the_applicant_receives_by_e_mail_and_at_login(
    client, client_for, members, mailbox
) -> None:
    member = awaiting_request(client, mailbox)
    referent = client_for(members["referent_apec"])

    # Without a reason: refused, nothing decided, nothing sent.
    for blank in ("", "   "):
        response = decide(referent, member, "refuse", blank)
        assert response.status_code == 303
        page = referent.get(response.headers["Location"])
        assert "Indiquez la raison du refus" in text(page)
        assert "Camille Durand" in text(page)  # still in the queue
    assert applicant().registration_status == "awaiting"
    assert mailbox.to(APPLICANT["email"])[-1]["Subject"] == CONFIRM_SUBJECT

    reason = "Votre structure n'est pas un opérateur du CEP."
    assert decide(referent, member, "refuse", reason).status_code == 302
    member = applicant()
    assert (member.state, member.registration_status) == ("pending", "refused")
    assert member.refusal_reason == reason

    letter = mailbox.only(APPLICANT["email"], "Votre demande d'inscription")
    assert reason in text_of(letter)

    login = log_in(client)
    assert login.status_code == 403
    assert "Votre demande d'inscription a été refusée" in text(login)
    assert reason in text(login)

    entry = db.session.scalar(select(ModerationLog))
    assert (entry.action, entry.actor_id, entry.target_id) == (
        "refuse_registration",
        members["referent_apec"].id,
        member.id,
    )
    assert entry.reason == reason
    assert entry.created_at is not None
    # A decided request cannot be decided again.
    assert decide(referent, member, "approve").status_code == 303
    assert applicant().state == "pending"


@pytest.mark.parametrize("decision", ["approve", "refuse"])
def test_a_request_whose_applicant_was_anonymised_can_no_longer_be_decided(
    client, client_for, members, mailbox, decision
) -> None:
    """An applicant asks to be forgotten before the référent decides: an admin anonymises
    the request. The référent's page, loaded before, still offers it; deciding it must not
    turn the former applicant into an active « Ancien membre » listed among the members,
    nor write to them."""
    member = awaiting_request(client, mailbox)
    anonymised = client_for(members["admin"]).post(
        f"/admin/membres/{member.id}", data={"anonymise": "1", "confirm": "y"}
    )
    assert anonymised.status_code == 302
    mailbox.clear()

    referent = client_for(members["referent_apec"])
    response = decide(referent, member, decision, "Structure hors du CEP.")
    assert response.status_code == 303
    assert "Cette demande n'attend pas de validation." in text(
        referent.get(response.headers["Location"])
    )
    db.session.expire_all()
    former = db.session.get(Member, member.id)
    assert (former.state, former.display_name) == ("left", "Ancien membre")
    assert former.decided_by_id is None
    assert mailbox.messages == []
    assert "Ancien membre" not in text(client_for(members["pair"]).get("/membres"))
    decisions = select(func.count(ModerationLog.id)).where(
        ModerationLog.action.in_(("approve_registration", "refuse_registration"))
    )
    assert db.session.scalar(decisions) == 0


@pytest.mark.parametrize("second", ["approve", "refuse"])
def test_of_two_decisions_taken_at_the_same_moment_only_the_first_applies(
    app, client, members, mailbox, second
) -> None:
    """The référents of a network and the staff are all e-mailed the same request: two of
    them may decide it together (or one click twice). The second request read it as
    « awaiting » before the first committed; its decision must find it taken, not apply
    over it (two welcomes, or an active member whose request reads « refused »)."""
    member = awaiting_request(client, mailbox)
    mailbox.clear()
    stale = db.session.get(Member, member.id)  # as the second request read it
    assert stale.registration_status == "awaiting"
    with db.engine.begin() as first:  # the first decision, committed meanwhile
        first.execute(
            update(Member)
            .where(Member.id == member.id)
            .values(registration_status="refused", refusal_reason="Hors du CEP.")
        )
    referent = db.session.get(Member, members["referent_apec"].id)
    decide_again = {
        "approve": lambda: membership.approve_registration(referent, stale),
        "refuse": lambda: membership.refuse_registration(referent, stale, "Une autre raison."),
    }[second]
    with app.test_request_context(), pytest.raises(ComcepError) as refused:
        decide_again()
    assert "vient d'être traitée" in refused.value.message
    db.session.rollback()
    outbox.process()

    db.session.expire_all()
    decided = db.session.get(Member, member.id)
    assert (decided.state, decided.registration_status) == ("pending", "refused")
    assert decided.refusal_reason == "Hors du CEP."
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count(ModerationLog.id))) == 0


def test_a_decision_without_a_choice_changes_nothing(client, client_for, members, mailbox) -> None:
    member = awaiting_request(client, mailbox)
    referent = client_for(members["referent_apec"])
    for data in ({}, {"decision": "peut-etre"}):
        response = referent.post(f"/moderation/inscriptions/{member.id}", data=data)
        assert response.status_code == 400  # the requests again, this one saying why
        assert "La décision n'est pas enregistrée" in unescape(response.text)
    assert applicant().registration_status == "awaiting"


def test_a_request_left_unconfirmed_for_8_days_expires_and_the_address_may_register_again(
    client, runner, mailbox
) -> None:
    assert register(client).status_code == 200
    old_link = confirmation_path(mailbox)
    register(client, email="recent@apec.fr")
    db.session.execute(
        update(Member)
        .where(Member.email == APPLICANT["email"])
        .values(created_at=utcnow() - timedelta(days=8))
    )
    db.session.execute(
        update(Member)
        .where(Member.email == "recent@apec.fr")
        .values(created_at=utcnow() - timedelta(days=6))
    )
    db.session.commit()

    result = runner.invoke(args=["members", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 demande(s) expirée(s)" in result.output
    db.session.expire_all()
    assert applicant().registration_status == "expired"
    recent = db.session.scalar(select(Member).where(Member.email == "recent@apec.fr"))
    assert recent.registration_status == "unconfirmed"

    dead = client.get(old_link)
    assert dead.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide" in text(dead)
    assert applicant().registration_status == "expired"
    login = log_in(client)
    assert login.status_code == 403
    assert "Votre demande a expiré" in text(login)

    # The same address registers again, with a new link; the old one stays dead.
    again = register(client, name="Camille Durand-Le Gall")
    assert again.status_code == 200
    assert "Demande enregistrée" in text(again)
    assert (
        db.session.scalar(select(func.count(Member.id)).where(Member.email == APPLICANT["email"]))
        == 1
    )
    new_link = confirmation_path(mailbox)
    assert new_link != old_link
    assert client.get(old_link).status_code == 410
    assert client.post(old_link).status_code == 410
    assert client.post(new_link).status_code == 200
    assert applicant().registration_status == "awaiting"
    assert applicant().display_name == "Camille Durand-Le Gall"


def test_the_confirmation_link_works_once_and_never_twice(client, mailbox) -> None:
    register(client)
    link = confirmation_path(mailbox)
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 410
    second = client.get(link)
    assert second.status_code == 410
    assert "Ce lien a déjà été utilisé ou n'est plus valide" in text(second)
    assert applicant().registration_status == "awaiting"


def _tampered(token: str) -> list[str]:
    head, _, signature = token.rpartition(".")
    other = "B" if signature[0] == "A" else "A"
    return [
        f"{head}.{other}{signature[1:]}",  # the signature changed
        f"x{token}",  # the payload changed
        head,  # no signature at all
        "n-importe-quoi",
    ]


def test_a_tampered_confirmation_link_is_refused_with_a_french_message(client, mailbox) -> None:
    register(client)
    link = confirmation_path(mailbox)
    token = link.rsplit("/", 1)[1]
    for bad in _tampered(token):
        response = client.get(f"/inscription/confirmer/{bad}")
        assert response.status_code == 400, bad
        assert "Ce lien n'est pas valide" in text(response), bad
    assert applicant().registration_status == "unconfirmed"
    assert client.get(link).status_code == 200  # the real link still works


def test_a_weak_password_is_refused_in_french_and_never_echoed(client, mailbox) -> None:
    weak = "courtmdp"
    response = register(client, password=weak)
    assert response.status_code == 400
    assert "au moins 10 caractères" in text(response)
    assert weak not in response.text
    assert "Camille Durand" in text(response)  # the rest of the input is kept
    assert db.session.scalar(select(func.count(Member.id))) == 0
    assert mailbox.messages == []


def test_the_password_hint_states_the_rule_the_server_applies(client) -> None:
    """The hint said « 16 caractères au moins, sans autre règle »; a long password holding
    one's name is refused all the same (review C of stop 52). It says so now."""
    hint = re.sub(r"\s+", " ", text(client.get("/inscription")))
    assert "ni votre nom, ni votre adresse, ni un mot de passe courant" in hint
    response = register(client, password="camilledurand-cep-2026")
    assert response.status_code == 400
    assert "Le mot de passe ne doit pas contenir votre nom." in text(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"network": "carif-oref"}, "", id="hors-pair-organisation"),
        pytest.param({"network": "inconnu"}, "", id="unknown-network"),
        pytest.param({"region": "atlantide"}, "", id="unknown-region"),
        pytest.param({"email": "pas-une-adresse"}, "Adresse e-mail invalide", id="bad-email"),
        pytest.param({"motivation": ""}, "pourquoi vous souhaitez rejoindre", id="no-motivation"),
        pytest.param({"name": ""}, "Indiquez votre nom", id="no-name"),
    ],
)
def test_bad_registration_input_gets_a_400_and_creates_nothing(
    client, mailbox, changes, message
) -> None:
    response = register(client, **changes)
    assert response.status_code == 400
    assert "Le formulaire contient des erreurs" in text(response)
    assert message in text(response)
    assert db.session.scalar(select(func.count(Member.id))) == 0
    assert mailbox.messages == []


def test_registering_an_address_in_use_answers_the_same_and_warns_its_owner(
    client, members, mailbox
) -> None:
    owner = members["other_pair"]
    fresh = register(client, email="nouvelle@apec.fr")
    taken = register(client, email=owner.email.upper())
    assert taken.status_code == fresh.status_code == 200
    assert text(taken).replace(owner.email, "X") == text(fresh).replace("nouvelle@apec.fr", "X")
    warning = mailbox.only(owner.email)
    assert warning["Subject"] == "Votre compte ComCEP existe déjà"
    db.session.refresh(owner)
    assert (owner.display_name, owner.state) == ("Paire Deux", "active")
    assert owner.check_password("mot-de-passe-solide")


def test_a_registration_survives_an_smtp_outage_and_the_cli_sends_it_once(
    app, client, runner, monkeypatch
) -> None:
    port = free_port()  # nothing listens there yet
    monkeypatch.setitem(app.config, "MAIL_URL", f"smtp://127.0.0.1:{port}")

    response = register(client)
    assert response.status_code == 200
    assert "Demande enregistrée" in text(response)
    message = db.session.scalar(select(MailMessage))
    assert message is not None
    assert (message.recipient, message.sent_at) == (APPLICANT["email"], None)
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.kind == "mail"))
    assert event is not None
    assert event.ref_id == message.id
    assert event.attempts >= 1
    assert "Connection" in event.last_error or "refused" in event.last_error.lower()
    assert applicant().registration_status == "unconfirmed"

    with smtp_server(port) as mailbox:
        # The back-off has put the row in the future: make it due now.
        db.session.execute(update(OutboxEvent).values(available_at=utcnow()))
        db.session.commit()
        result = runner.invoke(args=["mail", "send"])
        assert result.exit_code == 0, result.output
        assert "1 e-mail(s) envoyé(s)" in result.output
        again = runner.invoke(args=["mail", "send"])
        assert again.exit_code == 0, again.output
        assert "0 e-mail(s) envoyé(s)" in again.output
        assert len(mailbox.messages) == 1
        link = link_path(mailbox.only(APPLICANT["email"], CONFIRM_SUBJECT), "/inscription/")

    db.session.expire_all()
    assert db.session.get(MailMessage, message.id).sent_at is not None
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == 0
    assert client.get(link).status_code == 200  # and the delivered link works


def test_referents_of_a_network_without_requests_see_an_empty_queue(
    client_for, make_member
) -> None:
    referent = make_member(roles=("validation",), network="missions-locales")
    network = db.session.scalar(select(Network).where(Network.code == "missions-locales"))
    assert referent.validation_network_id == network.id
    page = client_for(referent).get("/moderation/inscriptions")
    assert page.status_code == 200
    assert "Aucune demande en attente." in text(page)


@pytest.mark.parametrize(
    ("url", "data", "budget"),
    [
        # a form sent back with a mistake spends only the loose budget of posted forms
        pytest.param(
            "/inscription",
            {**APPLICANT, "password": "faible"},
            int(Config.REGISTRATION_ATTEMPT_LIMIT.split()[0]),
            id="registration",
        ),
        pytest.param("/mot-de-passe-oublie", {"email": "personne@exemple.fr"}, 10, id="reset"),
    ],
)
def test_registration_and_reset_requests_are_rate_limited_per_address(
    app, tmp_path, monkeypatch, url, data, budget
) -> None:
    # The limiter is one module-level object: restore its state once this app is done.
    for name in ("enabled", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name, None))
    limited = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        # A dict of our own: create_app adds SQLite options to this dict in place, and
        # the class-level default is shared by every app built in the run.
        SQLALCHEMY_ENGINE_OPTIONS={},
        INSTANCE_PATH=str(tmp_path),
        SEARCH_INDEX_PATH=app.config["SEARCH_INDEX_PATH"],
        UPLOAD_PATH=str(tmp_path / "uploads"),
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    try:
        visitor = limited.test_client()
        statuses = [visitor.post(url, data=data).status_code for _ in range(budget)]
        assert 429 not in statuses
        blocked = visitor.post(url, data=data)
        assert blocked.status_code == 429
        assert "Trop de tentatives" in text(blocked)
        assert visitor.get(url).status_code == 200  # only requests are counted
        elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
        assert visitor.post(url, data=data, environ_base=elsewhere).status_code != 429
    finally:
        with limited.app_context():
            db.engine.dispose()


def test_a_second_request_with_another_password_changes_nothing_of_the_first(
    client, mailbox
) -> None:
    """Someone registers the address of a request that waits for its confirmation, with a
    password of theirs: the request keeps its owner's password and name, both links
    confirm it, and only the owner's password opens the account once approved (the second
    request used to replace the first, so that the owner confirmed a stranger's password)."""
    assert register(client).status_code == 200
    first = confirmation_path(mailbox)
    again = register(client, password="Attaquant-Secret-2026", name="Quelqu'un d'autre")
    assert again.status_code == 200
    second = confirmation_path(mailbox)
    member = applicant()
    assert member.display_name == APPLICANT["name"]
    assert member.check_password(PASSWORD)
    assert not member.check_password("Attaquant-Secret-2026")
    assert client.post(second).status_code == 200  # the same request, confirmed
    assert client.get(first).status_code == 410  # used once, as any link


def test_the_owner_of_a_request_may_correct_it_with_the_same_password(client, mailbox) -> None:
    assert register(client, name="Camile Durant").status_code == 200
    first = confirmation_path(mailbox)
    assert register(client).status_code == 200
    assert applicant().display_name == APPLICANT["name"]
    assert client.get(first).status_code == 410  # the corrected request has its own link
    assert client.get(confirmation_path(mailbox)).status_code == 200
