"""Log in and out, the member list and profiles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME

from comcep import policy
from comcep.errors import ComcepError
from comcep.extensions import db, limiter, member_or_ip, utcnow
from comcep.filters import date_fr
from comcep.forms import ConfirmForm, choices, field_errors
from comcep.members import membership, queries
from comcep.members import services as admin_services
from comcep.members.forms import (
    AdminMemberForm,
    AnonymiseForm,
    ChangeEmailForm,
    ChangePasswordForm,
    DecisionForm,
    EmailOnlyForm,
    InvitationForm,
    LeaveForm,
    LoginForm,
    MemberFilterForm,
    NetworkForm,
    NetworkNameForm,
    NewPasswordForm,
    ProfileForm,
    RegistrationForm,
)
from comcep.members.models import Invitation, Member, Network, check_dummy_password
from comcep.members.tokens import LinkError
from comcep.notifications.models import EMAIL_FREQUENCIES
from comcep.policy import Viewer, current_viewer

bp = Blueprint("members", __name__)

PENDING_MESSAGES = {
    "unconfirmed": "Confirmez d'abord votre adresse e-mail : cliquez sur le lien que nous vous "
    "avons envoyé.",
    "awaiting": "Votre adresse est confirmée ; votre demande attend la validation du référent "
    "de votre réseau. Vous recevrez un e-mail dès qu'elle sera traitée.",
    "expired": "Votre demande a expiré faute de confirmation : inscrivez-vous de nouveau.",
    "invited": "Utilisez le lien de votre invitation pour choisir votre mot de passe.",
}


def _state_message(member: Member) -> str:
    """Where an account that cannot log in stands, in French."""
    if member.state == "suspended":
        until = f" jusqu'au {date_fr(member.suspended_until)}" if member.suspended_until else ""
        reason = f" Raison : {member.moderation_reason}" if member.moderation_reason else ""
        return f"Votre compte est suspendu{until}.{reason}"
    if member.state == "pending" and member.registration_status == "refused":
        return f"Votre demande d'inscription a été refusée. Raison : {member.refusal_reason}"
    if member.state == "pending":
        return PENDING_MESSAGES.get(member.registration_status, PENDING_MESSAGES["awaiting"])
    return "Ce compte a été fermé."


def _state_title(member: Member) -> str:
    if member.state == "suspended":
        return "Compte suspendu"
    if member.state == "pending" and member.registration_status == "refused":
        return "Demande d'inscription refusée"
    if member.state == "pending":
        return "Demande d'inscription en cours"
    return "Compte fermé"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account_key() -> str:
    """The address typed, as the login looks it up: the budget is the account's, not the
    machine's. With a digest of its current password's hash: choosing a new password (the
    way out the 429 offers) starts a fresh budget, which nobody but the owner can do."""
    email = (request.form.get("email") or "").strip().lower()
    member = queries.get_member_by_email(email)
    password = member.password_hash if member is not None and member.password_hash else ""
    return f"connexion:{email}:{hashlib.blake2b(password.encode(), digest_size=6).hexdigest()}"


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives de connexion.")
@limiter.limit(
    _login_account_limit,
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 400,
    error_message=(
        "Trop de tentatives de connexion sur ce compte. Attendez, ou choisissez un nouveau "
        "mot de passe avec « Mot de passe oublié »."
    ),
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("forum.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("members/login.html", form=form), status
    password = form.password.data or ""
    member = queries.get_member_by_email(form.email.data or "")
    if member is None:
        check_dummy_password(password)  # one hash either way: the delay tells nothing
    if member is None or not member.check_password(password):
        form.password.errors.append("Adresse e-mail ou mot de passe incorrect.")
        return render_template("members/login.html", form=form), 400
    if not member.is_active:
        # Not a mistake in the form: where the account stands, as a page of its own (an
        # applicant is told to come here to follow their request).
        return render_template(
            "members/message.html", title=_state_title(member), message=_state_message(member)
        ), 403
    login_user(member, remember=bool(form.remember.data))
    flash(f"Bienvenue, {member.display_name}.", "success")
    return redirect(_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect). Browsers drop tabs
    and newlines from URLs and read `\\` as `/`, so `/<tab>/evil.example` is off-site."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return url_for("forum.index")


@bp.post("/deconnexion")
def logout() -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("forum.index"))
    logout_user()
    flash("Vous êtes déconnecté·e. À bientôt sur la ComCEP.", "info")
    return redirect(url_for("members.login"))


@bp.get("/membres")
@login_required
def member_list() -> ResponseReturnValue:
    form = MemberFilterForm(request.args)
    form.network.choices = choices(
        [("", "Tous les réseaux")] + [(n.code, n.name) for n in queries.networks()]
    )
    form.region.choices = choices(
        [("", "Toutes les régions")] + [(r.code, r.name) for r in queries.regions()]
    )
    valid = form.validate()
    # A network or region out of the lists (an old link, a hand-typed URL) is said under
    # its field, and filters nothing (it would list no one, without saying why).
    for field, unknown in ((form.network, "Réseau inconnu"), (form.region, "Région inconnue")):
        if field.data and field.data not in {choice.value for choice in field.choices}:
            field.errors = [f"{unknown} : choisissez dans la liste."]
            field.data = ""
            valid = False
    page = request.args.get("page", 1, type=int)
    members = queries.member_list(
        current_viewer(),
        page=max(page, 1),
        network_code=form.network.data or None,
        region_code=form.region.data or None,
        name=(form.q.data or None) if not form.q.errors else None,
    )
    # A refused filter (too long, an invisible character) is said under its field, in 400.
    return render_template("members/list.html", members=members, form=form), 200 if valid else 400


@bp.get("/membres/<int:member_id>")
@login_required
def profile(member_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    member = queries.get_visible_member_or_404(viewer, member_id)
    topic_count, post_count = queries.profile_counts(viewer, member.id)
    posts = queries.recent_posts(viewer, member.id)
    return render_template(
        "members/profile.html",
        member=member,
        topic_count=topic_count,
        post_count=post_count,
        posts=posts,
        is_self=member.id == viewer.member_id,
        # The staff's ways to act on the member: otherwise reached only by typing the URL.
        can_moderate=policy.can(policy.check_moderate_member, viewer, member),
        can_administer=policy.can(policy.check_administer, viewer),
    )


# --- Registration, invitation, passwords ---------------------------------------------


def _network_choices(kind: str | None, *, active_only: bool = True) -> list:
    """Newcomers choose among active networks; the admin form also offers the historical
    ones, which existing members keep."""
    found = queries.networks(kind, active_only=active_only)
    return choices([("", "Choisissez…")] + [(n.code, n.name) for n in found])


def _region_choices() -> list:
    return choices([("", "Choisissez…")] + [(r.code, r.name) for r in queries.regions()])


def _registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def _registration_attempt_limit() -> str:
    return current_app.config["REGISTRATION_ATTEMPT_LIMIT"]


def _registration_sent(response: Response) -> bool:
    """Only a request actually sent (a 200 answer to the POST) spends the tight budget:
    a form sent back with a mistake must not lock an honest applicant out."""
    return response.status_code == 200


def _registration_attempted(response: Response) -> bool:
    """Every posted form spends the loose budget (a flood of invalid forms still costs),
    except those refused for their CSRF token (an expired page) and the 429 itself."""
    return response.status_code != 429 and not g.get("comcep_csrf_failed", False)


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(
    _registration_limit,
    methods=["POST"],
    deduct_when=_registration_sent,
    error_message="Trop de demandes d'inscription.",
)
@limiter.limit(
    _registration_attempt_limit,
    methods=["POST"],
    deduct_when=_registration_attempted,
    error_message="Trop de demandes d'inscription.",
)
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("forum.index"))
    form = RegistrationForm()
    form.network.choices = _network_choices("pair")
    form.region.choices = _region_choices()
    if form.validate_on_submit():
        try:
            membership.register(
                name=form.name.data,
                email=form.email.data,
                network_code=form.network.data,
                organisation=form.organisation.data,
                region_code=form.region.data,
                motivation=form.motivation.data,
                password=form.password.data,
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "password").append(error.message)
        else:
            db.session.commit()
            return render_template("members/registered.html", email=form.email.data)
    status = 400 if request.method == "POST" else 200
    return render_template("members/register.html", form=form), status


def _dead_link(error: LinkError) -> ResponseReturnValue:
    """A link from an e-mail that cannot serve: 410 when used up or expired, else 400."""
    return render_template(
        "members/message.html", title=error.title, message=error.message
    ), error.status


def _follow_link(
    use: Callable[[str], object], token: str, title: str, message: str
) -> ResponseReturnValue:
    """An e-mail's confirmation link: used once, then a page saying what it did (or why it
    could not serve)."""
    try:
        use(token)
    except LinkError as error:
        db.session.rollback()
        return _dead_link(error)
    except ComcepError as error:
        db.session.rollback()
        return render_template(
            "members/message.html", title="Lien invalide", message=error.message
        ), 400
    db.session.commit()
    return render_template("members/message.html", title=title, message=message)


def _confirm_link(
    check: Callable[[str], object],
    use: Callable[[str], object],
    token: str,
    ask: tuple[str, str, str],
    done: tuple[str, str],
) -> ResponseReturnValue:
    """A link that changes something acts on the button it opens, not on the GET: mail
    gateways and link scanners (common in administrations) open the links of the mail
    they receive, and would confirm what nobody asked for. A dead link says so at once."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        return _follow_link(use, token, *done)
    try:
        check(token)
    except LinkError as error:
        return _dead_link(error)
    except ComcepError as error:
        return render_template(
            "members/message.html", title="Lien invalide", message=error.message
        ), 400
    title, text, button = ask
    status = 400 if request.method == "POST" else 200
    return render_template(
        "members/confirm_link.html", form=form, title=title, text=text, button=button
    ), status


@bp.route("/inscription/confirmer/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    return _confirm_link(
        membership.check_confirm_link,
        membership.confirm_email,
        token,
        (
            "Confirmer votre adresse",
            "Confirmez cette adresse e-mail pour transmettre votre demande d'inscription au "
            "référent de votre réseau.",
            "Confirmer mon adresse",
        ),
        (
            "Adresse confirmée",
            "Merci ! Votre demande est transmise au référent de votre réseau. Vous recevrez "
            "un e-mail dès qu'elle sera validée.",
        ),
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    form = NewPasswordForm()
    try:
        membership.check_invitation(token)
    except LinkError as error:
        return _dead_link(error)
    if form.validate_on_submit():
        try:
            member = membership.accept_invitation(token, form.password.data)
        except LinkError as error:
            db.session.rollback()
            return _dead_link(error)
        except ComcepError as error:
            db.session.rollback()
            form.password.errors.append(error.message)
        else:
            db.session.commit()
            login_user(member)
            flash("Bienvenue sur la ComCEP ! Votre compte est activé.", "success")
            return redirect(url_for("forum.index"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "members/new_password.html", form=form, title="Choisissez votre mot de passe"
    ), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], error_message="Trop de demandes.")
def forgot_password() -> ResponseReturnValue:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        membership.request_password_reset(form.email.data)
        db.session.commit()
        return render_template(
            "members/message.html",
            title="Vérifiez votre messagerie",
            message="Si cette adresse correspond à un compte actif, un lien pour choisir un "
            "nouveau mot de passe vient de lui être envoyé. Il est valable une heure.",
        )
    status = 400 if request.method == "POST" else 200
    return render_template("members/forgot.html", form=form), status


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    form = NewPasswordForm()
    try:
        membership.check_reset_link(token)
    except LinkError as error:
        return _dead_link(error)
    if form.validate_on_submit():
        try:
            membership.reset_password(token, form.password.data)
        except LinkError as error:
            db.session.rollback()
            return _dead_link(error)
        except ComcepError as error:
            db.session.rollback()
            form.password.errors.append(error.message)
        else:
            db.session.commit()
            flash("Votre mot de passe est changé : connectez-vous.", "success")
            return redirect(url_for("members.login"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "members/new_password.html", form=form, title="Nouveau mot de passe"
    ), status


# --- Own account (RGPD) --------------------------------------------------------------

# The three forms that check the current password share the login's budget, per member: a
# borrowed session must not guess the password at leisure, then own the account.
password_check_limit = limiter.shared_limit(
    _login_limit,
    scope="password-check",
    key_func=member_or_ip,
    methods=["POST"],
    error_message="Trop de tentatives avec votre mot de passe.",
)


def _profile_form(member: Member) -> ProfileForm:
    """The structure and region form as the member's profile fills it."""
    form = ProfileForm(
        formdata=None,
        data={
            "organisation": member.organisation,
            "region": member.region.code if member.region else "",
        },
    )
    form.region.choices = _region_choices()
    return form


def _account_page(status: int = 200, **forms: object) -> ResponseReturnValue:
    if "profile_form" not in forms:
        forms["profile_form"] = _profile_form(current_user)
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    forms.setdefault("email_form", ChangeEmailForm(formdata=None))
    forms.setdefault("leave_form", LeaveForm(formdata=None))
    forms.setdefault("preferences_form", ConfirmForm(formdata=None))
    return render_template("members/account.html", frequencies=EMAIL_FREQUENCIES, **forms), status


@bp.get("/compte")
@login_required
def account() -> ResponseReturnValue:
    return _account_page()


@bp.get("/compte/mot-de-passe")
@bp.get("/compte/adresse")
@bp.get("/compte/quitter")
@bp.get("/compte/notifications")  # posted to `notifications.email_preferences`
@bp.get("/compte/profil")
def account_form() -> ResponseReturnValue:
    """The account's forms post here and a refusal stays at this address: reloading it or
    typing it asks by GET, which leads to the account page instead of a 405."""
    return redirect(url_for("members.account"))


@bp.post("/compte/profil")
@login_required
def update_profile() -> ResponseReturnValue:
    form = ProfileForm()
    form.region.choices = _region_choices()
    if form.validate_on_submit():
        try:
            membership.update_profile(
                current_user,
                organisation=form.organisation.data or "",  # a field not sent at all is None
                region_code=form.region.data,
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "organisation").append(error.message)
        else:
            db.session.commit()
            flash("Votre structure et votre région sont enregistrées.", "success")
            return redirect(url_for("members.account"))
    return _account_page(400, profile_form=form)


@bp.post("/compte/mot-de-passe")
@login_required
@password_check_limit
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            membership.change_password(current_user, form.current.data, form.password.data)
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "password").append(error.message)
        else:
            db.session.commit()
            # Every other session ends (they hold the former password's key); this one
            # goes on, with its « rester connecté » cookie if it had one.
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
            login_user(current_user._get_current_object(), remember=remember in request.cookies)
            flash("Votre mot de passe est changé ; vos autres sessions sont fermées.", "success")
            return redirect(url_for("members.account"))
    return _account_page(400, password_form=form)


@bp.post("/compte/adresse")
@login_required
@password_check_limit
def change_email() -> ResponseReturnValue:
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            membership.request_email_change(current_user, form.email.data, form.password.data)
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "email").append(error.message)
        else:
            db.session.commit()
            flash(
                "Un lien de confirmation est envoyé à la nouvelle adresse ; elle remplacera "
                "l'actuelle une fois confirmée.",
                "info",
            )
            return redirect(url_for("members.account"))
    return _account_page(400, email_form=form)


@bp.route("/compte/adresse/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str) -> ResponseReturnValue:
    return _confirm_link(
        membership.check_email_change_link,
        membership.confirm_email_change,
        token,
        (
            "Changer votre adresse",
            "Confirmez cette nouvelle adresse : elle remplacera l'actuelle pour vous connecter "
            "et recevoir les e-mails de la ComCEP.",
            "Confirmer la nouvelle adresse",
        ),
        (
            "Adresse changée",
            "Votre nouvelle adresse est confirmée : utilisez-la pour vous connecter.",
        ),
    )


@bp.get("/compte/export")
@login_required
def export() -> ResponseReturnValue:
    data = json.dumps(membership.export_data(current_user), ensure_ascii=False, indent=2)
    return Response(
        data,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="comcep-mes-donnees.json"'},
    )


@bp.get("/compte/export.html")
@login_required
def export_readable() -> ResponseReturnValue:
    """The same data as the JSON, as a page one opens from the downloads folder: a JSON
    file is unreadable without tools (review of stop 52). A standalone file: no link back
    to the site, no script, its style written in. Rendered without the site's context
    processors: the header's counters they read have no place in it (one statement saved)."""
    page = current_app.jinja_env.get_template("members/export_readable.html").render(
        data=membership.export_data(current_user), made=utcnow()
    )
    return Response(
        page,
        mimetype="text/html",
        headers={"Content-Disposition": 'attachment; filename="comcep-mes-donnees.html"'},
    )


@bp.post("/compte/quitter")
@login_required
@password_check_limit
def leave() -> ResponseReturnValue:
    form = LeaveForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.password.data):
            form.password.errors.append("Le mot de passe est incorrect.")
            return _account_page(400, leave_form=form)
        try:
            membership.leave(current_user, remove_posts=bool(form.remove_posts.data))
        except ComcepError as error:
            db.session.rollback()
            form.password.errors.append(error.message)
        else:
            db.session.commit()
            logout_user()
            flash("Votre compte est fermé et anonymisé. Merci pour vos contributions.", "info")
            return redirect(url_for("forum.index"))
    return _account_page(400, leave_form=form)


@bp.get("/confidentialite")
def privacy() -> ResponseReturnValue:
    return render_template("members/privacy.html")


# --- Validation, invitations, administration -----------------------------------------


@bp.get("/moderation/inscriptions")
@login_required
def registrations() -> ResponseReturnValue:
    viewer = current_viewer()
    policy.check_validate_registrations(viewer)
    return _registrations_page(viewer, DecisionForm(formdata=None))


def _registrations_page(
    viewer: Viewer, form: DecisionForm, refused_id: int | None = None, status: int = 200
) -> ResponseReturnValue:
    """The waiting requests; a refused decision's form shows its errors and what was typed."""
    return render_template(
        "members/registrations.html",
        requests=queries.registrations(viewer),
        form=form,
        refused_id=refused_id,
    ), status


@bp.post("/moderation/inscriptions/<int:member_id>")
@login_required
def decide(member_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    member = queries.get_member_any_state_or_404(member_id)
    policy.check_decide_registration(viewer, member)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            if form.decision.data == "approve":
                membership.approve_registration(current_user, member)
            else:
                membership.refuse_registration(current_user, member, form.reason.data or "")
        except ComcepError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("members.registrations")), 303
        db.session.commit()
        flash("La décision est enregistrée et le demandeur prévenu par e-mail.", "success")
        return redirect(url_for("members.registrations"))
    return _registrations_page(viewer, form, member.id, 400)


@bp.route("/moderation/invitations", methods=["GET", "POST"])
@login_required
def invitations() -> ResponseReturnValue:
    policy.check_invite(current_viewer())
    form = InvitationForm()
    form.network.choices = _network_choices(None)
    form.region.choices = _region_choices()
    if form.validate_on_submit():
        try:
            membership.invite(
                current_user,
                email=form.email.data,
                name=form.name.data,
                statut=form.statut.data,
                network_code=form.network.data,
                region_code=form.region.data,
                organisation=form.organisation.data or "",
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "email").append(error.message)
        else:
            db.session.commit()
            flash(f"L'invitation est envoyée à {form.email.data}.", "success")
            return redirect(url_for("members.invitations"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "members/invitations.html",
        form=form,
        pending=queries.pending_invitations(),
        action_form=ConfirmForm(formdata=None),
    ), status


@bp.post("/moderation/invitations/<int:invitation_id>/renvoyer")
@login_required
def resend_invitation(invitation_id: int) -> ResponseReturnValue:
    return _act_on_invitation(
        invitation_id,
        membership.resend_invitation,
        "L'invitation est renvoyée à {email} avec un nouveau lien ; le précédent ne sert plus.",
    )


@bp.post("/moderation/invitations/<int:invitation_id>/retirer")
@login_required
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    return _act_on_invitation(
        invitation_id,
        membership.revoke_invitation,
        "L'invitation de {email} est retirée : son lien ne fonctionne plus.",
    )


def _act_on_invitation(
    invitation_id: int, act: Callable[[Member, Invitation], None], done: str
) -> ResponseReturnValue:
    """« Renvoyer » and « Retirer »: load, check, act, one commit, back to the list."""
    policy.check_invite(current_viewer())
    invitation = queries.get_invitation_or_404(invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        act(current_user, invitation)
    except ComcepError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("members.invitations")), 303
    db.session.commit()
    flash(done.format(email=invitation.member.email), "success")
    return redirect(url_for("members.invitations"))


@bp.route("/admin/membres/<int:member_id>", methods=["GET", "POST"])
@login_required
def administer(member_id: int) -> ResponseReturnValue:
    policy.check_administer(current_viewer())
    member = queries.get_member_any_state_or_404(member_id)
    every_network = queries.networks(active_only=False)
    validated = {n.id: n.code for n in every_network}.get(member.validation_network_id or 0)
    if member.statut == "pair" and member.validation_network_id == member.network_id:
        validated = None  # « son propre réseau »: it follows the pair if they move
    form = AdminMemberForm(
        data={
            "statut": member.statut,
            "network": member.network.code if member.network else "",
            "roles": sorted(member.role_set),
            "groups": [str(g.id) for g in member.groups],
            "validates": validated or "",
        }
    )
    form.network.choices = _network_choices(None, active_only=False)
    form.validates.choices = choices(
        [("", "Son propre réseau (un pair)")]
        + [(n.code, n.name) for n in every_network if n.kind == "pair"]
    )
    form.groups.choices = choices((str(g.id), g.name) for g in queries.groups())
    anonymise_form = AnonymiseForm()
    if request.method == "POST" and request.form.get("anonymise") and anonymise_form.validate():
        try:
            admin_services.anonymise_member(
                current_user,
                member,
                confirmed=anonymise_form.confirm.data,
                remove_posts=bool(anonymise_form.remove_posts.data),
            )
        except ComcepError as error:
            db.session.rollback()
            if error.field:  # under the box; other refusals concern a form not shown
                field_errors(anonymise_form, error, "confirm").append(error.message)
            else:
                flash(error.message, "error")
        else:
            db.session.commit()
            flash("Le compte est anonymisé.", "success")
            return redirect(url_for("members.administer", member_id=member.id))
    elif form.validate_on_submit():
        try:
            changed = admin_services.update_member(
                current_user,
                member,
                statut=form.statut.data,
                network_code=form.network.data,
                roles=form.roles.data,
                group_ids=[int(g) for g in form.groups.data],
                validates=form.validates.data or "",
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "network").append(error.message)
        else:
            db.session.commit()
            flash("Le membre est mis à jour." if changed else "Rien n'a changé.", "success")
            return redirect(url_for("members.administer", member_id=member.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "members/administer.html", form=form, member=member, anonymise_form=anonymise_form
    ), status


# --- Networks and organisations (administrators) --------------------------------------


@bp.route("/admin/reseaux", methods=["GET", "POST"])
@login_required
def networks() -> ResponseReturnValue:
    """The networks of pairs and the organisations of hors pairs: a new one is added here."""
    policy.check_administer(current_viewer())
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            created = admin_services.create_network(
                current_user, kind=form.kind.data, name=form.name.data, code=form.code.data
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "name").append(error.message)
        else:
            db.session.commit()
            flash(f"« {created.name} » est créé.", "success")
            return redirect(url_for("members.networks") + f"#n{created.id}")
    status = 400 if request.method == "POST" else 200
    return _networks_page(form, status)


def _networks_page(
    form: NetworkForm,
    status: int,
    name_form: NetworkNameForm | None = None,
    named: int | None = None,
) -> ResponseReturnValue:
    return render_template(
        "members/networks.html",
        form=form,
        networks=queries.networks(),
        counts=queries.network_member_counts(),
        name_form=name_form,
        named=named,
        action_form=ConfirmForm(formdata=None),
    ), status


@bp.post("/admin/reseaux/<int:network_id>")
@login_required
def update_network(network_id: int) -> ResponseReturnValue:
    """Rename, close or open again one network (`action`: nom, fermer, rouvrir)."""
    policy.check_administer(current_viewer())
    network = db.get_or_404(Network, network_id)
    action = request.form.get("action", "")
    if action not in ("nom", "fermer", "rouvrir"):
        abort(400)
    name_form = NetworkNameForm() if action == "nom" else None
    valid = name_form.validate_on_submit() if name_form else ConfirmForm().validate_on_submit()
    if valid:
        try:
            changed = admin_services.update_network(
                current_user,
                network,
                name=name_form.name.data if name_form else None,
                active=None if name_form else action == "rouvrir",
            )
        except ComcepError as error:
            db.session.rollback()
            if name_form is None:  # closing the last open one: said above the list
                flash(error.message, "error")
                return redirect(url_for("members.networks") + f"#n{network.id}"), 303
            name_form.name.errors.append(error.message)
        else:
            db.session.commit()
            done = {
                "nom": f"Le nom est changé : « {network.name} ».",
                "fermer": f"« {network.name} » est fermé : il n'est plus proposé aux nouveaux "
                "venus ; ses membres le gardent.",
                "rouvrir": f"« {network.name} » est rouvert aux nouveaux venus.",
            }
            flash(done[action] if changed else "Rien n'a changé.", "success")
            return redirect(url_for("members.networks") + f"#n{network.id}")
    elif name_form is None:
        abort(400)
    return _networks_page(NetworkForm(formdata=None), 400, name_form, network.id)
