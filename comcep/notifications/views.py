"""The bell, the notifications page, subscription levels and e-mail preferences."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from comcep import policy
from comcep.extensions import csrf, db
from comcep.forms import ConfirmForm
from comcep.forum import queries as forum_queries
from comcep.members.models import Member, fold_name
from comcep.notifications import header, services
from comcep.notifications.models import EMAIL_FREQUENCIES, LEVELS, Notification
from comcep.policy import current_viewer

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def header_counts() -> dict:
    """The header's counters (bell, private messages, moderation queue), each through the
    wall; computed once per request (`header.counts`)."""
    return header.counts(current_viewer())


@bp.get("/notifications")
@login_required
def index() -> ResponseReturnValue:
    viewer = current_viewer()
    page = services.notifications_page(viewer, max(request.args.get("page", 1, type=int) or 1, 1))
    (older,) = header.read_with_counts(viewer, (services.older_notifications_column(),), {})
    topic_ids = {line.notification.topic_id for line in page.items}
    titles = services.topic_titles(viewer, topic_ids - {None})
    names = services.actor_names(viewer, [line.notification for line in page.items])
    return render_template(
        "notifications/index.html",
        notifications=page,
        older=older,
        shown=services.SHOWN_NOTIFICATIONS,
        titles=titles,
        names=names,
        form=ConfirmForm(),
        frequencies=EMAIL_FREQUENCIES,
    )


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int) -> ResponseReturnValue:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.member_id != current_user.id:
        abort(404)
    target = services.open_notification(current_viewer(), notification)
    db.session.commit()
    return redirect(target)


@bp.post("/notifications/lues")
@login_required
def mark_read() -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.mark_all_read(current_user)
    db.session.commit()
    flash("Toutes vos notifications sont marquées comme lues.", "success")
    return redirect(url_for("notifications.index"))


@bp.post("/t/<int:topic_id>/abonnement")
@login_required
def topic_subscription(topic_id: int) -> ResponseReturnValue:
    topic = forum_queries.get_topic_or_404(current_viewer(), topic_id)
    level = request.form.get("level", "")
    if not ConfirmForm().validate_on_submit() or level not in LEVELS:
        abort(400)
    services.set_topic_level(current_user, topic.id, level)
    db.session.commit()
    flash("Votre suivi de ce sujet est enregistré.", "success")
    # Back to the page the form was on: a page number only, never an address from the form.
    page = request.form.get("page", 1, type=int)
    page = page if page > 1 else None
    return redirect(url_for("forum.topic", topic_id=topic.id, slug=topic.slug, page=page))


@bp.post("/r/<slug>/abonnement")
@login_required
def category_subscription(slug: str) -> ResponseReturnValue:
    category = forum_queries.get_category_or_404(current_viewer(), slug)
    level = request.form.get("level", "")
    if not ConfirmForm().validate_on_submit() or level not in LEVELS:
        abort(400)
    services.set_category_level(current_user, category.id, level)
    db.session.commit()
    flash("Votre suivi de cette rubrique est enregistré.", "success")
    return redirect(url_for("forum.category", slug=category.slug))


# The pages that show the e-mail frequency form, by the fixed name each sends in `back`: the
# form returns to the page it was sent from, and never to an address taken from the form.
PREFERENCES_PAGES = {"notifications": "notifications.index", "compte": "members.account"}


@bp.post("/compte/notifications")
@login_required
def email_preferences() -> ResponseReturnValue:
    frequency = request.form.get("frequency", "")
    if not ConfirmForm().validate_on_submit() or frequency not in EMAIL_FREQUENCIES:
        abort(400)
    services.set_email_frequency(current_user, frequency)
    db.session.commit()
    flash("Vos préférences d'e-mail sont enregistrées.", "success")
    back = PREFERENCES_PAGES.get(request.form.get("back", ""), "notifications.index")
    return redirect(url_for(back))


@bp.route("/notifications/desabonner/<token>", methods=["GET", "POST"])
@csrf.exempt  # one-click unsubscribe (RFC 8058): the signed token is the authority
def unsubscribe(token: str) -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("notifications/unsubscribe.html", token=token)
    member = services.unsubscribe(token)
    if member is None:
        abort(404)
    db.session.commit()
    return render_template("notifications/unsubscribed.html")


@bp.get("/membres/suggestions")
@login_required
def mention_suggestions() -> ResponseReturnValue:
    """Names for @mention completion, among the members the viewer may see only."""
    prefix = fold_name(request.args.get("q") or "")[:40]
    if len(prefix) < 2:
        return {"noms": []}
    names = db.session.scalars(
        select(Member.display_name)
        .where(
            policy.visible_members(current_viewer()),
            Member.name_key.startswith(prefix, autoescape=True),
        )
        .order_by(Member.display_name)
        .limit(8)
    )
    return {"noms": list(names)}
