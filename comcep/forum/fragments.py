"""A topic page's posts and the index's rubriques, each rendered once for what it shows and
then kept.

Rendering twenty articles was a quarter of a topic page's cost, and most of it is the same
for every reader: the author, the date, the body, the links. The macro `forum/_post.html`
depends on its arguments alone: the post's row (its text and its author's name included),
the topic's id, whether it is the retained answer, whether the topic is locked, and what this
reader may do with it (reply, moderate, edit their own). An article is kept per app in an
LRU under exactly those arguments, with the URL root, so a reader gets a kept article only
where any reader with the same rights on the same content would see the same bytes: a new
name, an edit, a hidden post or other rights make another key. Nothing needs to be
invalidated, and nothing of the wall is decided here (the posts are those the page may list).

Articles that carry a form (the staff's tools, « Retenir cette réponse ») hold the reader's
CSRF token, and those with files or the retained answer quoted under the first post hold
mapped objects: they are rendered each time.

The rows of the index and of a thème's page (`forum/_category_row.html`) are kept the same
way, under the row's own values (`queries.CategoryRow`, its last post and author included):
they were most of the index's rendering, and are the same for every reader who may list them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import current_app, request
from jinja2 import Template
from markupsafe import Markup

from comcep import policy
from comcep.forum.models import Topic
from comcep.forum.queries import CategoryRow, PageEvent, PagePost, PageTopic
from comcep.kept import per_app
from comcep.policy import TopicActions, Viewer

TEMPLATE = "forum/_post.html"
ROW_TEMPLATE = "forum/_category_row.html"
EVENT_TEMPLATE = "forum/_topic_event.html"


def topic_articles(
    posts: Sequence[PagePost],
    topic: Topic | PageTopic,
    viewer: Viewer,
    actions: TopicActions,
    can_mark: bool,
    files: Mapping[int, Sequence[Any]],
    solution: Any | None,
    events: Sequence[PageEvent] = (),
) -> Markup:
    """The page's articles in order (the posts the query listed for the reader:
    `policy.listed_posts`), with the moderation's notes between them where they stand
    (`PageEvent.after_number`; sorted by it)."""
    template = current_app.jinja_env.get_template(TEMPLATE)
    render = template.module.post_article  # type: ignore[attr-defined]
    notes = list(events)
    note = _event_macro() if notes else None
    kept = _kept()
    script_root = request.script_root  # read once: a proxy lookup per article otherwise
    topic_id, solution_id, edits_closed = topic.id, topic.solution_post_id, not actions.edit_own
    parts = []
    for post in posts:
        # A reply not published comes last, after every note (numbered below 0, it has no
        # place among them).
        while notes and (post.number < 0 or notes[0].after_number < post.number):
            parts.append(note(notes.pop(0)))  # type: ignore[misc]  # set when notes
        own = post.author_id == viewer.member_id
        args = (
            post,
            topic_id,
            solution_id == post.id,
            edits_closed or (own and policy.edit_window_over(post)),
            actions.reply,
            actions.moderate,
            own,
            can_mark,
            post.thanked,
        )
        post_files = files.get(post.id)
        post_solution = solution if post.number == 1 else None
        if actions.moderate or can_mark or post_files or post_solution is not None:
            parts.append(render(*args, post_files or (), post_solution))
        else:
            parts.append(kept(template, script_root, (*args, (), None)))
    parts.extend(note(event) for event in notes)  # type: ignore[misc]
    return Markup("\n").join(parts)


def _event_macro() -> Callable[[PageEvent], Markup]:
    """The macro of a moderation's note (rendered each time: a few per topic at most)."""
    return current_app.jinja_env.get_template(EVENT_TEMPLATE).module.topic_event  # type: ignore[attr-defined]


def category_rows(rows: Sequence[CategoryRow]) -> Markup:
    """The rows of a table of rubriques (the template global `category_rows`); which rows a
    reader may list was decided by the query that read them."""
    template = current_app.jinja_env.get_template(ROW_TEMPLATE)
    kept = _kept("category_row")
    script_root = request.script_root
    return Markup("\n").join(kept(template, script_root, (row,)) for row in rows)


def _kept(macro: str = "post_article") -> Callable[[Template, str, tuple[Any, ...]], Markup]:
    """This app's LRU of one macro's output (`comcep.kept`)."""

    def render(template: Template, _script_root: str, args: tuple[Any, ...]) -> Markup:
        return getattr(template.module, macro)(*args)

    return per_app(f"comcep.kept.{macro}", render)
