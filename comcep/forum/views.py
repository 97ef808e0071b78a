"""Forum pages: index, rubriques, topics, posting, unread and active topics."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from comcep import policy
from comcep.extensions import db
from comcep.forms import ConfirmForm
from comcep.forum import queries, services
from comcep.forum.forms import EditPostForm, ReplyForm, TopicForm
from comcep.notifications.models import LEVEL_LABELS
from comcep.notifications.services import topic_level
from comcep.policy import TopicActions, current_viewer
from comcep.rendering import quote_markdown, render_markdown

bp = Blueprint("forum", __name__)


def _page_arg() -> int:
    page = request.args.get("page", 1, type=int)
    return page if page and page > 0 else 1


def _preview_of(form: TopicForm | ReplyForm | EditPostForm) -> str | None:
    """The rendered preview when the « Prévisualiser » button was pressed."""
    if form.preview.data and form.body.data:
        return render_markdown(form.body.data)
    return None


@bp.get("/")
def index() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return render_template("forum/presentation.html")
    blocks = queries.index_blocks(current_viewer())
    return render_template("forum/index.html", blocks=blocks, mark_form=ConfirmForm())


@bp.get("/r/<slug>")
@login_required
def category(slug: str) -> ResponseReturnValue:
    viewer = current_viewer()
    category = queries.get_category_or_404(viewer, slug)
    topics = queries.category_topics(viewer, current_user, category, _page_arg())
    return render_template(
        "forum/category.html",
        category=category,
        subcategories=queries.subcategory_rows(viewer, category),
        topics=topics,
        can_create=policy.can(policy.check_create_topic, viewer, category),
    )


@bp.route("/r/<slug>/nouveau-sujet", methods=["GET", "POST"])
@login_required
def new_topic(slug: str) -> ResponseReturnValue:
    viewer = current_viewer()
    category = queries.get_category_or_404(viewer, slug)
    policy.check_create_topic(viewer, category)
    form = TopicForm()
    if request.method == "GET" or form.preview.data or not form.validate_on_submit():
        status = 400 if request.method == "POST" and form.errors else 200
        return render_template(
            "forum/new_topic.html", category=category, form=form, preview=_preview_of(form)
        ), status
    topic = services.create_topic(current_user, category, form.title.data, form.body.data)
    db.session.commit()
    flash("Votre sujet est publié.", "success")
    return redirect(url_for("forum.topic", topic_id=topic.id, slug=topic.slug))


@bp.get("/t/<int:topic_id>")
@bp.get("/t/<int:topic_id>/<slug>")
@login_required
def topic(topic_id: int, slug: str | None = None) -> ResponseReturnValue:
    viewer = current_viewer()
    topic = queries.get_topic_or_404(viewer, topic_id)
    if topic.merged_into_id:
        return redirect(url_for("forum.topic", topic_id=topic.merged_into_id), 301)
    page_count = queries.topic_page_count(topic)
    page = min(_page_arg(), page_count)
    posts = queries.topic_posts(topic, page)
    if posts:
        services.mark_read(current_user, topic, posts[-1].number)
        db.session.commit()
    return render_template(
        "forum/topic.html",
        topic=topic,
        posts=posts,
        page=page,
        page_count=page_count,
        actions=TopicActions.for_topic(viewer, topic),
        viewer=viewer,
        reply_form=ReplyForm(formdata=None),
        mod_form=ConfirmForm(),
        level=topic_level(current_user, topic),
        levels=LEVEL_LABELS,
    )


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
    if request.method == "GET" or form.preview.data or not form.validate_on_submit():
        status = 400 if request.method == "POST" and form.errors else 200
        return render_template(
            "forum/reply.html", topic=topic, form=form, preview=_preview_of(form)
        ), status
    post = services.reply(current_user, topic, form.body.data)
    db.session.commit()
    flash("Votre réponse est publiée.", "success")
    return redirect(url_for("forum.post", post_id=post.id))


@bp.get("/p/<int:post_id>")
@login_required
def post(post_id: int) -> ResponseReturnValue:
    post, topic = queries.get_post_or_404(current_viewer(), post_id)
    page = queries.page_of_number(post.number)
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
    form = EditPostForm(data={"title": topic.title, "body": post.body_source})
    if post.number != 1:
        del form.title
    if request.method == "GET" or form.preview.data or not form.validate_on_submit():
        status = 400 if request.method == "POST" and form.errors else 200
        return render_template(
            "forum/edit_post.html", topic=topic, post=post, form=form, preview=_preview_of(form)
        ), status
    title = form.title.data if post.number == 1 else None
    services.edit_post(current_user, post, topic, form.body.data, title)
    db.session.commit()
    flash("Le message est modifié ; la version précédente est conservée.", "success")
    return redirect(url_for("forum.post", post_id=post.id))


@bp.get("/p/<int:post_id>/historique")
@login_required
def post_history(post_id: int) -> ResponseReturnValue:
    post, topic = queries.get_post_or_404(current_viewer(), post_id)
    if post.is_hidden and not current_viewer().is_staff:
        abort(404)
    return render_template(
        "forum/history.html", post=post, topic=topic, revisions=queries.post_revisions(post)
    )


@bp.get("/non-lus")
@login_required
def unread() -> ResponseReturnValue:
    topics = queries.unread_topics(current_viewer(), current_user, _page_arg())
    return render_template(
        "forum/topic_list.html",
        topics=topics,
        title="Messages non lus",
        empty="Vous avez tout lu. Bravo !",
        mark_form=ConfirmForm(),
    )


@bp.get("/actifs")
@login_required
def active() -> ResponseReturnValue:
    topics = queries.active_topics(current_viewer(), current_user, _page_arg())
    return render_template(
        "forum/topic_list.html",
        topics=topics,
        title="Sujets actifs",
        empty="Aucun sujet pour le moment.",
        mark_form=ConfirmForm(),
    )


@bp.post("/marquer-lus")
@login_required
def mark_all_read() -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    services.mark_all_read(current_user)
    db.session.commit()
    flash("Tous les forums sont marqués comme lus.", "success")
    return redirect(url_for("forum.index"))
