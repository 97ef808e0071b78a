"""Log in and out, the member list and profiles."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from comcep.extensions import limiter
from comcep.forms import ConfirmForm, choices
from comcep.members import queries
from comcep.members.forms import LoginForm, MemberFilterForm
from comcep.policy import current_viewer

bp = Blueprint("members", __name__)

STATE_MESSAGES = {
    "pending": "Votre demande d'inscription est en attente de validation par votre réseau.",
    "suspended": "Votre compte est suspendu. Contactez l'animatrice de la ComCEP.",
    "left": "Ce compte a été fermé.",
}


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message="Trop de tentatives de connexion.")
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("forum.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("members/login.html", form=form), status
    member = queries.get_member_by_email(form.email.data or "")
    if member is None or not member.check_password(form.password.data or ""):
        form.password.errors.append("Adresse e-mail ou mot de passe incorrect.")
        return render_template("members/login.html", form=form), 400
    if not member.is_active:
        form.email.errors.append(STATE_MESSAGES.get(member.state, STATE_MESSAGES["left"]))
        return render_template("members/login.html", form=form), 403
    login_user(member, remember=bool(form.remember.data))
    flash(f"Bienvenue, {member.display_name}.", "success")
    return redirect(_safe_next(request.args.get("next")))


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
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
    form.validate()
    page = request.args.get("page", 1, type=int)
    members = queries.member_list(
        current_viewer(),
        page=max(page, 1),
        network_code=form.network.data or None,
        region_code=form.region.data or None,
        name=(form.q.data or None) if not form.q.errors else None,
    )
    return render_template("members/list.html", members=members, form=form)


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
    )
