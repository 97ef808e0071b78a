"""Forum reads. Each one applies the policy in SQL and loads what the page shows in a
fixed number of queries, whatever the size of the forum."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app
from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Exists,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    not_,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import aliased, contains_eager, joinedload, lazyload, load_only
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from werkzeug.exceptions import NotFound

from comcep import policy
from comcep.attachments.models import Attachment
from comcep.extensions import db, lists_written, read_columns
from comcep.forum.models import (
    Category,
    Post,
    PostRevision,
    PostThanks,
    Tag,
    TagCategoryCount,
    Topic,
    TopicEvent,
    TopicRead,
    topic_tags,
)
from comcep.members.models import Member, Network
from comcep.policy import Viewer


@dataclass(frozen=True, slots=True)
class MemberLink:
    """What a link to a member's profile needs (`filters.member_name`)."""

    id: int
    display_name: str
    state: str


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """A rubrique (or a thème without rubriques) as a row of the index, with its last post:
    plain values, not mapped objects (hydrating a Category, Post, Topic and Member per row
    cost more than the rest of the index)."""

    id: int
    parent_id: int | None
    position: int
    slug: str
    name: str
    description: str | None
    open_to_hors_pairs: bool
    staff_only: bool
    group_id: int | None
    topic_count: int
    post_count: int
    last_post_id: int | None
    last_post_at: datetime | None
    last_topic_title: str | None
    last_author: MemberLink | None

    @property
    def is_theme(self) -> bool:
        return self.parent_id is None


@dataclass
class ThemeBlock:
    theme: CategoryRow
    rows: list[CategoryRow] = field(default_factory=list)

    @property
    def topic_count(self) -> int:
        return sum(row.topic_count for row in self.rows)

    @property
    def post_count(self) -> int:
        return sum(row.post_count for row in self.rows)


def _member_link(member: type[Member]) -> tuple:
    """Load options for a member shown as a link to its profile (or « Ancien membre »)."""
    return (
        load_only(member.id, member.display_name, member.state),
        lazyload(member.network),
        lazyload(member.region),
    )


@functools.cache
def _category_rows_statement(children_only: bool) -> Select:
    """Visible categories (`policy.VISIBLE`) with their last post, topic and author; with
    `children_only`, the rubriques of the thème bound as `parent_id`. The columns follow
    `CategoryRow`'s fields, then the author's."""
    query = (
        select(
            Category.id,
            Category.parent_id,
            Category.position,
            Category.slug,
            Category.name,
            Category.description,
            Category.open_to_hors_pairs,
            Category.staff_only,
            Category.group_id,
            Category.topic_count,
            Category.post_count,
            Post.id,
            Post.created_at,
            Topic.title,
            Member.id,
            Member.display_name,
            Member.state,
        )
        .outerjoin(Post, Post.id == Category.last_post_id)
        .outerjoin(Topic, Topic.id == Post.topic_id)
        .outerjoin(Member, Member.id == Post.author_id)
        .where(Category.id.in_(bindparam(policy.VISIBLE, expanding=True)))
        .order_by(Category.position, Category.id)
    )
    if children_only:
        query = query.where(Category.parent_id == bindparam("parent_id"))
    return query


def _category_rows(viewer: Viewer, parent: Category | None = None) -> list[CategoryRow]:
    """Visible categories with their last post, topic and author: one query."""
    params = policy.visibility_params(viewer)
    if parent is not None:
        params["parent_id"] = parent.id
    return [
        CategoryRow(*row[:14], last_author=None if row[14] is None else MemberLink(*row[14:]))
        for row in read_columns(_category_rows_statement(parent is not None), params)
    ]


def index_blocks(viewer: Viewer) -> list[ThemeBlock]:
    """The index: each visible thème with its visible rubriques (or itself when it has none)."""
    rows = _category_rows(viewer)
    themes = {row.id: ThemeBlock(row) for row in rows if row.is_theme}
    children: dict[int, list[CategoryRow]] = {}
    for row in rows:
        if row.parent_id is not None and row.parent_id in themes:
            children.setdefault(row.parent_id, []).append(row)
    blocks = []
    for row in rows:
        if not row.is_theme:
            continue
        block = themes[row.id]
        block.rows = children.get(row.id) or [row]
        blocks.append(block)
    blocks.sort(key=lambda block: block.theme.position)
    return blocks


@functools.cache
def _category_statement() -> Select:
    """A rubrique and its thème (the breadcrumb; a self-referential relationship is only
    joined when asked)."""
    return (
        select(Category)
        .options(joinedload(Category.parent))
        .where(Category.slug == bindparam("slug"))
    )


def get_category_or_404(viewer: Viewer, slug: str) -> Category:
    category = db.session.scalar(_category_statement(), {"slug": slug})
    return policy.check_see_category(viewer, category)


def subcategory_rows(viewer: Viewer, category: Category) -> list[CategoryRow]:
    if not category.is_theme:
        return []
    return _category_rows(viewer, category)


@dataclass
class TopicRow:
    """A topic in a list, with its authors and the viewer's read state."""

    topic: Topic
    author: Member | None
    last_poster: Member | None
    category: Category | None
    last_read_number: int | None

    @property
    def unread(self) -> bool:
        return (self.last_read_number or 0) < self.topic.last_post_number

    @property
    def first_unread_number(self) -> int:
        return (self.last_read_number or 0) + 1

    @property
    def unread_count(self) -> int | None:
        """Posts after the reader's mark, for a topic they opened; None for one they never
        opened (« nouveau »). Read off the row (last number minus read number), as Discourse
        does: a post hidden in between still counts, so it is an upper bound."""
        if not self.unread or not self.last_read_number:
            return None
        return self.topic.last_post_number - self.last_read_number


# Topic lists run one statement per kind of list, built once with bound parameters
# (`member_id`, `marked_read_at`, the viewer's rubriques as `policy.VISIBLE`, and the
# list's own: `category_id`, `tag_id`); the pager's page and count statements derive from
# it once too. Building them per request cost more than running them.
_AUTHOR = aliased(Member, name="topic_author")
_LAST_POSTER = aliased(Member, name="topic_last_poster")
LIST_FILTERS = {"sans-reponse": "Sans réponse", "non-resolus": "Non résolus"}


def _read_number_column(by_date: bool) -> ColumnElement[int]:
    """The member's last read post number: the higher of the explicit mark and, for a member
    who used « tout marquer comme lu » (`by_date`), what that date covers."""
    explicit = func.coalesce(TopicRead.last_read_number, 0)
    if not by_date:
        return explicit.label("last_read_number")
    covered = case(
        (Topic.last_post_at <= bindparam("marked_read_at"), Topic.last_post_number), else_=0
    )
    return case((explicit > covered, explicit), else_=covered).label("last_read_number")


def _filtered(query: Select, list_filter: str | None) -> Select:
    """« sans réponse »: only the opening post; « non résolus »: no réponse retenue yet, in
    rubriques that accept one. Each condition is the one of a partial index
    (`models._filter_indexes`), spelt without a bound value so that the index serves it."""
    if list_filter == "sans-reponse":
        return query.where(Topic.post_count <= literal_column("1"))
    if list_filter == "non-resolus":
        return query.where(Topic.solution_post_id.is_(None), Category.accepts_solutions.is_(True))
    return query


@functools.cache
def _topic_list_statement(
    kind: str, staff: bool, by_date: bool, list_filter: str | None, walk: bool = False
) -> Select:
    """Topics the viewer may see, joined to authors, rubrique and read state, for one kind
    of list: « category », « active », « unread » or « tag ». With `walk`, the rubriques are
    not looked up in an index (see `policy.visible_topics_param`)."""
    read_number = _read_number_column(by_date)
    query = (
        select(Topic, _AUTHOR, _LAST_POSTER, Category, read_number)
        .outerjoin(_AUTHOR, _AUTHOR.id == Topic.author_id)
        .outerjoin(_LAST_POSTER, _LAST_POSTER.id == Topic.last_poster_id)
        .join(Category, Category.id == Topic.category_id)
        .outerjoin(
            TopicRead,
            and_(TopicRead.topic_id == Topic.id, TopicRead.member_id == bindparam("member_id")),
        )
        .where(policy.visible_topics_param(staff, by_rubrique=not walk))
        .options(*_member_link(_AUTHOR), *_member_link(_LAST_POSTER))
    )
    query = _filtered(query, list_filter)
    by_activity = (Topic.last_post_at.desc(), Topic.id.desc())
    if kind == "category":
        query = query.where(Topic.category_id == bindparam("category_id"))
        return query.order_by(Topic.is_pinned.desc(), *by_activity)
    if kind == "unread":
        query = query.where(read_number < Topic.last_post_number)
        if by_date:  # implied by read_number; lets the index scan stop
            query = query.where(Topic.last_post_at > bindparam("marked_read_at"))
    elif kind == "tag":
        # In the order of the mot-clé's own index (tag_id, last_post_at, topic_id): the
        # same as the topics' (the row keeps its topic's date), read without a sort.
        query = query.join(topic_tags, topic_tags.c.topic_id == Topic.id).where(
            topic_tags.c.tag_id == bindparam("tag_id")
        )
        return query.order_by(topic_tags.c.last_post_at.desc(), topic_tags.c.topic_id.desc())
    return query.order_by(*by_activity)


def _topic_list(
    kind: str,
    viewer: Viewer,
    member: Member,
    page: int,
    list_filter: str | None = None,
    total: int | None = None,
    count_cap: int | None = None,
    walk: bool = False,
    **params: int,
) -> Pagination:
    by_date = member.marked_read_at is not None
    statement = _topic_list_statement(kind, viewer.is_staff, by_date, list_filter, walk)
    params = {"member_id": member.id, **policy.visibility_params(viewer), **params}
    if by_date:
        params["marked_read_at"] = member.marked_read_at
    return RowPagination(
        select=statement,
        params=params,
        session=db.session(),
        page=page,
        per_page=current_app.config["TOPICS_PER_PAGE"],
        error_out=False,
        key=Topic.id,
        total=total,
        count_cap=count_cap,
        next_past_cap=count_cap is not None,
    )


def category_topics(
    viewer: Viewer, member: Member, category: Category, page: int, list_filter: str | None = None
) -> Pagination:
    list_filter = list_filter if list_filter in LIST_FILTERS else None
    total, cap = None, FILTER_COUNT_CAP
    if list_filter is None:
        total, cap = _visible_topic_total(viewer, category), None
    elif list_filter == "non-resolus" and not category.accepts_solutions:
        total = 0  # no topic here can have a réponse retenue: nothing to look for
    return _topic_list(
        "category",
        viewer,
        member,
        page,
        list_filter,
        total=total,
        count_cap=cap,
        category_id=category.id,
    )


def active_topics(
    viewer: Viewer, member: Member, page: int, list_filter: str | None = None
) -> Pagination:
    list_filter = list_filter if list_filter in LIST_FILTERS else None
    if list_filter:
        return _topic_list("active", viewer, member, page, list_filter, count_cap=FILTER_COUNT_CAP)
    if viewer.is_staff:
        return _topic_list("active", viewer, member, page, total=_visible_topic_total(viewer))
    params = policy.visibility_params(viewer)
    total, everything = read_columns(_topic_sums_statement(), params).one()
    per_page = current_app.config["TOPICS_PER_PAGE"]
    walk = walk_pays(page, per_page, total, everything)
    return _topic_list("active", viewer, member, page, total=total, walk=walk)


def walk_pays(page: int, per_page: int, visible: int, everything: int) -> bool:
    """Whether to find a page of « actifs » by walking the forum's activity order, skipping
    the topics the viewer does not see, rather than let the database choose. SQLite sorts
    every visible topic when they lie in a few rubriques (a hors pair's 14 %: 15,000 topics
    at 1 M posts), where the walk reads about everything / visible index entries per topic
    up to the page (from its nearer end); for a viewer of one small rubrique, the sort is
    the cheaper one. Walk when it reads no more entries than the sort would."""
    if visible <= 0:
        return False
    offset = (page - 1) * per_page
    before = min(offset, max(visible - offset - per_page, 0))
    return (before + per_page) * everything <= visible * visible


def _visible_topic_total(viewer: Viewer, category: Category | None = None) -> int:
    """How many topics the viewer sees in a rubrique (or everywhere), without counting rows:
    a rubrique's topic_count is exactly its visible topics. Staff also see hidden ones: their
    count reads the (category_id) index only, not the topics."""
    if viewer.is_staff:
        query = select(func.count(Topic.id)).where(policy.visible_topics(viewer))
        if category is not None:
            query = query.where(Topic.category_id == category.id)
        return db.session.scalar(query) or 0
    if category is not None:
        return category.topic_count
    return read_columns(_topic_sums_statement(), policy.visibility_params(viewer)).one()[0]


@functools.cache
def _topic_sums_statement() -> Select:
    """The topics a (non-staff) viewer sees, and those of the whole forum, from the
    rubriques' counters (visible topics only)."""
    visible = Category.id.in_(bindparam(policy.VISIBLE, expanding=True))
    return select(
        func.coalesce(func.sum(case((visible, Category.topic_count), else_=0)), 0),
        func.coalesce(func.sum(Category.topic_count), 0),
    )


UNREAD_COUNT_CAP = 1000
# A filtered list (« sans réponse », « non résolus ») has no counter: the pager counts its
# first topics only (40 pages), reading the filter's partial index; the pages stay exact.
FILTER_COUNT_CAP = UNREAD_COUNT_CAP


def unread_topics(viewer: Viewer, member: Member, page: int) -> Pagination:
    # Counting every unread topic costs a look at every visible topic: the pager counts the
    # first UNREAD_COUNT_CAP only (40 pages), and the pages themselves stay exact.
    return _topic_list("unread", viewer, member, page, count_cap=UNREAD_COUNT_CAP)


@functools.lru_cache(maxsize=128)
def _page_statement(
    statement: Select, key: ColumnElement | None, backwards: bool = False
) -> Select:
    """A page of `statement`, with bound `page_limit` and `page_offset`. With a `key`, a
    deferred join: the offset skips index entries, not joined rows. `backwards` finds the
    keys walking the list from its end (the offset then counts from the end): a far page
    skips few entries; the rows still come out in the list's order."""
    limit, offset = bindparam("page_limit"), bindparam("page_offset")
    if key is None:
        return statement.limit(limit).offset(offset)
    keys = statement.with_only_columns(key)
    if backwards:
        keys = keys.order_by(None).order_by(*map(_flipped, statement._order_by_clauses))
    keys = keys.limit(limit).offset(offset).subquery("page_keys")
    # A join (not IN): PostgreSQL then starts from the page's keys instead of joining every
    # visible topic first.
    return statement.join(keys, keys.c[0] == key)


def _flipped(clause: ColumnElement) -> ColumnElement:
    """An ORDER BY clause reversed. Without NULLS FIRST/LAST, a flipped column sorts its
    NULLs at the other end too (SQLite and PostgreSQL alike): the order is exactly reversed."""
    if isinstance(clause, UnaryExpression) and clause.element is not None:
        if clause.modifier is operators.desc_op:
            return clause.element.asc()
        if clause.modifier is operators.asc_op:
            return clause.element.desc()
        raise ValueError(f"ordre non inversible : {clause}")
    return clause.desc()


@functools.lru_cache(maxsize=128)
def _count_statement(statement: Select, key: ColumnElement | None, cap: int | None) -> Select:
    if key is None:
        return select(func.count()).select_from(statement.order_by(None).subquery())
    keys = statement.with_only_columns(key)
    keys = keys.order_by(None) if cap is None else keys.limit(cap)
    return select(func.count()).select_from(keys.subquery())


class RowPagination(SelectPagination):
    """Pagination over multi-entity rows (db.paginate keeps only the first entity).

    `params` are the statement's bound parameters. Optional arguments keep big lists cheap:
    `total` (a count already known, from the denormalised counters; with a `key`, pages
    past the middle are found from the end, so it must be exact), `key` (the primary
    key of the listed rows: the page's keys are found first, on the indexes only, and the
    joins run for those rows alone; the count selects that key instead of every column of
    every join) and `count_cap` (count the first rows in list order only; with
    `next_past_cap`, a page reads one row more, so that « Suivante » leads on past the
    counted pages while the list goes on). Statements built once (see
    `_topic_list_statement`) get their page and count statements built once too.
    """

    _more = False  # a row follows this page (read only with `next_past_cap`)

    def _query_items(self) -> list:
        args = self._query_args
        limit, offset = self.per_page, self._query_offset
        total, key = args.get("total"), args.get("key")
        if total == 0:
            return []
        if args.get("next_past_cap") and total is None:
            rows = self._read_rows(limit + 1, offset, key, backwards=False)
            self._more = len(rows) > limit
            return rows[:limit]
        # Past the middle of a list of known length, the page is nearer its end: walk the
        # order backwards, so that the offset skips fewer index entries.
        backwards = key is not None and total is not None and 2 * offset + limit > total
        if backwards and offset < total:
            limit, offset = min(offset + limit, total) - offset, max(total - offset - limit, 0)
        else:
            backwards = False
        return self._read_rows(limit, offset, key, backwards)

    def _read_rows(
        self, limit: int, offset: int, key: ColumnElement | None, backwards: bool
    ) -> list:
        args = self._query_args
        statement = _page_statement(args["select"], key, backwards)
        params = {**args.get("params", {}), "page_limit": limit, "page_offset": offset}
        row_type = args.get("row_type", TopicRow)
        rows = args["session"].execute(*lists_written(statement, params))  # mapped rows
        return [row_type(*row) for row in rows]

    @property
    def has_next(self) -> bool:
        """A next page: within the count, or past a count that stopped at its cap while
        rows follow this page (its pages are not counted, but reached)."""
        return super().has_next or self._more

    @property
    def capped(self) -> bool:
        """The count stopped at its cap: the list may hold more pages than it counted."""
        cap = self._query_args.get("count_cap")
        return cap is not None and self._query_args.get("total") is None and self.total >= cap

    def _query_count(self) -> int:
        args = self._query_args
        if args.get("total") is not None:
            return int(args["total"])
        statement = _count_statement(args["select"], args.get("key"), args.get("count_cap"))
        return read_columns(statement, args.get("params", {})).scalar_one()


def tag_topics(viewer: Viewer, member: Member, tag: Tag, page: int) -> Pagination:
    """Topics carrying a mot-clé, across rubriques, the wall applied in SQL; the count is
    the sum of the mot-clé's counters in the rubriques the viewer reads (exact: far pages
    are found from the end)."""
    params = {**policy.visibility_params(viewer), "tag_id": tag.id}
    total = read_columns(_tag_total_statement(viewer.is_staff), params).scalar_one() or 0
    return _topic_list("tag", viewer, member, page, total=total, tag_id=tag.id)


@functools.cache
def _tag_total_statement(staff: bool) -> Select:
    """The topics of the mot-clé bound as `tag_id` that the viewer sees, from its counters
    (`TagCategoryCount`): staff see the hidden ones too."""
    counted = TagCategoryCount.topic_count
    if staff:
        counted = counted + TagCategoryCount.hidden_topic_count
    return select(func.coalesce(func.sum(counted), 0)).where(
        TagCategoryCount.tag_id == bindparam("tag_id"),
        TagCategoryCount.category_id.in_(bindparam(policy.VISIBLE, expanding=True)),
    )


@functools.cache
def _topic_statement() -> Select:
    """The topic with its rubrique and thème (the breadcrumb), in one query."""
    return (
        select(Topic)
        .join(Topic.category)
        .options(contains_eager(Topic.category).joinedload(Category.parent))
        .where(Topic.id == bindparam("topic_id"))
    )


def read_topic(topic_id: int) -> Topic | None:
    """The topic with its rubrique and thème, whoever asks: see `get_topic_or_404`."""
    return db.session.scalar(_topic_statement(), {"topic_id": topic_id})


def get_topic_or_404(viewer: Viewer, topic_id: int) -> Topic:
    return policy.check_see_topic(viewer, read_topic(topic_id))


@dataclass(frozen=True, slots=True)
class PageCategory:
    """A rubrique (or its thème) as the topic page uses it: the breadcrumb and the rules the
    policy reads there (`check_reply`, `check_mark_solution`)."""

    id: int
    slug: str
    name: str
    open_to_hors_pairs: bool
    read_only: bool
    accepts_solutions: bool
    attachments_enabled: bool
    staff_only: bool  # with group_id and open_to_hors_pairs: who may read it (the policy)
    group_id: int | None
    parent: PageCategory | None


@dataclass(frozen=True, slots=True)
class PageTopic:
    """A topic as its own page uses it: plain values, not a mapped object (a `Topic` with
    its rubrique and thème through the ORM cost about three times the same statement read
    as columns, on the page members load most). It has the attributes of a `Topic` that
    the page and its policy checks read."""

    id: int
    category_id: int
    author_id: int | None
    title: str
    slug: str
    is_pinned: bool
    is_locked: bool
    is_hidden: bool
    post_count: int
    last_number: int
    merged_into_id: int | None
    solution_post_id: int | None
    category: PageCategory

    @property
    def reply_count(self) -> int:
        return max(self.post_count - 1, 0)


# Each dataclass's fields but the nested one, in order: the columns read for it.
_CATEGORY_PAGE_COLUMNS = tuple(f.name for f in fields(PageCategory) if f.name != "parent")
_TOPIC_PAGE_COLUMNS = tuple(f.name for f in fields(PageTopic) if f.name != "category")


@functools.cache
def _page_topic_statement() -> Select:
    """The topic, its rubrique and thème, as columns in one statement; built once."""
    theme = aliased(Category)
    return (
        select(
            *(getattr(Topic, name) for name in _TOPIC_PAGE_COLUMNS),
            *(getattr(Category, name) for name in _CATEGORY_PAGE_COLUMNS),
            *(getattr(theme, name) for name in _CATEGORY_PAGE_COLUMNS),
        )
        .join(Category, Category.id == Topic.category_id)
        .outerjoin(theme, theme.id == Category.parent_id)
        .where(Topic.id == bindparam("topic_id"))
    )


def page_topic_or_404(viewer: Viewer, topic_id: int) -> PageTopic | int:
    """`get_topic_or_404` for the topic page: the same rule, plain values; or, for a
    merged topic, the id of the topic its posts went to (`policy.merged_target`)."""
    topic = read_page_topic(topic_id)
    target = policy.merged_target(viewer, topic)
    if target is not None:
        # Only towards a topic the reader may open (or one merged further, asked at its
        # turn): a redirect across the wall would give its id away, where a topic that
        # does not exist answers 404.
        following = read_page_topic(target)
        if policy.merged_target(viewer, following) is None:
            policy.check_see_topic(viewer, following)
        return target
    return policy.check_see_topic(viewer, topic)


def read_page_topic(topic_id: int) -> PageTopic | None:
    """`read_topic` as plain values."""
    row = read_columns(_page_topic_statement(), {"topic_id": topic_id}).one_or_none()
    if row is None:
        return None
    topics, categories = len(_TOPIC_PAGE_COLUMNS), len(_CATEGORY_PAGE_COLUMNS)
    theme_values = row[topics + categories :]
    theme = None if theme_values[0] is None else PageCategory(*theme_values, parent=None)
    category = PageCategory(*row[topics : topics + categories], parent=theme)
    return PageTopic(*row[:topics], category=category)


def get_post_or_404(
    viewer: Viewer, post_id: int, check: Callable[..., Post] = policy.check_see_post_content
) -> tuple[Post, Topic]:
    """The post and its topic, `check`ed (by default: its text may be read)."""
    row = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Topic.category)
        .options(contains_eager(Topic.category), joinedload(Post.author))
        .where(Post.id == post_id)
    ).one_or_none()
    if row is None:
        raise NotFound()
    post, topic = row
    check(viewer, post, topic)
    return post, topic


def has_thanked(member_id: int | None, post: Post) -> bool:
    """Whether the member thanked the post (the « Remerciements » page's button)."""
    if member_id is None or not post.thanks_count:
        return False
    thanked = select(PostThanks.post_id).where(
        PostThanks.post_id == post.id, PostThanks.member_id == member_id
    )
    return db.session.scalar(thanked.exists().select()) or False


def thanks_of(viewer: Viewer, post: Post, limit: int = 200) -> tuple[list[Member], int]:
    """Who thanked the post, first to last, among the members the viewer may see
    (`policy.visible_members`), and how many others did."""
    members = list(
        db.session.scalars(
            select(Member)
            .join(PostThanks, PostThanks.member_id == Member.id)
            .where(PostThanks.post_id == post.id, policy.visible_members(viewer))
            .order_by(PostThanks.created_at, PostThanks.member_id)
            .limit(limit)
        )
    )
    return members, max(0, post.thanks_count - len(members))


def topic_page_count(topic: Topic | PageTopic, last_listed: int | None = None) -> int:
    """The topic's pages: up to its last post, or to `last_listed`, the last the reader is
    listed (`last_listed_column`): a post pending or refused at the end must not leave
    others an empty last page."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    last = topic.last_number if last_listed is None else last_listed
    return max(1, -(-last // per_page))


@functools.cache
def last_listed_column(staff: bool) -> ColumnElement:
    """The highest number of the posts the member bound as `member_id` is listed
    (`policy.listed_posts`) in the topic bound as `topic_id`, 0 if none: a prebuilt
    column for `reader_state`, walking the topic's numbers down from the last one. NULL
    for the staff, who are listed every post (`topic_page_count` reads the topic's)."""
    if staff:
        return null()
    return (
        select(func.coalesce(func.max(Post.number), 0))
        .where(
            Post.topic_id == bindparam("topic_id"),
            policy.listed_posts_param(staff, reader="member_id"),
        )
        .scalar_subquery()
    )


def page_of_number(number: int) -> int:
    return max(1, -(-number // current_app.config["POSTS_PER_PAGE"]))


def page_of_post(post: Post, topic: Topic) -> int:
    """The page showing the post: by its number; for a reply not published (below 0), the
    last page, where its author and the staff find it (`topic_posts`; the topic page
    brings a reader whose last page comes earlier to theirs)."""
    return page_of_number(post.number) if post.number > 0 else topic_page_count(topic)


@dataclass(frozen=True, slots=True)
class PostAuthor:
    """What a post's header shows of its author."""

    id: int
    display_name: str
    statut: str
    state: str
    network_name: str | None


@dataclass(frozen=True, slots=True)
class PagePost:
    """A post as a topic page shows it: plain values, not a mapped object (hydrating twenty
    `Post` and `Member` objects in the session cost more than the rest of the page's reads)."""

    id: int
    number: int
    author_id: int | None
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    is_hidden: bool
    is_pending: bool
    is_refused: bool
    hidden_reason: str
    has_files: bool  # the page reads attachments only when some post has any
    thanks_count: int
    thanked: bool  # by the reader (read with the post: no statement of its own)
    author: PostAuthor | None


@functools.cache
def _topic_posts_statement(staff: bool) -> CompoundSelect:
    """A page of posts the reader is listed (`policy.listed_posts`), with what their
    headers show of the author; built once per variant. Two ranges of numbers, each read
    from the index in order: the page's places, then (the last page binds a range that
    holds them) the replies waiting or refused, numbered below 0 (`Post.number`), after
    them in the order written (-1, -2…). No ORDER BY: `topic_posts` puts the few rows in
    order; sorting them in SQL copied each body into SQLite's sorter, which made the
    statement four times as slow (24 → 93 µs on the bench's topic)."""

    def posts_numbered(low: str, high: str | int) -> Select:
        upper = bindparam(high) if isinstance(high, str) else high
        return (
            select(
                Post.id,
                Post.number,
                Post.author_id,
                Post.body_html,
                Post.created_at,
                Post.edited_at,
                Post.is_hidden,
                Post.is_pending,
                Post.is_refused,
                Post.hidden_reason,
                select(Attachment.id).where(Attachment.post_id == Post.id).exists(),
                Post.thanks_count,
                select(PostThanks.post_id)
                .where(PostThanks.post_id == Post.id, PostThanks.member_id == bindparam("reader"))
                .exists(),
                Member.display_name,
                Member.statut,
                Member.state,
                Network.name,
            )
            .outerjoin(Member, Member.id == Post.author_id)
            .outerjoin(Network, Network.id == Member.network_id)
            .where(
                Post.topic_id == bindparam("topic_id"),
                Post.number.between(bindparam(low), upper),
                policy.listed_posts_param(staff),
            )
        )

    return union_all(posts_numbered("first", "last"), posts_numbered("waiting_from", -1))


def _page_order(row: Row) -> tuple[bool, int]:
    """The page's places in order, then the replies not published: -1, -2…"""
    return row.number < 0, abs(row.number)


def topic_posts(
    viewer: Viewer, topic: Topic | PageTopic, page: int, page_count: int
) -> list[PagePost]:
    """Posts of one page that the viewer is listed: a range of post numbers, so any page
    costs the same (keyset); on the last page, then, the replies not published that the
    viewer is listed (their author's, for the staff all), as a topic's last posts. With
    whether the viewer thanked each."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    first = (page - 1) * per_page + 1
    params = {
        "topic_id": topic.id,
        "first": first,
        "last": first + per_page - 1,
        # An empty range but on the last page.
        "waiting_from": -(2**31) if page >= page_count else 0,
        "reader": viewer.member_id or 0,
    }
    return [
        PagePost(
            *row[:13],
            author=None if row[2] is None else PostAuthor(row[2], *row[13:]),
        )
        for row in sorted(
            read_columns(_topic_posts_statement(viewer.is_staff), params), key=_page_order
        )
    ]


@dataclass(frozen=True, slots=True)
class PageEvent:
    """A note by the moderation between the posts of a topic page (`TopicEvent`); the other
    topic's title and slug only when the reader may open it (else None: no title, no link)."""

    kind: str
    after_number: int
    post_count: int
    created_at: datetime
    other_topic_id: int | None
    other_title: str | None
    other_slug: str | None


@functools.cache
def has_events_column() -> Exists:
    """Whether the topic bound as `topic_id` carries notes: a prebuilt column that the topic
    page folds into `reader_state`, so that a topic without any (nearly all) costs no query
    for them."""
    return select(TopicEvent.id).where(TopicEvent.topic_id == bindparam("topic_id")).exists()


@functools.cache
def _events_statement(staff: bool) -> Select:
    """A page's notes with the other topic, its title behind the wall; built once."""
    opens = and_(policy.visible_topics_param(staff), Topic.merged_into_id.is_(None))
    return (
        select(
            TopicEvent.kind,
            TopicEvent.after_number,
            TopicEvent.post_count,
            TopicEvent.created_at,
            TopicEvent.other_topic_id,
            case((opens, Topic.title)),
            case((opens, Topic.slug)),
        )
        .outerjoin(Topic, Topic.id == TopicEvent.other_topic_id)
        .where(
            TopicEvent.topic_id == bindparam("topic_id"),
            TopicEvent.after_number.between(bindparam("low"), bindparam("high")),
        )
        .order_by(TopicEvent.after_number, TopicEvent.id)
    )


def topic_events(
    viewer: Viewer, topic: Topic | PageTopic, page: int, page_count: int
) -> list[PageEvent]:
    """The notes shown on one page: those after its posts but its last, or before its
    first; on the last page, those after its last post too. One query."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    first = (page - 1) * per_page + 1
    high = 2**31 - 1 if page >= page_count else first + per_page - 2
    params = {**policy.visibility_params(viewer), "topic_id": topic.id}
    params |= {"low": first - 1, "high": high}
    return [PageEvent(*row) for row in read_columns(_events_statement(viewer.is_staff), params)]


@functools.cache
def _reader_statement(*columns: ColumnElement) -> Select:
    explicit = (
        select(TopicRead.last_read_number)
        .where(
            TopicRead.member_id == bindparam("member_id"),
            TopicRead.topic_id == bindparam("topic_id"),
        )
        .scalar_subquery()
    )
    return select(func.coalesce(explicit, 0), *columns)


def reader_state(
    member: Member,
    topic: Topic | PageTopic,
    *columns: ColumnElement,
    params: Mapping[str, Any] | None = None,
) -> tuple:
    """The member's explicit read mark on the topic (0 if none), then `columns`: prebuilt
    scalar subqueries of other domains (the subscription level, the header's counters) over
    the same bound `member_id`, `topic_id` and `category_id`, and any other `params` they
    need. One query."""
    bound = {"member_id": member.id, "topic_id": topic.id, "category_id": topic.category_id}
    return tuple(read_columns(_reader_statement(*columns), {**(params or {}), **bound}).one())


def last_read_number(member: Member, topic: Topic) -> int:
    """How far the member has read this topic (explicit mark or « all read » date)."""
    explicit = db.session.scalar(
        select(TopicRead.last_read_number).where(
            TopicRead.member_id == member.id, TopicRead.topic_id == topic.id
        )
    )
    by_date = 0
    if member.marked_read_at is not None and topic.last_post_at <= member.marked_read_at:
        by_date = topic.last_post_number
    return max(explicit or 0, by_date)


def first_unread_post_id(member: Member, topic: Topic) -> int | None:
    number = last_read_number(member, topic)
    return db.session.scalar(
        select(Post.id)
        .where(Post.topic_id == topic.id, Post.number > number, Post.is_hidden.is_(False))
        .order_by(Post.number)
        .limit(1)
    )


def post_revisions(viewer: Viewer, post: Post) -> tuple[list[PostRevision], int]:
    """The post's earlier versions the viewer may read, newest first, and how many others
    the moderation hid from them (one statement: the count rides along)."""
    hidden = (
        select(func.count(PostRevision.id))
        .where(PostRevision.post_id == post.id, not_(policy.visible_revisions(viewer)))
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(PostRevision, hidden)
        .options(joinedload(PostRevision.editor))
        .where(PostRevision.post_id == post.id, policy.visible_revisions(viewer))
        .order_by(PostRevision.id.desc())
    ).all()
    if not rows:  # all hidden, or none: the count alone
        return [], db.session.scalar(select(hidden)) or 0
    return [revision for revision, _ in rows], rows[0][1]


def visible_categories_flat(viewer: Viewer) -> list[Category]:
    """Visible thèmes each followed by their rubriques, for the moderators' menus (which
    act on the categories chosen)."""
    rows = list(
        db.session.scalars(
            select(Category).where(Category.id.in_(sorted(policy.visible_category_ids(viewer))))
        )
    )
    return _themes_then_rubriques(rows)


_C = TypeVar("_C", Category, Row)


@functools.cache
def _category_menu_statement() -> Select:
    return select(
        Category.id, Category.parent_id, Category.slug, Category.name, Category.position
    ).where(Category.id.in_(bindparam("ids", expanding=True)))


def category_menu(viewer: Viewer) -> list[Row]:
    """The same list as `visible_categories_flat`, as rows of (id, parent_id, slug, name,
    position): a filter menu needs no mapped objects, and mapping 29 of them cost the
    search page about 0.6 ms."""
    ids = sorted(policy.visible_category_ids(viewer))
    return _themes_then_rubriques(list(read_columns(_category_menu_statement(), {"ids": ids})))


def _themes_then_rubriques(categories: list[_C]) -> list[_C]:
    themes = sorted((c for c in categories if c.parent_id is None), key=lambda c: c.position)
    ordered: list[_C] = []
    for theme in themes:
        ordered.append(theme)
        ordered.extend(
            sorted((c for c in categories if c.parent_id == theme.id), key=lambda c: c.position)
        )
    return ordered


@functools.cache
def _hits_statement(staff: bool) -> Select:
    return (
        select(
            Post.id,
            Post.number,
            Post.created_at,
            Category.slug,
            Category.name,
            Member.id,
            Member.display_name,
            Member.state,
        )
        .join(Topic, Topic.id == Post.topic_id)
        .join(Topic.category)
        .outerjoin(Member, Member.id == Post.author_id)
        .where(
            Post.id.in_(bindparam("post_ids", expanding=True)), policy.visible_posts_param(staff)
        )
    )


@dataclass(frozen=True, slots=True)
class HitContext:
    """What a search hit says besides its text: where, by whom, when."""

    slug: str
    rubrique: str
    author: MemberLink | None
    created_at: datetime
    number: int


def hits_context(viewer: Viewer, post_ids: set[int]) -> dict[int, HitContext]:
    """The rubrique, author, date and number of each post of a page of search hits,
    visibility re-applied: a post missing from the result is not shown. One prebuilt
    statement."""
    if not post_ids:
        return {}
    params = {"post_ids": sorted(post_ids), **policy.visibility_params(viewer)}
    rows = db.session.execute(_hits_statement(viewer.is_staff), params)
    return {
        post_id: HitContext(
            slug=slug,
            rubrique=name,
            author=None if author_id is None else MemberLink(author_id, author_name, state),
            created_at=created_at,
            number=number,
        )
        for post_id, number, created_at, slug, name, author_id, author_name, state in rows
    }


def all_topic_posts(topic: Topic) -> list[Post]:
    """Every post of a topic (moderation's split form; topics stay a few hundred posts), in
    the order of its page: its places, then the replies not published (-1, -2…)."""
    return list(
        db.session.scalars(
            select(Post)
            .options(joinedload(Post.author))
            .where(Post.topic_id == topic.id)
            .order_by(Post.number < 0, func.abs(Post.number))
        )
    )


def first_post_id(topic: Topic) -> int | None:
    return db.session.scalar(select(Post.id).where(Post.topic_id == topic.id, Post.number == 1))


def solution_post(topic: Topic | PageTopic) -> Post | None:
    """The answer the topic retained, shown above its posts: only while it is a visible
    post of this topic (one moved away by a split may now sit behind the wall)."""
    if topic.solution_post_id is None:
        return None
    return db.session.scalar(
        select(Post)
        .options(joinedload(Post.author))
        .where(
            Post.id == topic.solution_post_id,
            Post.topic_id == topic.id,
            Post.is_hidden.is_(False),
        )
    )


@functools.cache
def _announcements_statement(staff: bool) -> Select:
    return (
        select(Topic.id, Topic.slug, Topic.title)
        .where(Topic.is_announcement.is_(True), policy.visible_topics_param(staff))
        .order_by(Topic.last_post_at.desc())
        .limit(5)
    )


def announcements(viewer: Viewer) -> list[Row]:
    """Topics pinned « comme annonce » (id, slug, title): shown above the index, the wall
    applied."""
    statement = _announcements_statement(viewer.is_staff)
    return list(read_columns(statement, policy.visibility_params(viewer)))


def revision_history(
    post: Post, revisions: list[PostRevision]
) -> list[tuple[PostRevision | None, list[tuple[str, str]]]]:
    """Each version (newest first) with the diff from the version before it."""
    versions = [post.body_source] + [r.body_source for r in revisions]  # newest first
    result = []
    for index, revision in enumerate([None, *revisions]):
        newer = versions[index]
        older = versions[index + 1] if index + 1 < len(versions) else None
        diff: list[tuple[str, str]] = []
        if older is not None:
            for line in difflib.ndiff(older.splitlines(), newer.splitlines()):
                if line[:1] in ("-", "+", " "):
                    diff.append((line[:1], line[2:]))
        result.append((revision, diff))
    return result
