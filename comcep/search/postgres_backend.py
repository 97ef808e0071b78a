"""PostgreSQL full-text search behind the same interface as Whoosh.

Each post carries a weighted `tsvector` (title A, body B, French configuration with
`unaccent`), written by SQL in the same transaction as the post: there is nothing to lose
between a commit and an index. The reader's visibility and the filters are joined in the
same SQL statement; highlights (`ts_headline`) are computed for the rows of the page only,
and no search reads more than the 1 001 most recent matches (totals stop at 1 000, and
relevance ranks those), so that a very common word stays fast.

The vector also holds the post's rubrique as one lexeme without position (`#r12`: the
parser never keeps a `#`, so no reader's word can produce it), its rubrique with its block
of ids as another (`#r12b80`: ids 1 000 000 to 1 012 499), and its block of ids alone as a
third (`#b400`: ids 1 000 000 to 1 002 499; see `_window`). A search over a few rubriques
(a hors pair's, or one filtered on) asks the GIN index for the reader's words *and* one of
those rubriques: posts elsewhere are never fetched to be rechecked (at 1 M posts, a phrase
searched by a hors pair read 151 000 candidates for 20 000 kept, 900 ms). Over many
rubriques (a pair's) that would only add long posting lists to read (26 of them: 200 ms),
so only the blocks are asked for. The SQL filter on the topic's rubrique stays the wall;
the lexemes only narrow what the index returns, and the fingerprint includes the rubrique
so that `comcep search check` sees a vector left behind by a move.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, array

from comcep.extensions import db
from comcep.forum.models import Category, Post, Tag, Topic, topic_tags
from comcep.rendering import POST_QUOTE_PATTERN, QUOTE_MARK
from comcep.search.analyzer import analyze
from comcep.search.backend import (
    MAX_PER_PAGE,
    MESSAGE_EMPTY,
    MESSAGE_ONLY_EXCLUSIONS,
    SORT_DATE,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchQueryError,
    SearchResults,
    day_bounds,
    parse_query_text,
)

CONFIG = "comcep_fr"
_REGCONFIG = literal_column(f"'{CONFIG}'::regconfig")
TOTAL_CAP = 1000
#: By relevance over a few rubriques, matches are first looked for among the posts of the
#: first span of last ids, then of the next (growing) ones, then of all (see `_window`).
RECENT_SPANS = (25_000, 50_000, 100_000, 200_000, 400_000)
#: Ids are counted in blocks of this many (`#r<rubrique>b<id // BLOCK_IDS>`): changing it
#: means writing every vector again (a migration, as 3b7e5d1f9a42 did).
BLOCK_IDS = 12_500
#: Over many rubriques (a pair's), matches are looked for among the last RECENT_SPANS_ALL[0]
#: ids first, then the next spans, then all, by the `#b<id // ALL_BLOCK_IDS>` lexemes of
#: each post (its block of ids, whatever its rubrique). Smaller than BLOCK_IDS: a pair sees
#: most posts, so that a common word fills the window from a few thousand ids.
RECENT_SPANS_ALL = (5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000)
#: Changing it means writing every vector again (a migration, as 9d3f6b2a7c41 did).
ALL_BLOCK_IDS = 2_500
#: Up to this many rubriques, the index is asked for them (see the module docstring).
FEW_RUBRIQUES = 8
RUBRIQUE_PREFIX = "#r"  # + the rubrique's id: a lexeme of each post's vector
BLOCK_PREFIX = "#b"  # + the post's id // ALL_BLOCK_IDS: another
_HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=45, MinWords=20, MaxFragments=2"


def _plain(html: ColumnElement[str]) -> ColumnElement[str]:
    """Stored HTML to text in SQL: tags dropped, the common entities decoded."""
    stripped = func.regexp_replace(html, "<[^>]+>", " ", "g")
    for entity, char in (
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&#x27;", "'"),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ):
        stripped = func.replace(stripped, entity, char)
    return stripped


def _own_html(html: ColumnElement[str]) -> ColumnElement[str]:
    """The post's HTML without the posts it quotes (`rendering.searchable_text`, in SQL):
    the pattern only runs on posts that quote one."""
    return case(
        (
            func.strpos(html, QUOTE_MARK) > 0,
            func.regexp_replace(html, POST_QUOTE_PATTERN, " ", "g"),
        ),
        else_=html,
    )


def _escape(value: ColumnElement[str]) -> ColumnElement[str]:
    """HTML-escape in SQL (for titles, which are stored as typed)."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        value = func.replace(value, char, entity)
    return value


def _title_text() -> ColumnElement[str]:
    return case((Post.number == 1, Topic.title), else_="")


def _vector() -> ColumnElement:
    title = func.setweight(func.to_tsvector(_REGCONFIG, _title_text()), literal_column("'A'"))
    body = func.setweight(
        func.to_tsvector(_REGCONFIG, _plain(_own_html(Post.body_html))), literal_column("'B'")
    )
    rubrique = func.concat(RUBRIQUE_PREFIX, Topic.category_id)
    block = func.concat(RUBRIQUE_PREFIX, Topic.category_id, "b", Post.id // BLOCK_IDS)
    ids = func.concat(BLOCK_PREFIX, Post.id // ALL_BLOCK_IDS)
    marks = func.array_to_tsvector(array([rubrique, block, ids]))
    return title.op("||")(body).op("||")(marks)


def _rubriques(category_ids: Iterable[int], blocks: range | None = None) -> str:
    """The text of a tsquery matching posts of any of these rubriques (their `#r<id>`
    lexemes), or of any of these rubriques in any of these blocks of ids (`#r<id>b<block>`)."""
    return " | ".join(
        f"'{RUBRIQUE_PREFIX}{int(i)}'"
        if blocks is None
        else " | ".join(f"'{RUBRIQUE_PREFIX}{int(i)}b{block}'" for block in blocks)
        for i in sorted(category_ids)
    )


def _blocks(blocks: range) -> str:
    """The text of a tsquery matching posts of any of these blocks of ALL_BLOCK_IDS ids
    (`#b<block>`)."""
    return " | ".join(f"'{BLOCK_PREFIX}{block}'" for block in blocks)


def _matching(tsquery: ColumnElement, marks: ColumnElement | None) -> ColumnElement[bool]:
    """The post's vector matches the reader's words; `marks`, a tsquery of rubrique or
    block lexemes, narrows what the index returns (the filter on the topic's rubrique
    stays the wall)."""
    return Post.search_vector.op("@@")(tsquery if marks is None else tsquery.op("&&")(marks))


def _names(stmt: Select) -> list[ColumnElement]:
    """The columns `stmt` selects, by name only: selecting them from a CTE of `stmt` this
    way spares SQLAlchemy a proxy of each mapped column (and of its foreign keys) for each
    span, about a millisecond per search."""
    return [literal_column(column.name, column.type) for column in stmt.selected_columns]


def _searched(query: SearchQuery) -> frozenset[int]:
    """The rubriques the page may show: the one filtered on, when it is visible (written as
    that one rubrique, not as both conditions, whose product the planner took for a tenth
    of the truth: 250 ms at 1 M posts); otherwise the visible ones (a filter on a rubrique
    out of sight is added in SQL, and leaves nothing)."""
    return query.category_ids & {query.category_id} or query.category_ids


def _few(rubriques: frozenset[int]) -> bool:
    return len(rubriques) <= FEW_RUBRIQUES


def _recent_first(query: SearchQuery) -> bool:
    """Whether a pair's matches are looked for span by span, newest first: not when an
    author, a tag or an end date keeps matches that need not be recent. Each span would
    fetch every match of its ids only to drop it (a common word in 2018 at 100 000 posts:
    24 → 42 ms); the planner reaches those through the author's or the dates' index."""
    return query.author_id is None and not query.tag and query.date_to is None


def _spans(last_id: int, spans: Iterable[int], size: int) -> list[tuple[int, range]]:
    """Each span of `_window`, newest first, as its first id and its blocks of `size` ids:
    a span reaches back at least its length from the last id, to the start of a block, so
    that each block is asked for by one span only. (A span that ended inside a block left
    that block's lexeme to the next span too, which fetched all its matches again to drop
    those by id: at 1 M posts, a hors pair's second span read its first one's oldest block
    whole.) The last span starts at id 0 when the spans hold every post."""
    result: list[tuple[int, range]] = []
    top = last_id // size  # the newest block that no span holds yet
    for span in spans:
        first = max(last_id - span, 0) // size
        if first > top:  # no block that the spans before do not hold
            continue
        result.append((first * size, range(first, top + 1)))
        if first == 0:
            break
        top = first - 1
    return result


def _fingerprint() -> ColumnElement[str]:
    return func.md5(func.concat(_title_text(), "\x1f", Post.body_html, "\x1f", Topic.category_id))


class PostgresBackend:
    """`SearchBackend` on PostgreSQL; `transactional`: index writes join the caller's
    transaction instead of going through the outbox."""

    transactional = True
    name = "postgres"

    # -- writes --------------------------------------------------------------------------

    @staticmethod
    def _write_vectors(where: ColumnElement[bool]) -> int:
        """Recompute the vector and fingerprint of the posts matching `where`, in SQL."""
        result = db.session.execute(
            update(Post)
            .where(where, Topic.id == Post.topic_id)
            .values(search_vector=_vector(), search_fp=_fingerprint())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def index_posts(self, post_ids: Iterable[int]) -> None:
        ids = sorted(set(post_ids))
        if ids:
            db.session.flush()
            self._write_vectors(Post.id.in_(ids))

    def index_topics(self, topic_ids: Iterable[int]) -> None:
        ids = sorted(set(topic_ids))
        if ids:
            db.session.flush()
            self._write_vectors(Post.topic_id.in_(ids))

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        self.index_posts(doc.post_id for doc in docs)

    def delete(self, post_ids: Iterable[int]) -> None:
        ids = sorted(set(post_ids))
        if ids:
            db.session.execute(
                update(Post).where(Post.id.in_(ids)).values(search_vector=None, search_fp="")
            )

    def clear(self) -> None:
        db.session.execute(update(Post).values(search_vector=None, search_fp=""))

    def rebuild_range(self, first_id: int, last_id: int) -> int:
        """Index posts with ids in [first_id, last_id] (the CLI rebuild goes by ranges)."""
        return self._write_vectors(Post.id.between(first_id, last_id))

    def stale_post_ids(self) -> list[int]:
        """Posts whose stored vector does not match their text (or that have none)."""
        return list(
            db.session.scalars(
                select(Post.id)
                .join(Topic, Topic.id == Post.topic_id)
                .where(or_(Post.search_vector.is_(None), Post.search_fp != _fingerprint()))
                .order_by(Post.id)
            )
        )

    def indexed_versions(self) -> dict[int, str]:
        return dict(db.session.execute(select(Post.id, Post.search_fp)).all())

    # -- reads ---------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResults:
        page = max(1, query.page)
        per_page = min(max(1, query.per_page), MAX_PER_PAGE)
        if query.theme_id is not None and query.category_ids:
            # A theme is a few rubriques: searched as such (by their lexemes, as a hors
            # pair's), rather than through a filter on the topics of every visible one,
            # which the planner took for a way in (a small theme at 1 M posts: 290 ms). This
            # only narrows what the policy granted, and is the theme's only filter.
            theme = db.session.scalars(
                select(Category.id).where(
                    or_(Category.id == query.theme_id, Category.parent_id == query.theme_id)
                )
            )
            query = replace(query, category_ids=query.category_ids & frozenset(theme))
        if not query.category_ids:
            return SearchResults(hits=[], total=0, page=page, per_page=per_page)
        clauses, words = _clauses(query.text)
        searchable, last_id = db.session.execute(
            _searchable_statement(clauses), _words(words)
        ).one()
        if not searchable:  # only stop words
            raise SearchQueryError(MESSAGE_EMPTY)
        # At most TOTAL_CAP + 1 matches are ever read: the most recent ones (by date for the
        # date order and, for a pair, before an end date; by id, which follows time, for
        # relevance). Relevance then ranks that window, so it is exact up to TOTAL_CAP
        # matches; beyond, the page says « plus de 1 000 résultats » and shows the most
        # relevant of the most recent.
        shape, params = _plan(query, clauses, words, last_id or 0)
        page_statement, count_statement = _statements(shape)
        params.update(page_size=per_page, page_offset=(page - 1) * per_page)
        rows = db.session.execute(page_statement, params).all()
        # The count rides along with the page; only a page past the end asks for it alone.
        if rows:
            total = rows[0][4]
        elif page == 1:  # nothing on the first page: nothing at all
            total = 0
        else:
            total = db.session.scalar(count_statement, params) or 0
        hits = [
            SearchHit(post_id=r[0], topic_id=r[1], title_html=r[2], snippet_html=r[3]) for r in rows
        ]
        return SearchResults(
            hits=hits,
            total=min(total, TOTAL_CAP),
            page=page,
            per_page=per_page,
            capped=total > TOTAL_CAP,
        )

    def _window_for(self, query: SearchQuery, last_id: int) -> tuple[Select, dict[str, object]]:
        """The statement of the window of matches of `query` and its parameters, as `search`
        runs it (for tests and for reading its plan)."""
        clauses, words = _clauses(query.text)
        shape, params = _plan(query, clauses, words, last_id)
        tsquery, excluded = _tsqueries(clauses)
        return _window(shape, tsquery, excluded), params


@dataclass(frozen=True)
class _Shape:
    """What the text of a search's statements depends on. The values (the reader's words,
    the rubriques, each span's first id and lexemes, the filters' values, the page) are
    parameters, so that the statements built for a shape serve every search of that shape:
    building them took 2 ms at 1 M posts (a window of six parts), 0.4 ms at 10 000."""

    clauses: tuple[tuple[bool, bool], ...]  # (phrase, negated) of each clause searched
    date_order: bool  # results by date, newest first (else by relevance)
    include_hidden: bool
    titles_only: bool
    outside: bool  # a filter on a rubrique out of sight: added in SQL, it leaves nothing
    author: bool
    start: bool  # a first day
    end: bool  # a last day
    tag: bool
    few: bool  # few rubriques, asked of the index by their lexemes (see _few)
    by_date: bool  # a window of one query: the most recent by date (else by id)
    spans: int  # spans of recent ids searched first, newest first (0: a window of one query)
    older: bool  # after the spans, the posts older than them


def _clauses(text_: str) -> tuple[tuple[tuple[bool, bool], ...], list[str]]:
    """The reader's clauses searched, as (phrase, negated), and their words; the same query
    language as the Whoosh backend. A clause of stop words only is ignored, as there."""
    clauses = parse_query_text(text_)
    kept = [clause for clause in clauses if analyze(clause.text)]
    if all(clause.negated for clause in kept):
        raise SearchQueryError(MESSAGE_ONLY_EXCLUSIONS if clauses else MESSAGE_EMPTY)
    return tuple((c.phrase, c.negated) for c in kept), [c.text for c in kept]


def _words(words: list[str]) -> dict[str, object]:
    return {f"words_{number}": text_ for number, text_ in enumerate(words)}


def _tsqueries(clauses: tuple[tuple[bool, bool], ...]) -> tuple[ColumnElement, list[ColumnElement]]:
    """The words and phrases as one tsquery, and each exclusion as another (applied as
    NOT … @@ …), each clause's text a parameter (`words_<n>`)."""
    positive, negative = None, []
    for number, (phrase, negated) in enumerate(clauses):
        function = func.phraseto_tsquery if phrase else func.plainto_tsquery
        part = function(_REGCONFIG, bindparam(f"words_{number}", type_=String))
        if negated:
            negative.append(part)
        else:
            positive = part if positive is None else positive.op("&&")(part)
    assert positive is not None  # noqa: S101 - `_clauses` refuses a query without one
    return positive, negative


@functools.lru_cache(maxsize=256)
def _searchable_statement(clauses: tuple[tuple[bool, bool], ...]) -> Select:
    """Whether the words hold more than stop words for PostgreSQL, and the last post's id."""
    tsquery, _excluded = _tsqueries(clauses)
    return select(func.numnode(tsquery) > 0, select(func.max(Post.id)).scalar_subquery())


def _plan(
    query: SearchQuery, clauses: tuple[tuple[bool, bool], ...], words: list[str], last_id: int
) -> tuple[_Shape, dict[str, object]]:
    """The shape of `query`'s statements and the values of their parameters."""
    rubriques = _searched(query)
    few = _few(rubriques)
    params = _words(words)
    params.update(rubriques=sorted(rubriques), cap=TOTAL_CAP, window_size=TOTAL_CAP + 1)
    if few:
        params["marks"] = _rubriques(rubriques)
    outside = query.category_id is not None and query.category_id not in query.category_ids
    if outside:
        params["category_id"] = query.category_id
    if query.author_id is not None:
        params["author_id"] = query.author_id
    start, end = day_bounds(query.date_from, query.date_to)
    params.update(date_start=start, date_end=end, tag=query.tag)
    spans: list[tuple[int, range]] = []
    if query.sort != SORT_DATE and (few or _recent_first(query)):
        if few:
            spans = _spans(last_id, RECENT_SPANS, BLOCK_IDS)
            for number, (edge, blocks) in enumerate(spans):
                params[f"span_{number}_lexemes"] = _rubriques(rubriques, blocks)
                params[f"span_{number}_first_id"] = edge
        else:
            spans = _spans(last_id, RECENT_SPANS_ALL, ALL_BLOCK_IDS)
            for number, (edge, blocks) in enumerate(spans):
                params[f"span_{number}_lexemes"] = _blocks(blocks)
                params[f"span_{number}_first_id"] = edge
    shape = _Shape(
        clauses=clauses,
        date_order=query.sort == SORT_DATE,
        include_hidden=query.include_hidden,
        titles_only=query.titles_only,
        outside=outside,
        author=query.author_id is not None,
        start=start is not None,
        end=end is not None,
        tag=bool(query.tag),
        few=few,
        by_date=query.sort == SORT_DATE or query.date_to is not None,
        spans=len(spans),
        older=bool(spans) and spans[-1][0] > 0,
    )
    return shape, params


@functools.lru_cache(maxsize=256)
def _statements(shape: _Shape) -> tuple[Select, Select]:
    """The page's statement (its hits, highlighted, and the window's count) and the count
    alone (asked only past the last page), built once per shape."""
    tsquery, excluded = _tsqueries(shape.clauses)
    window = _window(shape, tsquery, excluded).cte("search_window")
    counted = select(func.count()).select_from(window).scalar_subquery()
    rank = func.ts_rank_cd(window.c.search_vector, tsquery)
    score = literal(0.0) if shape.date_order else rank
    page_rows = (
        select(window.c.id, window.c.topic_id, window.c.created_at, score.label("score"))
        .order_by(score.desc(), window.c.created_at.desc(), window.c.id.desc())
        .limit(bindparam("page_size", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery()
    )
    # The window carries no text: the page's rows read their title and body by key
    # (1 001 bodies copied through the window's sorts cost 0.7 ms at 1 M posts).
    page = (
        select(
            page_rows.c.id,
            page_rows.c.topic_id,
            func.ts_headline(_REGCONFIG, _escape(Topic.title), tsquery, "HighlightAll=true"),
            func.ts_headline(
                _REGCONFIG, _escape(_plain(_own_html(Post.body_html))), tsquery, _HEADLINE
            ),
            counted,
        )
        .select_from(page_rows)
        .join(Post, Post.id == page_rows.c.id)
        .join(Topic, Topic.id == page_rows.c.topic_id)
        .order_by(page_rows.c.score.desc(), page_rows.c.created_at.desc(), page_rows.c.id.desc())
        .add_cte(window)
    )
    return page, select(counted).add_cte(window)


def _window(shape: _Shape, tsquery: ColumnElement, excluded: list[ColumnElement]) -> Select:
    """The TOTAL_CAP + 1 most recent matches, with what ranking them needs (not their
    text: the page reads it for its own rows only).

    By relevance, « most recent » is by id. A common word matches tens of thousands of
    posts, and the GIN index cannot give them in id order: each would be fetched to be
    sorted (hors pair, two words, 1 M posts: 120 ms). So, over a few rubriques, the posts
    of the last RECENT_SPANS[0] ids are searched first, by their `#r<rubrique>b<block>`
    lexemes: the index then reads only the tail of each posting list (a hors pair's
    common word at 1 M posts: 22 ms in the index and 4 600 rows fetched with the
    rubriques' lexemes over the last 100 000 ids, 1 ms and 1 200 rows with the blocks'
    over 25 000). Each next span is searched only when the ones before hold fewer than
    TOTAL_CAP + 1 matches, and all older posts (by their rubriques' lexemes) last: a
    one-time condition, so PostgreSQL never runs a part it does not need, and a word of
    middling frequency stops at the span that holds enough of it instead of fetching
    every match (two words at 1 M posts: 19 000 rows, 90 ms). Each span is twice the one
    before, so a span searched holds at most about twice the matches still wanted (with
    spans four times as long, a common word's 990 matches among the last 25 000 ids at
    100 000 posts had the next span fetch 3 300 rows more, 18 ms). The id conditions are
    written `id + 0` so that the planner does not also walk the primary key over the
    span to AND it in (5 ms). One statement either way.

    Over a pair's many rubriques, the spans are RECENT_SPANS_ALL and the lexemes the
    blocks' alone (`#b<block>`, of ALL_BLOCK_IDS ids). Left to itself, the planner chose
    between walking the newest posts and fetching every match by how common it thought
    the words were, and it takes the words of a phrase, or several words, for
    independent: at 100 000 posts it took « projet de transition professionnelle » for
    five times rarer than it was and fetched its 15 700 matches (100 ms; the spans: 40);
    at 1 M posts a word in 1.8 % of the posts cost 91 ms either way (the spans: 37). The
    spans cost a few milliseconds more to a word that is very common or very rare (the
    statement is longer to build and to plan), bounded whatever the words.

    With an author, a tag or an end date, a pair's window is one query again (see
    `_recent_first`). Every span's statement shares one `_filtered` base; the spans'
    counts are a running total, each counted once. By date, the window stays one query
    (ids need not follow the dates of imported posts)."""
    columns = (Post.topic_id, Post.created_at, Post.search_vector)
    marks = cast(bindparam("marks", type_=String), TSQUERY) if shape.few else None
    filtered = _filtered(shape, tsquery, excluded).add_columns(*columns)
    window_size = bindparam("window_size", type_=Integer)
    cap = bindparam("cap", type_=Integer)
    if not shape.spans:
        # By date for the date order (ids need not follow the dates of imported posts),
        # and before an end date: the planner then walks the dates' index back from it
        # and stops at the window, instead of reading every post of the period (a
        # common word in 2018 at 1 M posts: 98 → 31 ms a page).
        order = (Post.created_at.desc(), Post.id.desc()) if shape.by_date else (Post.id.desc(),)
        return filtered.where(_matching(tsquery, marks)).order_by(*order).limit(window_size)
    recent = filtered.order_by(Post.id.desc()).limit(window_size)
    parts: list[Select] = []
    upper, found = None, None  # ids from `upper` on were searched; matches found
    for number in range(shape.spans):
        lexemes = cast(bindparam(f"span_{number}_lexemes", type_=String), TSQUERY)
        edge = bindparam(f"span_{number}_first_id", type_=Integer)
        where = [_matching(tsquery, lexemes), (Post.id + 0) >= edge]
        if found is not None:  # only when the spans before held too few matches
            where += [(Post.id + 0) < upper, found <= cap]
        tier = recent.where(*where).cte(f"search_recent_{number}").prefix_with("MATERIALIZED")
        parts.append(select(*_names(filtered)).select_from(tier))
        count = select(func.count()).select_from(tier).scalar_subquery()
        # A running total, each span counted once (not again by every later span).
        total = select((count if found is None else found + count).label("n"))
        found = select(total.cte(f"search_found_{number}").c.n).scalar_subquery()
        upper = edge
    if shape.older:  # posts older than the spans
        parts.append(recent.where(_matching(tsquery, marks), Post.id < upper, found <= cap))
    both = union_all(*parts).subquery("search_both")
    return select(both).order_by(both.c.id.desc()).limit(window_size)


def _filtered(shape: _Shape, tsquery: ColumnElement, excluded: list[ColumnElement]) -> Select:
    """Post ids inside the reader's visible rubriques and filters, whatever their text
    (the caller adds `_matching`): built once for every span of `_window`."""
    stmt = (
        select(Post.id)
        .join(Topic, Topic.id == Post.topic_id)
        .where(
            # One array, not an IN list: the statement stays the same whatever the rubriques.
            Topic.category_id == any_(bindparam("rubriques", type_=ARRAY(Integer))),
            *(not_(Post.search_vector.op("@@", is_comparison=True)(part)) for part in excluded),
        )
    )
    if not shape.include_hidden:
        stmt = stmt.where(Post.is_hidden.is_(False), Topic.is_hidden.is_(False))
    if shape.titles_only:
        stmt = stmt.where(
            Post.number == 1,
            func.to_tsvector(_REGCONFIG, Topic.title).op("@@")(tsquery),
        )
    if shape.outside:
        stmt = stmt.where(Topic.category_id == bindparam("category_id", type_=Integer))
    if shape.author:
        stmt = stmt.where(Post.author_id == bindparam("author_id", type_=Integer))
    if shape.start:
        stmt = stmt.where(Post.created_at >= bindparam("date_start", type_=Post.created_at.type))
    if shape.end:
        stmt = stmt.where(Post.created_at < bindparam("date_end", type_=Post.created_at.type))
    if shape.tag:
        stmt = stmt.where(
            select(topic_tags.c.topic_id)
            .join(Tag, Tag.id == topic_tags.c.tag_id)
            .where(topic_tags.c.topic_id == Topic.id, Tag.slug == bindparam("tag", type_=String))
            .exists()
        )
    return stmt
