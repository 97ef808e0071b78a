"""/recherche: full-text search, filtered by the wall inside the engine's query."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from comcep import policy
from comcep.extensions import limiter, member_or_ip
from comcep.forms import choices
from comcep.forum import knowledge
from comcep.forum import queries as forum_queries
from comcep.members import queries as member_queries
from comcep.members.models import Member
from comcep.ops import observe_search
from comcep.policy import Viewer, current_viewer
from comcep.search.backend import SearchQuery, SearchQueryError
from comcep.search.forms import SearchForm
from comcep.search.indexing import get_backend

bp = Blueprint("search", __name__)

PER_PAGE = 20


def _search_limit() -> str:
    return current_app.config["SEARCH_RATE_LIMIT"]


#: Member ids are 32-bit integers: a larger number names nobody (and never reaches SQL).
MAX_MEMBER_ID = 2**31 - 1


def _author(viewer: Viewer, wanted: str) -> tuple[Member | None, str | None]:
    """The member an author filter names, by number or by name, among those the viewer may
    see (one out of sight answers as one who does not exist), or why there is none."""
    if wanted.isascii() and wanted.isdigit():  # « ² » is a digit to str.isdigit, not to int
        number = int(wanted)
        found = (
            member_queries.find_visible_member(viewer, number) if number <= MAX_MEMBER_ID else None
        )
        return (found, None) if found else (None, "Ce membre est introuvable.")
    named = member_queries.visible_members_named(viewer, wanted)
    if not named:
        return None, f"Aucun membre ne s'appelle « {wanted} » : choisissez un nom proposé."
    if len(named) > 1:
        return None, (
            f"Plusieurs membres s'appellent « {wanted} » : cherchez depuis le profil de "
            "celui ou celle que vous voulez (« Chercher dans ses messages »)."
        )
    return named[0], None


@bp.get("/recherche")
@login_required
@limiter.limit(
    _search_limit,
    key_func=member_or_ip,
    error_message="Vous lancez beaucoup de recherches en peu de temps.",
)
def search() -> ResponseReturnValue:
    viewer = current_viewer()
    form = SearchForm(request.args)
    categories = forum_queries.category_menu(viewer)
    form.rubrique.choices = choices(
        [("", "Toutes les rubriques")]
        + [(c.slug, ("— " if c.parent_id else "") + c.name) for c in categories]
    )
    text = (form.q.data or "").strip()
    tag_slug = (request.args.get("tag") or "").strip() or None
    tag = knowledge.find_tag(tag_slug) if tag_slug else None
    page_args = {"form": form, "tag": tag, "tag_slug": tag_slug}
    if not text:
        return render_template("search/results.html", results=None, error=None, **page_args)
    chosen = next((c for c in categories if c.slug == form.rubrique.data), None)
    valid = form.validate()
    # An unknown rubrique, mot-clé or author is said as such (the same words whether it
    # does not exist or sits behind the wall), never silently dropped from the filters.
    if form.rubrique.data and chosen is None:
        form.rubrique.errors.append("Rubrique inconnue : choisissez-la dans la liste.")
        valid = False
    author = None
    wanted = (form.auteur.data or "").strip()
    if wanted and not form.auteur.errors:
        author, problem = _author(viewer, wanted)
        if problem:
            form.auteur.errors.append(problem)
            valid = False
    if tag_slug and tag is None:
        error = "Mot-clé inconnu : choisissez-le sur la page des mots-clés."
        return render_template("search/results.html", results=None, error=error, **page_args), 400
    if not valid:
        return render_template("search/results.html", results=None, error=None, **page_args), 400
    query = SearchQuery(
        text=text,
        category_ids=policy.visible_category_ids(viewer),
        include_hidden=viewer.is_staff,
        category_id=chosen.id if chosen and chosen.parent_id else None,
        theme_id=chosen.id if chosen and not chosen.parent_id else None,
        author_id=author.id if author else None,
        date_from=form.du.data,
        date_to=form.au.data,
        titles_only=bool(form.titres.data),
        tag=tag.slug if tag else None,
        sort="date" if form.tri.data == "date" else "relevance",
        page=max(request.args.get("page", 1, type=int) or 1, 1),
        per_page=PER_PAGE,
    )
    started = time.perf_counter()
    try:
        results = get_backend().search(query)
        observe_search(time.perf_counter() - started, current_app.config["SEARCH_BACKEND"])
    except SearchQueryError as error:
        return render_template(
            "search/results.html", results=None, error=error.message, **page_args
        ), 400
    contexts = forum_queries.hits_context(viewer, {hit.post_id for hit in results.hits})
    return render_template(
        "search/results.html",
        results=results,
        error=None,
        contexts=contexts,
        author=author,
        filtered=bool(chosen or author or form.du.data or form.au.data or tag)
        or bool(form.titres.data),
        past_the_end=results.total > 0 and not results.hits,
        **page_args,
    )
