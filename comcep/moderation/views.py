"""The animatrice's tools: review queue, post/topic/member actions, log, settings."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound
from wtforms import Field

from comcep import policy
from comcep.errors import ComcepError
from comcep.extensions import db
from comcep.forms import ConfirmForm, choices, field_errors
from comcep.forum import queries as forum_queries
from comcep.forum.models import Category, Post, Topic
from comcep.forum.views import history_page
from comcep.members import queries as member_queries
from comcep.messages import queries as message_queries
from comcep.messages.models import PrivateMessage
from comcep.moderation import forms, queries, services, settings
from comcep.moderation.models import ACTION_LABELS
from comcep.policy import current_viewer
from comcep.rendering import own_words

bp = Blueprint("moderation", __name__)
bp.add_app_template_global(services.restorable, "restorable")


@bp.app_context_processor
def navigation() -> dict:
    """Header flags for every page: staff see the queue link and its count (one query)."""
    viewer = current_viewer()
    staff = viewer.is_staff
    return {
        "nav": {
            "moderation": staff,
            "validation": staff or "validation" in viewer.roles,
        }
    }


def _staff() -> None:
    policy.check_moderate(current_viewer())


def _category_choices(pairs_only: bool = False) -> list:
    categories = forum_queries.visible_categories_flat(current_viewer())
    return choices(
        (
            str(c.id),
            ("— " if c.parent_id else "")
            + c.name
            + (" (ouverte aux hors pairs)" if policy.admits_hors_pairs(c) else ""),
        )
        for c in categories
        if not (pairs_only and c.open_to_hors_pairs)
    )


def _category(form_field: Field) -> Category:
    category = next(
        (
            c
            for c in forum_queries.visible_categories_flat(current_viewer())
            if str(c.id) == form_field.data
        ),
        None,
    )
    if category is None:
        raise NotFound()
    return category


def _queue() -> str:
    return url_for("moderation.queue")


def _done(message: str, target: str) -> ResponseReturnValue:
    db.session.commit()
    flash(message, "success")
    return redirect(target)


# --- Reports (any member) ------------------------------------------------------------


@bp.route("/p/<int:post_id>/signaler", methods=["GET", "POST"])
@login_required
def report(post_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    post, topic = forum_queries.get_post_or_404(viewer, post_id)
    policy.check_report(viewer, post, topic)
    form = forms.ReportForm()
    if form.validate_on_submit():
        try:
            services.report_post(
                current_user, post, topic, form.reason.data, form.comment.data or ""
            )
        except ComcepError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("moderation/report.html", form=form, post=post, topic=topic), 409
        return _done(
            "Merci : votre signalement est transmis à l'équipe d'animation.",
            url_for("forum.post", post_id=post.id),  # back to the post, on its page
        )
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/report.html", form=form, post=post, topic=topic), status


def _message_url(message: PrivateMessage) -> str:
    """Back to the reported message, on the page of its conversation that holds it."""
    return url_for(
        "messages.show",
        conversation_id=message.conversation_id,
        depuis=message.id,
        _anchor=f"m{message.id}",
    )


@bp.route("/messages/m/<int:message_id>/signaler", methods=["GET", "POST"])
@login_required
def report_message(message_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    message, _conversation = message_queries.get_message_or_404(viewer, message_id)
    policy.check_report_message(viewer, message)
    form = forms.ReportForm()
    if form.validate_on_submit():
        try:
            services.report_message(
                current_user, message, form.reason.data, form.comment.data or ""
            )
        except ComcepError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(_message_url(message)), 303
        return _done(
            "Merci : votre signalement est transmis à l'équipe d'animation.", _message_url(message)
        )
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/report_message.html", form=form, message=message), status


@bp.post("/moderation/messages/<int:message_id>")
@login_required
def decide_message(message_id: int) -> ResponseReturnValue:
    _staff()
    message = db.session.get(PrivateMessage, message_id)
    form = forms.OptionalReasonForm()
    decision = request.form.get("decision")
    if message is None or not form.validate_on_submit() or decision not in ("kept", "hidden"):
        flash("Décision invalide.", "error")
        return redirect(url_for("moderation.queue")), 303
    if decision == "hidden" and not (form.reason.data or "").strip():
        return _reason_needed()
    services.decide_message_reports(
        current_user, message, decision == "hidden", form.reason.data or ""
    )
    return _done("Signalement traité.", url_for("moderation.queue"))


def _reason_needed() -> ResponseReturnValue:
    """SPEC §6: a post or a message is hidden with a reason, which its author reads (the
    queue's « Masquer » took an empty one for « Contenu signalé. »)."""
    flash("Indiquez la raison du masquage : elle est montrée à l'auteur.", "error")
    return queue(), 400


@bp.get("/signalements")
@login_required
def my_reports() -> ResponseReturnValue:
    return render_template("moderation/my_reports.html", rows=queries.my_reports(current_user))


# --- Queue ---------------------------------------------------------------------------


@bp.get("/moderation")
@login_required
def queue() -> ResponseReturnValue:
    _staff()
    reports = queries.open_reports()
    return render_template(
        "moderation/queue.html",
        items=queries.review_queue(reports),
        messages=queries.reported_messages(reports),
        pending=queries.pending_posts(),
        form=ConfirmForm(),
        can_manage_categories=policy.can(policy.check_manage_categories, current_viewer()),
        can_invite=policy.can(policy.check_invite, current_viewer()),
        can_administer=policy.can(policy.check_administer, current_viewer()),
    )


@bp.post("/moderation/signalements/<int:post_id>")
@login_required
def decide_reports(post_id: int) -> ResponseReturnValue:
    _staff()
    post, topic = forum_queries.get_post_or_404(current_viewer(), post_id)
    form = forms.OptionalReasonForm()
    decision = request.form.get("decision")
    if not form.validate_on_submit() or decision not in ("kept", "hidden", "edited"):
        flash("Décision invalide.", "error")
        return redirect(url_for("moderation.queue")), 303
    if decision == "hidden" and not (form.reason.data or "").strip():
        return _reason_needed()
    try:
        if decision == "hidden":  # also over an automatic hiding: the author sees this reason
            services.hide_post(current_user, post, topic, form.reason.data.strip())
        elif decision == "kept" and post.is_hidden and not post.is_pending:
            services.restore_post(current_user, post, topic, form.reason.data or "")
        services.close_reports(current_user, post, decision, form.reason.data or "")
    except ComcepError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("moderation.queue")), 303
    return _done("Signalement traité.", url_for("moderation.queue"))


# --- Posts ---------------------------------------------------------------------------


@bp.route("/p/<int:post_id>/masquer", methods=["GET", "POST"])
@login_required
def hide(post_id: int) -> ResponseReturnValue:
    _staff()
    post, topic = forum_queries.get_post_or_404(current_viewer(), post_id)
    form = forms.ReasonForm()
    if form.validate_on_submit():
        was_pending = post.is_pending
        try:
            services.hide_post(current_user, post, topic, form.reason.data)
        except ComcepError as error:  # published meanwhile (another « Valider »)
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("forum.post", post_id=post_id)), 303
        services.close_reports(current_user, post, "hidden", form.reason.data)
        if was_pending:  # refused from the waiting list: back to it, as « valider » does
            return _done("Le message n'est pas publié ; son auteur en est informé.", _queue())
        return _done(
            "Le message est masqué ; son texte reste conservé.",
            url_for("forum.post", post_id=post.id),
        )
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/hide.html", form=form, post=post, topic=topic), status


@bp.post("/p/<int:post_id>/restaurer")
@login_required
def restore(post_id: int) -> ResponseReturnValue:
    _staff()
    post, topic = forum_queries.get_post_or_404(current_viewer(), post_id)
    form = forms.OptionalReasonForm()
    if not form.validate_on_submit():
        return redirect(url_for("forum.post", post_id=post.id)), 303
    if post.is_pending:
        try:
            services.approve_post(current_user, post, topic)
        except ComcepError as error:  # published meanwhile (another « Valider »)
            db.session.rollback()
            flash(error.message, "error")
            return redirect(_queue()), 303
        return _done("Le message est validé et publié.", _queue())
    refused = post.is_refused
    try:
        services.restore_post(current_user, post, topic, form.reason.data or "")
    except ComcepError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("forum.post", post_id=post.id)), 303
    if refused:  # never shown before: published now, after the posts written meanwhile
        return _done(
            "Le message refusé est finalement publié.", url_for("forum.post", post_id=post.id)
        )
    return _done("Le message est de nouveau visible.", url_for("forum.post", post_id=post.id))


@bp.post("/p/<int:post_id>/historique/masquer")
@login_required
def hide_revisions(post_id: int) -> ResponseReturnValue:
    return _set_revisions_hidden(post_id, hidden=True)


@bp.post("/p/<int:post_id>/historique/retablir")
@login_required
def restore_revisions(post_id: int) -> ResponseReturnValue:
    return _set_revisions_hidden(post_id, hidden=False)


def _set_revisions_hidden(post_id: int, *, hidden: bool) -> ResponseReturnValue:
    viewer = current_viewer()
    post, topic = forum_queries.get_post_or_404(viewer, post_id)
    policy.check_hide_revisions(viewer, post, topic)
    form = forms.OptionalReasonForm()
    if not form.validate_on_submit():
        return history_page(viewer, post, topic, form, 400)
    history = url_for("forum.post_history", post_id=post.id)
    changed = services.set_revisions_hidden(
        current_user, post, topic, hidden, form.reason.data or ""
    )
    if not changed:
        return _done("Rien à changer : l'historique était déjà ainsi.", history)
    if hidden:
        return _done(
            "Les versions précédentes sont masquées aux membres ; l'équipe d'animation les lit "
            "toujours.",
            history,
        )
    return _done("Les versions précédentes sont de nouveau visibles.", history)


# --- Topics --------------------------------------------------------------------------


def _topic_for_staff(topic_id: int) -> Topic:
    _staff()
    return forum_queries.get_topic_or_404(current_viewer(), topic_id)


@bp.post("/t/<int:topic_id>/moderer")
@login_required
def topic_toggle(topic_id: int) -> ResponseReturnValue:
    """Lock, unlock, pin, announce and unpin: one POST with an `action` field."""
    topic = _topic_for_staff(topic_id)
    form = forms.OptionalReasonForm()
    action = request.form.get("action")
    target = url_for("forum.topic", topic_id=topic.id, slug=topic.slug)
    if not form.validate_on_submit():
        return redirect(target), 303
    messages = {
        "lock": "Le sujet est verrouillé.",
        "unlock": "Le sujet est déverrouillé.",
        "pin": "Le sujet est épinglé dans sa rubrique.",
        "announce": "Le sujet est épinglé comme annonce.",
        "unpin": "Le sujet n'est plus épinglé.",
    }
    if action not in messages:
        flash("Action inconnue.", "error")
        return redirect(target), 303
    if action in ("lock", "unlock"):
        services.set_locked(current_user, topic, action == "lock", form.reason.data or "")
    else:
        services.set_pinned(current_user, topic, action != "unpin", action == "announce")
    return _done(messages[action], target)


@bp.route("/t/<int:topic_id>/deplacer", methods=["GET", "POST"])
@login_required
def move(topic_id: int) -> ResponseReturnValue:
    topic = _topic_for_staff(topic_id)
    form = forms.MoveForm(data={"category": str(topic.category_id)})
    form.category.choices = _category_choices()
    if form.validate_on_submit():
        try:
            services.move_topic(
                current_user,
                topic,
                _category(form.category),
                form.reason.data or "",
                confirmed=form.confirm_widening.data,
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "category").append(error.message)
        else:
            return _done("Le sujet est déplacé.", url_for("forum.topic", topic_id=topic.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "moderation/topic_form.html", form=form, topic=topic, heading="Déplacer le sujet"
    ), status


@bp.route("/t/<int:topic_id>/renommer", methods=["GET", "POST"])
@login_required
def rename(topic_id: int) -> ResponseReturnValue:
    topic = _topic_for_staff(topic_id)
    form = forms.RenameForm(data={"title": topic.title})
    if form.validate_on_submit():
        services.rename_topic(current_user, topic, form.title.data)
        return _done("Le sujet est renommé.", url_for("forum.topic", topic_id=topic.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "moderation/topic_form.html", form=form, topic=topic, heading="Renommer le sujet"
    ), status


def _state_words(post: Post) -> str:
    """What readers see of a post, in the split form's list: a post never published can
    not open the new topic (`services.split_topic`)."""
    if post.is_pending:
        return " (en attente de validation)"
    if post.is_refused:
        return " (refusé, jamais publié)"
    return " (masqué)" if post.is_hidden else ""


@bp.route("/t/<int:topic_id>/diviser", methods=["GET", "POST"])
@login_required
def split(topic_id: int) -> ResponseReturnValue:
    topic = _topic_for_staff(topic_id)
    posts = forum_queries.all_topic_posts(topic)
    form = forms.SplitForm(data={"category": str(topic.category_id)})
    form.posts.choices = choices(
        (
            str(p.id),
            # A reply not published has no number (`Post.number`): its state says why.
            f"{f'n° {p.number} — ' if p.number > 0 else ''}"
            f"{p.author.display_name if p.author else 'Ancien membre'}"
            f"{_state_words(p)} : {own_words(p.body_html)}",
        )
        for p in posts
        if p.number != 1
    )
    form.category.choices = _category_choices()
    if form.validate_on_submit():
        try:
            new = services.split_topic(
                current_user,
                topic,
                form.posts.data,
                form.title.data,
                _category(form.category),
                confirmed=form.confirm_widening.data,
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "posts").append(error.message)
        else:
            return _done(
                "Les messages sont déplacés dans un nouveau sujet.",
                url_for("forum.topic", topic_id=new.id),
            )
    status = 400 if request.method == "POST" else 200
    nothing = None if form.posts.choices else "Ce sujet n'a pas de réponse : rien à diviser."
    return render_template(
        "moderation/topic_form.html",
        form=form,
        topic=topic,
        heading="Diviser le sujet",
        nothing=nothing,
    ), status


@bp.get("/t/<int:topic_id>/fusionner/sujets")
@login_required
def merge_candidates(topic_id: int) -> ResponseReturnValue:
    """Topics to merge into, by words of their title, for the merge form's suggestions."""
    topic = _topic_for_staff(topic_id)
    words = request.args.get("q") or ""
    return {"noms": queries.merge_candidates(current_viewer(), words, topic.id)}


@bp.route("/t/<int:topic_id>/fusionner", methods=["GET", "POST"])
@login_required
def merge(topic_id: int) -> ResponseReturnValue:
    topic = _topic_for_staff(topic_id)
    form = forms.MergeForm()
    if form.validate_on_submit():
        try:
            target_id = forms.topic_id_of(form.target.data)
            if target_id is None:
                raise NotFound()
            target = forum_queries.get_topic_or_404(current_viewer(), target_id)
            services.merge_topics(
                current_user,
                topic,
                target,
                form.reason.data or "",
                confirmed=form.confirm_widening.data,
            )
        except NotFound:
            form.target.errors.append(
                "Aucun sujet ne correspond : choisissez-le dans les propositions, ou donnez son "
                "numéro ou son adresse."
            )
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "target").append(error.message)
        else:
            return _done("Les sujets sont fusionnés.", url_for("forum.topic", topic_id=target.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "moderation/topic_form.html",
        form=form,
        topic=topic,
        heading="Fusionner ce sujet dans un autre",
    ), status


@bp.route("/t/<int:topic_id>/relayer", methods=["GET", "POST"])
@login_required
def relay(topic_id: int) -> ResponseReturnValue:
    topic = _topic_for_staff(topic_id)
    form = forms.RelayForm()
    form.category.choices = _category_choices(pairs_only=True)
    if form.validate_on_submit():
        try:
            new = services.relay_topic(
                current_user, topic, _category(form.category), form.summary.data
            )
        except ComcepError as error:
            db.session.rollback()
            form.category.errors.append(error.message)
        else:
            return _done(
                "Le relais est publié chez les pairs.", url_for("forum.topic", topic_id=new.id)
            )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "moderation/topic_form.html", form=form, topic=topic, heading="Relayer aux pairs"
    ), status


# --- Members, log, settings ----------------------------------------------------------


@bp.route("/membres/<int:member_id>/moderer", methods=["GET", "POST"])
@login_required
def moderate_member(member_id: int) -> ResponseReturnValue:
    _staff()
    member = member_queries.get_member_any_state_or_404(member_id)
    policy.check_moderate_member(current_viewer(), member)
    form = forms.MemberModerationForm()
    if form.validate_on_submit():
        try:
            if form.action.data == "suspend":
                services.suspend_member(
                    current_user, member, form.days.data, form.reason.data or ""
                )
            elif form.action.data == "silence":
                services.silence_member(
                    current_user, member, form.days.data or 7, form.reason.data or ""
                )
            else:
                services.lift_suspension(current_user, member)
                services.lift_silence(current_user, member)
        except ComcepError as error:
            db.session.rollback()
            form.reason.errors.append(error.message)
        else:
            return _done(
                "La décision est enregistrée.",
                url_for("moderation.moderate_member", member_id=member.id),
            )
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/member.html", form=form, member=member), status


@bp.get("/moderation/journal")
@login_required
def log() -> ResponseReturnValue:
    _staff()
    form = forms.LogFilterForm(request.args)
    labelled = sorted(
        ((a, ACTION_LABELS.get(a, a)) for a in queries.log_actions()), key=lambda c: c[1]
    )
    form.action.choices = choices([("", "Toutes"), *labelled])
    form.acteur.choices = choices([(0, "Tous"), *queries.log_actors()])
    form.validate()
    # An action or a member out of the lists (an old link, a hand-typed URL) is said under
    # its field, in 400, and the journal is shown unfiltered by it.
    # (An action the journal knows but holds none of yet lists nothing, as it should.)
    if form.action.data and form.action.data not in ACTION_LABELS:
        form.action.errors = ["Action inconnue : choisissez-la dans la liste."]
    if form.acteur.errors:  # not a number, or no one who ever acted
        form.acteur.errors = ["Membre inconnu : choisissez-le dans la liste."]
    entries = queries.log_page(
        max(request.args.get("page", 1, type=int) or 1, 1),
        None if form.action.errors else form.action.data or None,
        None if form.acteur.errors else form.acteur.data,
    )
    page = render_template(
        "moderation/log.html",
        entries=entries,
        targets=queries.log_targets(current_viewer(), entries.items),
        form=form,
        can_manage_categories=policy.can(policy.check_manage_categories, current_viewer()),
        can_administer=policy.can(policy.check_administer, current_viewer()),
    )
    return page, 400 if form.action.errors or form.acteur.errors else 200


@bp.route("/moderation/reglages", methods=["GET", "POST"])
@login_required
def settings_page() -> ResponseReturnValue:
    policy.check_administer(current_viewer())
    form = forms.SettingsForm(
        data={"premoderation_posts": settings.get_int(settings.PREMODERATION_POSTS)}
    )
    if form.validate_on_submit():
        settings.set_value(settings.PREMODERATION_POSTS, str(form.premoderation_posts.data))
        services.log(
            current_user,
            "settings",
            "site",
            0,
            details={"premoderation_posts": form.premoderation_posts.data},
        )
        return _done("Réglages enregistrés.", url_for("moderation.settings_page"))
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/settings.html", form=form), status


@bp.get("/admin/rubriques")
@login_required
def categories() -> ResponseReturnValue:
    viewer = current_viewer()
    policy.check_manage_categories(viewer)
    categories = forum_queries.visible_categories_flat(viewer)
    return render_template(
        "moderation/categories.html",
        categories=categories,
        without_switches=services.without_switches([c.id for c in categories]),
        flags=forms.CATEGORY_FLAGS,
        form=ConfirmForm(),
    )


def _category_fields(form: forms.CategoryForm) -> dict:
    return {
        "name": form.name.data.strip(),
        "description": (form.description.data or "").strip(),
        "position": form.position.data or 0,
        "open_to_hors_pairs": bool(form.open_to_hors_pairs.data),
        "staff_only": bool(form.staff_only.data),
        "group_id": int(form.group.data) if form.group.data else None,
    }


def _group_choices(form: forms.CategoryForm) -> None:
    form.group.choices = choices(
        [("", "Aucun groupe")] + [(str(g.id), g.name) for g in member_queries.groups()]
    )


@bp.route("/admin/rubriques/<int:category_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_category(category_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    policy.check_manage_categories(viewer)
    category = policy.check_see_category(viewer, db.session.get(Category, category_id))
    form = forms.CategoryForm(
        data={
            "name": category.name,
            "description": category.description,
            "position": category.position,
            "open_to_hors_pairs": category.open_to_hors_pairs,
            "staff_only": category.staff_only,
            "group": str(category.group_id or ""),
        }
    )
    _group_choices(form)

    def save(fields: dict, confirmed: bool) -> tuple[str, Category]:
        changed = services.edit_category(current_user, category, fields, confirmed=confirmed)
        return f"« {category.name} » est mise à jour." if changed else "Rien n'a changé.", category

    return _category_page(form, category, save)


@bp.route("/admin/rubriques/nouvelle", methods=["GET", "POST"])
@login_required
def new_category() -> ResponseReturnValue:
    viewer = current_viewer()
    policy.check_manage_categories(viewer)
    form = forms.NewCategoryForm()
    _group_choices(form)
    themes = [c for c in forum_queries.visible_categories_flat(viewer) if c.parent_id is None]
    form.parent.choices = choices(
        [("", "Aucun : un nouveau thème")] + [(str(t.id), t.name) for t in themes]
    )

    def save(fields: dict, confirmed: bool) -> tuple[str, Category]:
        parent = db.session.get(Category, int(form.parent.data)) if form.parent.data else None
        created = services.create_category(current_user, parent, fields, confirmed=confirmed)
        return f"« {created.name} » est créée.", created

    return _category_page(form, None, save)


def _category_page(
    form: forms.CategoryForm,
    category: Category | None,
    save: Callable[[dict, bool], tuple[str, Category]],
) -> ResponseReturnValue:
    """The rubrique form: `save` it when valid (its message flashed, back to the list at
    its row), else show it again with the refusal under its field."""
    if form.validate_on_submit():
        try:
            message, saved = save(_category_fields(form), bool(form.confirm_opening.data))
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "name").append(error.message)
        else:
            return _done(message, url_for("moderation.categories") + f"#c{saved.id}")
    status = 400 if request.method == "POST" else 200
    return render_template("moderation/category_form.html", form=form, category=category), status


@bp.post("/admin/rubriques/<int:category_id>")
@login_required
def update_category(category_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    policy.check_manage_categories(viewer)
    category = policy.check_see_category(viewer, db.session.get(Category, category_id))
    form = forms.CategoryFlagsForm()
    if not form.validate_on_submit():
        flash("Le formulaire a expiré : rechargez la page et recommencez.", "error")
        return redirect(url_for("moderation.categories")), 303
    flags = {name: bool(form[name].data) for name in forms.CATEGORY_FLAGS}
    try:
        changed = services.update_category_flags(current_user, category, flags)
    except ComcepError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("moderation.categories") + f"#c{category.id}"), 303
    message = f"« {category.name} » est mise à jour." if changed else "Rien n'a changé."
    return _done(message, url_for("moderation.categories") + f"#c{category.id}")
