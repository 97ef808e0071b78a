"""Forum pages: index, rubriques, topics, posting, unread and active topics."""

from __future__ import annotations

import functools

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from comcep import policy
from comcep.attachments.services import attach, read_uploads
from comcep.errors import ComcepError
from comcep.extensions import db, limiter, member_or_ip, posting_limit
from comcep.filters import body
from comcep.forms import ConfirmForm, choices, field_errors
from comcep.forum import fragments, knowledge, queries, services
from comcep.forum.forms import EditPostForm, PreviewForm, ReplyForm, TopicForm
from comcep.forum.models import Category, Post, Topic
from comcep.members.models import Member
from comcep.members.queries import mention_targets
from comcep.moderation.forms import OptionalReasonForm
from comcep.moderation.services import ask_review, log
from comcep.notifications import header
from comcep.notifications import services as notifications
from comcep.notifications.models import LEVEL_LABELS
from comcep.notifications.services import category_level_column, topic_level_column
from comcep.policy import TopicActions, Viewer, current_viewer
from comcep.rendering import quote_markdown, render_markdown

bp = Blueprint("forum", __name__)
bp.add_app_template_global(fragments.category_rows, "category_rows")


def _page_arg() -> int:
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


UNKNOWN_FILTER = "Ce filtre n'existe pas : la liste est montrée sans filtre."


def _list_filter() -> tuple[str | None, str | None]:
    """The list's filter, and what to say (in a 400) of one that is not in the list: an old
    link or a hand-typed URL sees why the list is not filtered, rather than nothing."""
    value = request.args.get("filtre")
    if not value or value in queries.LIST_FILTERS:
        return value or None, None
    return None, UNKNOWN_FILTER


PENDING_MESSAGE = (
    "Merci ! Les premiers messages d'un nouveau membre sont relus par l'animatrice : "
    "le vôtre attend sa validation et n'est visible que par vous d'ici là."
)


def _preview_of(form: TopicForm | ReplyForm | EditPostForm) -> str | None:
    """The rendered preview when the « Prévisualiser » button was pressed."""
    if form.preview.data and form.body.data:
        return _rendered(form.body.data)
    return None


def _rendered(text: str) -> str:
    """A message as it would be published: mentions link to members the writer may see."""
    return render_markdown(text, functools.partial(mention_targets, current_viewer()))


@bp.post("/apercu")
@login_required
@limiter.limit(
    "120 per minute",
    key_func=member_or_ip,
    error_message="Vous demandez beaucoup d'aperçus en peu de temps : réessayez dans un instant.",
)
def preview() -> ResponseReturnValue:
    """« Prévisualiser » without sending the form (`static/js/comcep.js`): the page stays,
    and so do the files chosen, which a browser never refills. Without JavaScript the
    button sends the form and the page comes back with its preview (`_preview_of`)."""
    form = PreviewForm()
    if not form.validate_on_submit():
        errors = [error for errors in form.errors.values() for error in errors]
        return {"erreur": str(errors[0]) if errors else "Aperçu impossible."}, 400
    return {"html": str(body(_rendered(form.body.data)))}


@bp.get("/")
def index() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return render_template("forum/presentation.html")
    viewer = current_viewer()
    return render_template(
        "forum/index.html",
        blocks=queries.index_blocks(viewer),
        announcements=queries.announcements(viewer),
    )


@bp.get("/r/<slug>")
@login_required
def category(slug: str) -> ResponseReturnValue:
    viewer = current_viewer()
    category = queries.get_category_or_404(viewer, slug)
    list_filter, filter_error = _list_filter()
    topics = queries.category_topics(viewer, current_user, category, _page_arg(), list_filter)
    (level,) = header.read_with_counts(
        viewer, (category_level_column(),), {"category_id": category.id}
    )
    page = render_template(
        "forum/category.html",
        list_filter=list_filter,
        filter_error=filter_error,
        filters=queries.LIST_FILTERS,
        tags=knowledge.tags_by_topic([row.topic.id for row in topics.items]),
        category=category,
        subcategories=queries.subcategory_rows(viewer, category),
        topics=topics,
        can_create=policy.can(policy.check_create_topic, viewer, category),
        silenced_notice=policy.silenced_notice(viewer),
        level=level,
        levels=LEVEL_LABELS,
    )
    return page, 400 if filter_error else 200


@bp.route("/r/<slug>/nouveau-sujet", methods=["GET", "POST"])
@login_required
@posting_limit
def new_topic(slug: str) -> ResponseReturnValue:
    viewer = current_viewer()
    category = queries.get_category_or_404(viewer, slug)
    policy.check_create_topic(viewer, category)
    form = TopicForm()
    form.tags.choices = _tag_choices()
    if request.method == "POST" and not form.preview.data and form.validate_on_submit():
        try:
            uploads = _uploads(viewer, category)
            topic = services.create_topic(
                current_user, category, form.title.data, form.body.data, refuse_repeat=True
            )
            services.set_tags(topic, form.tags.data or [])
            if uploads:
                attach(current_user, queries.first_post_id(topic), uploads)
        except ComcepError as error:
            db.session.rollback()
            field_errors(form, error, "attachments").append(error.message)
        else:
            db.session.commit()
            flash(PENDING_MESSAGE if topic.is_hidden else "Votre sujet est publié.", "success")
            return redirect(url_for("forum.topic", topic_id=topic.id, slug=topic.slug))
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template(
        "forum/new_topic.html",
        category=category,
        form=form,
        preview=_preview_of(form),
        can_attach=policy.can(policy.check_attach, viewer, category),
        files_again=_files_sent_again(),
    ), status


def _tag_choices() -> list:
    return choices((tag.slug, tag.name) for tag in knowledge.active_tags())


def _files_sent_again() -> list[str]:
    """Names of the files a POST carried, when its form is shown again (a preview, a
    refusal): a browser never refills a file field, so the page asks for them again."""
    if request.method != "POST":
        return []
    return [f.filename for f in request.files.getlist("attachments") if f.filename]


def _uploads(viewer: Viewer, category: Category) -> list:
    """Read and check the files first: no database lock is held while bytes arrive."""
    uploads = read_uploads(request.files.getlist("attachments"))
    if uploads and not policy.can(policy.check_attach, viewer, category):
        raise ComcepError("Les pièces jointes sont désactivées dans cette rubrique.")
    return uploads


@bp.get("/t/<int:topic_id>")
@bp.get("/t/<int:topic_id>/<slug>")
@login_required
def topic(topic_id: int, slug: str | None = None) -> ResponseReturnValue:
    viewer = current_viewer()
    topic = queries.page_topic_or_404(viewer, topic_id)
    if isinstance(topic, int):  # merged: its posts are there
        return redirect(url_for("forum.topic", topic_id=topic), 301)
    if slug is not None and slug != topic.slug:  # an old or mistyped slug (SPEC §10)
        return redirect(_canonical_topic_url(topic), 301)
    read_number, last_listed, level, has_tags, has_events, *counts = queries.reader_state(
        current_user,
        topic,
        queries.last_listed_column(viewer.is_staff),
        topic_level_column(),
        knowledge.has_tags_column(),
        queries.has_events_column(),
        *header.columns(*header.variant(viewer)),
        params=header.params(viewer),
    )
    header.keep(viewer, counts)
    page_count = queries.topic_page_count(topic, last_listed)
    page = min(_page_arg(), page_count)
    posts = queries.topic_posts(viewer, topic, page, page_count)
    # Read up to the page's last place: a reply not published (below 0, shown last to its
    # author and the staff) has none, and must not move the mark.
    read_here = max((p.number for p in posts), default=0)
    if read_here > read_number:  # a re-read writes nothing
        services.mark_read(current_user, topic.id, read_here)
        # What the bell told about these posts is read now; only if it rings (one write
        # per GET otherwise, the read mark's).
        if counts[0] and notifications.mark_read_in_topic(viewer.member_id, topic.id, read_here):
            header.forget()
        db.session.commit()
    actions = TopicActions.for_topic(viewer, topic)
    articles = fragments.topic_articles(
        posts,
        topic,
        viewer,
        actions,
        can_mark=policy.can(policy.check_mark_solution, viewer, topic),
        files=knowledge.attachments_by_post([p.id for p in posts if p.has_files]),
        solution=queries.solution_post(topic),
        events=queries.topic_events(viewer, topic, page, page_count) if has_events else (),
    )
    return render_template(
        "forum/topic.html",
        topic=topic,
        articles=articles,
        # A topic hidden because its opening post awaits validation is « en attente »,
        # not « masqué » (its author reads it: a newcomer's first topic).
        awaiting=bool(posts and posts[0].number == 1 and posts[0].is_pending),
        # Refused at pre-moderation: never published, rather than « masqué ».
        refused=bool(posts and posts[0].number == 1 and posts[0].is_refused),
        tags=knowledge.tags_by_topic([topic.id]).get(topic.id, []) if has_tags else [],
        page=page,
        page_count=page_count,
        actions=actions,
        silenced_notice=policy.silenced_notice(viewer),
        viewer=viewer,
        level=level,
        levels=LEVEL_LABELS,
    )


def _canonical_topic_url(topic: Topic) -> str:
    """The topic's own URL, keeping the query (page) of the request."""
    target = url_for("forum.topic", topic_id=topic.id, slug=topic.slug or None)
    query = request.query_string.decode("latin-1")
    return f"{target}?{query}" if query else target


@bp.get("/t/<int:topic_id>/premier-non-lu")
@login_required
def first_unread(topic_id: int) -> ResponseReturnValue:
    topic = queries.get_topic_or_404(current_viewer(), topic_id)
    post_id = queries.first_unread_post_id(current_user, topic)
    if post_id is None:
        return redirect(url_for("forum.post", post_id=topic.last_post_id))
    return redirect(url_for("forum.post", post_id=post_id))


@bp.route("/t/<int:topic_id>/repondre", methods=["GET", "POST"])
@login_required
@posting_limit
def reply(topic_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    topic = queries.get_topic_or_404(viewer, topic_id)
    policy.check_reply(viewer, topic)
    form = ReplyForm()
    if request.method == "GET":
        quoted_id = request.args.get("citer", type=int)
        if quoted_id:
            quoted, quoted_topic = queries.get_post_or_404(viewer, quoted_id)
            if quoted_topic.id == topic.id and not quoted.is_hidden:
                name = quoted.author.display_name if quoted.author else "Ancien membre"
                form.body.data = quote_markdown(name, quoted.body_source, quoted.id)
    if request.method == "POST" and not form.preview.data and form.validate_on_submit():
        try:
            uploads = _uploads(viewer, topic.category)
            post = services.reply(current_user, topic, form.body.data, refuse_repeat=True)
            if uploads:
                attach(current_user, post.id, uploads)
        except ComcepError as error:
            db.session.rollback()  # expires the topic, whose rubrique the page reads again
            topic = queries.get_topic_or_404(viewer, topic_id)
            field_errors(form, error, "attachments").append(error.message)
        else:
            db.session.commit()
            flash(PENDING_MESSAGE if post.is_pending else "Votre réponse est publiée.", "success")
            return redirect(url_for("forum.post", post_id=post.id))
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template(
        "forum/reply.html",
        topic=topic,
        form=form,
        preview=_preview_of(form),
        can_attach=policy.can(policy.check_attach, viewer, topic.category),
        files_again=_files_sent_again(),
    ), status


@bp.get("/p/<int:post_id>")
@login_required
def post(post_id: int) -> ResponseReturnValue:
    post, topic = queries.get_post_or_404(current_viewer(), post_id, policy.check_locate_post)
    page = queries.page_of_post(post, topic)
    target = url_for("forum.topic", topic_id=topic.id, slug=topic.slug)
    if page > 1:
        target += f"?page={page}"
    return redirect(f"{target}#p{post.id}")


@bp.route("/p/<int:post_id>/modifier", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    post, topic = queries.get_post_or_404(viewer, post_id)
    policy.check_edit_post(viewer, post, topic)
    current_tags = [t.slug for t in knowledge.tags_by_topic([topic.id]).get(topic.id, [])]
    form = EditPostForm(data={"title": topic.title, "body": post.body_source, "tags": current_tags})
    if post.number != 1:
        del form.title
        del form.tags
    else:
        form.tags.choices = _tag_choices()
    if request.method == "GET" or form.preview.data or not form.validate_on_submit():
        status = 400 if request.method == "POST" and form.errors else 200
        return render_template(
            "forum/edit_post.html", topic=topic, post=post, form=form, preview=_preview_of(form)
        ), status
    title = form.title.data if post.number == 1 else None
    versions = post.revision_count
    try:
        services.edit_post(current_user, post, topic, form.body.data, title)
        if post.number == 1:
            services.set_tags(topic, form.tags.data or [])
    except ComcepError as error:
        db.session.rollback()
        field_errors(form, error, "body").append(error.message)
        return render_template(
            "forum/edit_post.html", topic=topic, post=post, form=form, preview=None
        ), 400
    if post.is_hidden and post.author_id == current_user.id and not viewer.is_staff:
        if post.revision_count == versions:  # the same text sent back: nothing to review
            form.body.errors.append(
                "Le texte n'a pas changé : corrigez-le pour que l'équipe d'animation le relise."
            )
            return render_template(
                "forum/edit_post.html", topic=topic, post=post, form=form, preview=None
            ), 400
        ask_review(current_user, post)
        db.session.commit()
        flash(
            "Votre message corrigé est transmis à l'équipe d'animation, qui décidera de le "
            "rétablir ; il reste masqué d'ici là.",
            "success",
        )
        return redirect(url_for("forum.post", post_id=post.id))
    db.session.commit()
    flash("Le message est modifié ; la version précédente est conservée.", "success")
    return redirect(url_for("forum.post", post_id=post.id))


@bp.get("/p/<int:post_id>/historique")
@login_required
def post_history(post_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    post, topic = queries.get_post_or_404(viewer, post_id)
    policy.check_see_post_content(viewer, post, topic)
    return history_page(viewer, post, topic, OptionalReasonForm(formdata=None))


def history_page(
    viewer: Viewer, post: Post, topic: Topic, form: OptionalReasonForm, status: int = 200
) -> ResponseReturnValue:
    """A post's versions the viewer may read; for the moderation, the form that hides the
    earlier ones from the members (or shows them again), refused input kept."""
    revisions, hidden = queries.post_revisions(viewer, post)
    return render_template(
        "forum/history.html",
        post=post,
        topic=topic,
        history=queries.revision_history(post, revisions),
        hidden_versions=hidden,
        can_hide=policy.can(policy.check_hide_revisions, viewer, post, topic),
        # An editor out of the reader's sight (the animatrice, to a hors pair) is named
        # « l'équipe d'animation », as the bell names her.
        named_editors=policy.visible_member_ids(
            viewer, (revision.editor_id for revision in revisions if revision.editor_id)
        ),
        form=form,
    ), status


@bp.get("/non-lus")
@login_required
def unread() -> ResponseReturnValue:
    topics = queries.unread_topics(current_viewer(), current_user, _page_arg())
    return render_template(
        "forum/topic_list.html",
        topics=topics,
        tags=knowledge.tags_by_topic([row.topic.id for row in topics.items]),
        title="Messages non lus",
        empty="Vous avez tout lu. Bravo !",
    )


@bp.get("/actifs")
@login_required
def active() -> ResponseReturnValue:
    list_filter, filter_error = _list_filter()
    topics = queries.active_topics(current_viewer(), current_user, _page_arg(), list_filter)
    page = render_template(
        "forum/topic_list.html",
        topics=topics,
        list_filter=list_filter,
        filter_error=filter_error,
        filters=queries.LIST_FILTERS,
        tags=knowledge.tags_by_topic([row.topic.id for row in topics.items]),
        title="Sujets actifs",
        empty="Aucun sujet pour le moment.",
    )
    return page, 400 if filter_error else 200


@bp.post("/marquer-lus")
@login_required
def mark_all_read() -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    services.mark_all_read(current_user)
    db.session.commit()
    flash("Tous les forums sont marqués comme lus.", "success")
    # Back to the list it was asked from (« non lus », « actifs »), else to the index.
    lists = {url_for("forum.unread"), url_for("forum.active")}
    back = request.form.get("retour", "")
    return redirect(back if back in lists else url_for("forum.index"))


@bp.post("/p/<int:post_id>/solution")
@login_required
def solution(post_id: int) -> ResponseReturnValue:
    """Mark (or withdraw) « réponse retenue »: the asker or the animatrice."""
    viewer = current_viewer()
    post, topic = queries.get_post_or_404(viewer, post_id)
    policy.check_mark_solution(viewer, topic)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if topic.solution_post_id == post.id:
            services.withdraw_solution(topic)
            message = "La réponse retenue est retirée."
        else:
            services.mark_solution(current_user, topic, post)
            if post.author_id and post.author_id != current_user.id:
                author = db.session.get(Member, post.author_id)
                notifications.notify(
                    author, "solution", actor=current_user, topic=topic, post_id=post.id
                )
            message = "Cette réponse est retenue comme solution."
        if viewer.is_staff and topic.author_id != viewer.member_id:
            log(current_user, "solution", "post", post.id, topic_id=topic.id)
    except ComcepError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("forum.post", post_id=post.id)), 303
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("forum.post", post_id=post.id))


THANKS_ACTIONS = ("donner", "retirer")


@bp.get("/p/<int:post_id>/merci")
@login_required
def thanks(post_id: int) -> ResponseReturnValue:
    """Who thanked a post (the count on the post links here), and the reader's button."""
    viewer = current_viewer()
    post, topic = queries.get_post_or_404(viewer, post_id, policy.check_locate_post)
    policy.check_see_post_content(viewer, post, topic)
    return _thanks_page(viewer, post, topic)


def _thanks_page(viewer: Viewer, post: Post, topic: Topic) -> ResponseReturnValue:
    members, others = queries.thanks_of(viewer, post)
    can_thank = policy.can(policy.check_thank, viewer, post, topic)
    return render_template(
        "forum/thanks.html",
        post=post,
        topic=topic,
        members=members,
        others=others,
        can_thank=can_thank,
        thanked=can_thank and queries.has_thanked(viewer.member_id, post),
        form=ConfirmForm(),
    )


@bp.post("/p/<int:post_id>/merci")
@login_required
def thank(post_id: int) -> ResponseReturnValue:
    """Give or take back the reader's « Merci » (`action`: donner | retirer); a script asks
    for JSON and updates the button in place, a form gets the post again."""
    viewer = current_viewer()
    post, topic = queries.get_post_or_404(viewer, post_id, policy.check_locate_post)
    policy.check_thank(viewer, post, topic)
    action = request.form.get("action")
    if not ConfirmForm().validate_on_submit() or action not in THANKS_ACTIONS:
        abort(400)
    if action == "donner":
        if services.thank(current_user, post):
            notifications.tell_thanked(post, topic, actor=current_user)
        message = "Merci transmis à l'auteur du message."
    else:
        services.withdraw_thanks(current_user, post)
        message = "Votre remerciement est retiré."
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return {"merci": post.thanks_count, "donne": action == "donner", "message": message}
    flash(message, "success")
    return redirect(url_for("forum.post", post_id=post.id), 303)


@bp.get("/outils")
@login_required
def tools() -> ResponseReturnValue:
    # A type or a mot-clé out of the lists (typed by hand, a mot-clé since retired) filters
    # nothing: taken as none, not offered back in the page's links, and said (in a 400).
    wanted_family = request.args.get("type") or None
    family = wanted_family if wanted_family in knowledge.FAMILIES else None
    tag_slug = request.args.get("mot-cle") or None
    all_tags = knowledge.active_tags()
    tag = next((t for t in all_tags if t.slug == tag_slug), None)
    errors = []
    if wanted_family and family is None:
        errors.append("Type de fichier inconnu : choisissez-le dans la liste.")
    if tag_slug and tag is None:
        errors.append("Mot-clé inconnu : choisissez-le dans la liste.")
    rows = knowledge.tools(current_viewer(), _page_arg(), family, tag)
    page = render_template(
        "forum/tools.html",
        filter_error=" ".join(errors) or None,
        rows=rows,
        capped=rows.total >= knowledge.TOOLS_COUNT_CAP,
        families=knowledge.FAMILIES,
        family=family,
        tag=tag,
        all_tags=all_tags,
    )
    return page, 400 if errors else 200


@bp.get("/mots-cles")
@login_required
def tags() -> ResponseReturnValue:
    return render_template("forum/tags.html", tags=knowledge.tag_counts(current_viewer()))


@bp.get("/mots-cles/<slug>")
@login_required
def tag(slug: str) -> ResponseReturnValue:
    viewer = current_viewer()
    tag = knowledge.get_tag_or_404(slug)
    topics = queries.tag_topics(viewer, current_user, tag, _page_arg())
    return render_template(
        "forum/tag.html",
        tag=tag,
        topics=topics,
        tags=knowledge.tags_by_topic([row.topic.id for row in topics.items]),
    )


@bp.route("/mots-cles/gestion", methods=["GET", "POST"])
@login_required
def manage_tags() -> ResponseReturnValue:
    """The animatrice curates the list: create, rename, merge, retire (journaled)."""
    policy.check_manage_tags(current_viewer())
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        action = request.form.get("action")
        name = (request.form.get("name") or "").strip()
        by_id = {str(t.id): t for t in knowledge.all_tags()}
        tag = by_id.get(request.form.get("tag", ""))
        try:
            if action == "create" and 2 <= len(name) <= 80:
                tag = services.create_tag(name)
            elif action == "rename" and tag and 2 <= len(name) <= 80:
                tag.name = name
            elif action == "merge" and tag and request.form.get("target") in by_id:
                target = by_id[request.form["target"]]
                moved = services.merge_tags(tag, target)
                # What the merge changed, so that it can be told and undone by hand.
                merged = {"fusionne_dans": target.slug, "sujets": moved}
            elif action in ("retire", "restore") and tag:
                tag.retired = action == "retire"
            else:
                raise ComcepError("Action ou nom invalide (2 à 80 caractères).")
            details = {"nom": name or tag.name, **(merged if action == "merge" else {})}
            log(current_user, f"tag_{action}", "tag", tag.id, details=details)
        except ComcepError as error:
            db.session.rollback()
            # The list again, saying why, with the name typed where it was typed.
            typed = {"action": action, "tag": tag.id if tag else None, "name": name}
            return render_template(
                "forum/tags_manage.html",
                tags=knowledge.all_tags(),
                form=ConfirmForm(),
                error=error.message,
                typed=typed,
            ), 400
        db.session.commit()
        flash("La liste des mots-clés est mise à jour.", "success")
        return redirect(url_for("forum.manage_tags"))
    return render_template(
        "forum/tags_manage.html", tags=knowledge.all_tags(), form=ConfirmForm(), typed={}
    )
