"""Moderation actions. Each one changes rows, keeps counters and the search index right,
and writes its ModerationLog entry in the same transaction. Nothing is ever deleted."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, or_, select, update

from comcep import policy
from comcep.analytics import rollups
from comcep.errors import ComcepError
from comcep.extensions import db, utcnow
from comcep.forum import services as forum_services
from comcep.forum.models import Category, Post, PostRevision, Topic, TopicEvent, TopicRead
from comcep.members.models import Member
from comcep.messages.models import PrivateMessage
from comcep.moderation.models import REPORT_REASONS, ModerationLog, Report
from comcep.notifications import services as notifications
from comcep.notifications.models import GROUPED_KINDS, MOVED_REPLY, Notification, TopicSubscription
from comcep.rendering import slugify
from comcep.search import indexing

if TYPE_CHECKING:
    from comcep.forum.queries import PagePost

AUTO_HIDE_REPORTERS = 3
MERGED_OFFSET = 2_000_000  # posts and notes of a merged topic: numbered -(n + this) at first
AUTO_HIDE_REASON = "Masqué automatiquement après plusieurs signalements, en attente d'examen."


def log(
    actor: Member | None,
    action: str,
    target_type: str,
    target_id: int,
    *,
    topic_id: int | None = None,
    reason: str = "",
    details: dict | None = None,
) -> ModerationLog:
    entry = ModerationLog(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        topic_id=topic_id,
        reason=reason,
        details=json.dumps(details, ensure_ascii=False) if details else "",
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def _topics_changed(topics: list[Topic], category_ids: set[int]) -> None:
    """After any change of visibility or place: counters, « dernier message », index."""
    db.session.flush()
    topic_ids = [t.id for t in topics]
    forum_services.refresh_topic_stats(topic_ids)
    forum_services.refresh_category_counters(sorted(category_ids))
    authors = db.session.scalars(
        select(Post.author_id)
        .where(Post.topic_id.in_(topic_ids), Post.author_id.is_not(None))
        .distinct()
    )
    forum_services.refresh_member_stats(sorted(authors), sorted(category_ids))
    rollups.mark_topics_changed(topic_ids)
    indexing.enqueue_topics(topic_ids)


# --- Reports -------------------------------------------------------------------------


def report_post(reporter: Member, post: Post, topic: Topic, reason: str, comment: str) -> Report:
    """Flag a post; three different members hide it until the animatrice has looked."""
    if reason not in REPORT_REASONS:
        raise ComcepError("Choisissez une raison dans la liste.")
    if reason == "other" and not comment.strip():
        raise ComcepError("Précisez la raison de votre signalement.")
    already = db.session.scalar(
        select(Report.id).where(
            Report.post_id == post.id, Report.reporter_id == reporter.id, Report.status == "open"
        )
    )
    if already is not None:
        raise ComcepError("Vous avez déjà signalé ce message ; l'animatrice va l'examiner.")
    report = Report(
        post_id=post.id,
        reporter_id=reporter.id,
        reason=reason,
        comment=comment.strip(),
        created_at=utcnow(),
    )
    db.session.add(report)
    db.session.flush()
    reporters = db.session.scalar(
        select(func.count(func.distinct(Report.reporter_id))).where(
            Report.post_id == post.id,
            Report.status == "open",
            Report.reason != CORRECTED,  # its author's correction is no member's flag
        )
    )
    if reporters >= AUTO_HIDE_REPORTERS and not post.is_hidden:
        hide_post(None, post, topic, AUTO_HIDE_REASON)
    return report


def report_message(reporter: Member, message: PrivateMessage, reason: str, comment: str) -> Report:
    """Flag a private message: the animatrice sees that message only, not the conversation."""
    if reason not in REPORT_REASONS:
        raise ComcepError("Choisissez une raison dans la liste.")
    if message.author_id == reporter.id:
        raise ComcepError("Vous ne pouvez pas signaler votre propre message.")
    already = db.session.scalar(
        select(Report.id).where(
            Report.message_id == message.id,
            Report.reporter_id == reporter.id,
            Report.status == "open",
        )
    )
    if already is not None:
        raise ComcepError("Vous avez déjà signalé ce message ; l'animatrice va l'examiner.")
    report = Report(
        message_id=message.id,
        reporter_id=reporter.id,
        reason=reason,
        comment=comment.strip(),
        created_at=utcnow(),
    )
    db.session.add(report)
    db.session.flush()
    return report


def decide_message_reports(actor: Member, message: PrivateMessage, hide: bool, reason: str) -> None:
    if hide:
        message.is_hidden = True
        message.hidden_reason = reason.strip() or "Contenu signalé."
    reports = db.session.scalars(
        select(Report).where(Report.message_id == message.id, Report.status == "open")
    ).all()
    for report in reports:
        report.status = "closed"
        report.resolution = "hidden" if hide else "kept"
        report.resolved_by_id = actor.id
        report.resolved_at = utcnow()
    log(actor, "hide_message" if hide else "keep_message", "message", message.id, reason=reason)


def close_reports(actor: Member, post: Post, resolution: str, reason: str = "") -> int:
    """Close every open report on a post with the decision taken (the reporters see it)."""
    reports = list(
        db.session.scalars(select(Report).where(Report.post_id == post.id, Report.status == "open"))
    )
    for report in reports:
        report.status = "closed"
        report.resolution = resolution
        report.resolved_by_id = actor.id
        report.resolved_at = utcnow()
    # The author of a correction filed no report: the post's own notice tells them.
    reporter_ids = {r.reporter_id for r in reports if r.reporter_id and r.reason != CORRECTED}
    if reporter_ids:
        topic = db.session.get(Topic, post.topic_id)
        for reporter in db.session.scalars(select(Member).where(Member.id.in_(reporter_ids))):
            notifications.notify(reporter, "report_decided", actor=actor, topic=topic)
    if reports:
        log(
            actor,
            f"report_{resolution}",
            "post",
            post.id,
            topic_id=post.topic_id,
            reason=reason,
            details={"reports": [r.id for r in reports]},
        )
    return len(reports)


# --- Posts ---------------------------------------------------------------------------


def hide_post(actor: Member | None, post: Post, topic: Topic, reason: str) -> None:
    """Soft-delete: the text stays in the database; hiding the opening post hides the topic.
    A pending post is refused: never published, it stays out of others' sight for good
    (`Post.is_refused`), where a published one hidden leaves « Message masqué »."""
    if not reason.strip():
        raise ComcepError("Indiquez la raison : elle sera montrée à l'auteur.")
    _hold_topics(topic.id)  # before the post's row, as a split takes them (`_hold_topics`)
    author = db.session.get(Member, post.author_id) if post.author_id else None
    refusing = post.is_pending
    if refusing and not _claim_unpublished(post, Post.is_pending.is_(True)):
        # « Valider » at the same moment gave it a place: refused there, it left a gap.
        raise ComcepError("Ce message vient d'être publié : masquez-le si besoin.")
    if not refusing and _withdrawn_meanwhile(post):  # its new reason would make it restorable
        raise ComcepError(WITHDRAWN_ON_LEAVING + ".")
    # The author hears of it, as in Discourse (a pending post is hidden until published).
    if author is not None and (refusing or not post.is_hidden):
        kind = "post_refused" if refusing else "post_hidden"
        notifications.notify(author, kind, actor=actor, topic=topic, post_id=post.id)
    post.is_hidden = True
    post.is_refused = post.is_refused or refusing  # hidden again, a refused one stays so
    post.is_pending = False  # refusing a pre-moderated post takes it off the waiting list
    post.hidden_reason = reason.strip()
    post.hidden_by_id = actor.id if actor else None
    post.hidden_at = utcnow()
    if post.number == 1:
        topic.is_hidden = True
    if topic.solution_post_id == post.id:  # no longer read: the topic is not « Résolu »
        forum_services.withdraw_solution(topic)
    action = "refuse_post" if refusing else "hide_post"
    log(actor, action, "post", post.id, topic_id=topic.id, reason=reason)
    _topics_changed([topic], {topic.category_id})


CORRECTED = "corrected"  # the reason of a Report filed by `ask_review`


def _close_corrections(actor: Member, post: Post) -> bool:
    """Close the corrections of a post waiting in the queue (it is shown again, from the
    queue or from its page): True if there was one."""
    closed = db.session.execute(
        update(Report)
        .where(Report.post_id == post.id, Report.status == "open", Report.reason == CORRECTED)
        .values(status="closed", resolution="kept", resolved_by_id=actor.id, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(closed)


def ask_review(author: Member, post: Post) -> bool:
    """A post hidden by the moderation, corrected by its author: it waits in the review
    queue (as a report filed by the site, « corrigé par son auteur »), where « conserver »
    shows it again and « masquer » keeps it hidden with a new reason. Once per correction
    waiting: False when one is already in the queue."""
    waiting = db.session.scalar(
        select(Report.id).where(
            Report.post_id == post.id, Report.status == "open", Report.reason == CORRECTED
        )
    )
    # Its earlier versions hold what the moderation hid (a beneficiary's name): shown
    # again, the post must not show them in its history (the staff still read them).
    db.session.execute(
        update(PostRevision)
        .where(PostRevision.post_id == post.id, PostRevision.hidden_at.is_(None))
        .values(hidden_at=utcnow(), hidden_by_id=post.hidden_by_id)
        .execution_options(synchronize_session=False)
    )
    if waiting is not None:
        return False
    db.session.add(
        Report(
            post_id=post.id,
            reporter_id=author.id,
            reason=CORRECTED,
            comment="",
            created_at=utcnow(),
            status="open",
        )
    )
    db.session.flush()
    return True


LEFT_WITH_POSTS = "Retiré à la demande de son auteur, à son départ de la ComCEP."


def hide_member_posts(actor: Member, member: Member, reason: str = LEFT_WITH_POSTS) -> int:
    """Every post of `member` removed when the member asks it as they leave (SPEC §4:
    « their posts stay unless they ask removal »): one shown or awaiting validation hidden
    as the moderation hides one (the text kept, a topic hidden with its opening post), one
    already hidden kept so for good; their open reports closed; one journal entry;
    counters, « dernier message » and the index refreshed once. How many were removed."""
    # Their topics held first, as for the moderation's decisions on one post (`_hold_topics`):
    # a « Valider » at the same moment published a waiting one between its read here and
    # its removal, which then marked it refused where it held a place.
    _hold(Topic.id.in_(select(Post.topic_id).where(Post.author_id == member.id)))
    rows = db.session.execute(
        select(Post, Topic)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.author_id == member.id, Post.hidden_reason != reason)
        .order_by(Post.id)
    ).all()
    if not rows:
        return 0
    now = utcnow()
    topics: dict[int, Topic] = {}
    for post, topic in rows:
        # One the moderation had hidden is removed too: nothing (a correction waiting in the
        # queue, « conserver ») may show it again (`restore_post` refuses this reason).
        post.hidden_reason = reason
        if post.is_hidden and not post.is_pending:
            continue
        post.is_hidden = True
        post.is_refused = post.is_pending  # withdrawn before publication: never shown
        post.is_pending = False
        post.hidden_by_id = actor.id
        post.hidden_at = now
        if post.number == 1:
            topic.is_hidden = True
        if topic.solution_post_id == post.id:
            forum_services.withdraw_solution(topic)
        topics[topic.id] = topic
    # Reports still open on those posts (a member's flag, the author's correction) are
    # decided by the removal: « conserver » in the queue must not show them again.
    db.session.execute(
        update(Report)
        .where(Report.post_id.in_([post.id for post, _ in rows]), Report.status == "open")
        .values(status="closed", resolution="hidden", resolved_by_id=actor.id, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    log(
        actor,
        "hide_member_posts",
        "member",
        member.id,
        reason=reason,
        details={"nombre": len(rows)},
    )
    if topics:
        _topics_changed(list(topics.values()), {t.category_id for t in topics.values()})
    return len(rows)


def _opening_shown(topic: Topic) -> bool:
    if topic.merged_into_id is not None:
        return False
    db.session.flush()
    opening = select(Post.is_hidden).where(Post.topic_id == topic.id, Post.number == 1)
    return db.session.scalar(opening) is False


def _notifications_follow(topic_id: int) -> None:
    """Notifications about posts now in this topic point at it: the bell counts them, and
    reading the topic reads them, by their topic. A reply was told for the topic it was
    written in (its reader watched it, or opened it): told of this one, it would say
    « a répondu à votre sujet » of a topic the reader never opened. It now says where the
    moderation moved it, unless the reader opened or watches this topic too."""
    moved = select(Post.id).where(Post.topic_id == topic_id)
    following = and_(Notification.post_id.in_(moved), Notification.topic_id != topic_id)
    opener = select(Topic.author_id).where(Topic.id == topic_id).scalar_subquery()
    watches = (
        select(TopicSubscription.member_id)
        .where(
            TopicSubscription.topic_id == topic_id,
            TopicSubscription.member_id == Notification.member_id,
            TopicSubscription.level == "watching",
        )
        .exists()
    )
    db.session.execute(
        update(Notification)
        .where(following, Notification.kind.in_((*GROUPED_KINDS, MOVED_REPLY)))
        .values(
            kind=case(
                (Notification.member_id == opener, "my_topic"),
                (watches, "reply"),
                else_=MOVED_REPLY,
            )
        )
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Notification)
        .where(following)
        .values(topic_id=topic_id)
        .execution_options(synchronize_session=False)
    )


WITHDRAWN_ON_LEAVING = "Ce message a été retiré à la demande de son auteur, à son départ"


def _withdrawn_meanwhile(post: Post) -> bool:
    """Whether its author withdrew the post as they left since the page read it: read
    again once its topic is held, which `hide_member_posts` holds too. Shown again, or
    hidden for another reason (then restorable), it would go against their request."""
    reason = db.session.scalar(select(Post.hidden_reason).where(Post.id == post.id))
    return reason == LEFT_WITH_POSTS


def restorable(post: Post | PagePost) -> bool:
    """Whether « Restaurer » may show the post again: not one its author removed on
    leaving (SPEC §4: their posts stay unless they ask removal)."""
    return not (post.is_hidden and post.hidden_reason == LEFT_WITH_POSTS)


PUBLISHED_AFTER_REFUSAL = "Message publié après son refus (pré-modération)."


def restore_post(actor: Member, post: Post, topic: Topic, reason: str = "") -> None:
    """Show a hidden post again; its author, told when it was hidden, is told of this too.
    A post pending or refused at pre-moderation was never shown: showing it publishes it,
    as « Valider » does (`approve_post`), numbered after the posts written meanwhile, dated
    now, and told to those it concerns; a refusal is a decision the moderation may revise,
    not a post put back in the past where nobody would see it « non lu »."""
    _hold_topics(topic.id)  # before the post's row, as a split takes them (`_hold_topics`)
    if not restorable(post) or _withdrawn_meanwhile(post):
        raise ComcepError(WITHDRAWN_ON_LEAVING + " : il ne peut pas être rétabli.")
    if post.is_pending or post.is_refused:
        _publish(actor, post, topic, reason.strip() or PUBLISHED_AFTER_REFUSAL)
        return
    _show(actor, post, topic, reason, published_now=False)


def _show(actor: Member, post: Post, topic: Topic, reason: str, *, published_now: bool) -> None:
    """The flags, the topic, the journal and the counters of a post shown (again); its
    author told it is « rétabli » unless `published_now` (`_publish` tells them)."""
    restored = post.is_hidden and not published_now
    corrected = post.is_hidden and _close_corrections(actor, post)
    post.is_hidden = False
    post.is_pending = False
    post.is_refused = False
    post.hidden_reason = ""
    if post.number == 1 or (topic.is_hidden and _opening_shown(topic)):
        # A topic hidden with its opening post shows again with it, or once the post that
        # opens it now (after a merge put an older topic's first) is shown.
        topic.is_hidden = False
    author = db.session.get(Member, post.author_id) if restored and post.author_id else None
    if author is not None:
        notifications.tell_post_restored(author, actor=actor, topic=topic, post_id=post.id)
    log(actor, "restore_post", "post", post.id, topic_id=topic.id, reason=reason)
    if corrected and not published_now:
        # A corrected post refused before the marker existed (migration a7d3e9f1c482 could
        # not tell) may never have been published: those it concerns are told now; nobody
        # is told twice of one post (`handle_new_posts`).
        notifications.enqueue_post(post.id)
    _topics_changed([topic], {topic.category_id})


def set_revisions_hidden(
    actor: Member, post: Post, topic: Topic, hidden: bool, reason: str = ""
) -> int:
    """Hide a post's earlier versions from its readers (or show them again): a name edited
    out of a post stays in its history otherwise. Nothing is deleted: the staff read them,
    and the journal says who did it. The number of versions changed."""
    changed = db.session.execute(
        update(PostRevision)
        .where(
            PostRevision.post_id == post.id,
            PostRevision.hidden_at.is_(None) if hidden else PostRevision.hidden_at.is_not(None),
        )
        .values(hidden_at=utcnow() if hidden else None, hidden_by_id=actor.id if hidden else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        action = "hide_revisions" if hidden else "restore_revisions"
        log(actor, action, "post", post.id, topic_id=topic.id, reason=reason)
    return changed or 0


def approve_post(actor: Member, post: Post, topic: Topic) -> None:
    """Publish a pre-moderated post (its notifications go out now)."""
    if not post.is_pending:
        raise ComcepError("Ce message n'est pas en attente de validation.")
    _hold_topics(topic.id)  # before the post's row, as a split takes them (`_hold_topics`)
    _publish(actor, post, topic, "Message validé (pré-modération).")


def _publish(actor: Member, post: Post, topic: Topic, reason: str) -> None:
    """Publish a post never shown (pending, or refused): its notifications go out now.

    A reply is published as Discourse does, as if written now: numbered after every post of
    the topic and dated now. Read marks are post numbers, so a reader who had read past its
    place while it waited would never have seen it « non lu »; and the topic's « dernier
    message » and first reply, read from its posts, follow what its readers could see.
    (A reply waiting had no place yet: numbered below 0, `Post.number`.)

    Claimed on its row first (its caller holds its topic's): a second « Valider » at the
    same moment (a double click, two animatrices) read it unpublished too, and numbered it
    again after the first, leaving readers a gap and a « non lu » too many; it is refused
    instead. Nor is one its author withdrew as they left, at the same moment (`restorable`
    read it before)."""
    never_shown = and_(or_(Post.is_pending, Post.is_refused), Post.hidden_reason != LEFT_WITH_POSTS)
    if not _claim_unpublished(post, never_shown):
        raise ComcepError("Ce message vient d'être publié, ou retiré par son auteur à son départ.")
    if post.number != 1:
        caught_up = topic.last_post_number  # the last post readers could see while it waited
        author = db.session.get(Member, post.author_id) if post.author_id else None
        # Caught up by « tout marquer comme lu » too (the lists count that date as read).
        by_date = (
            author is not None
            and author.marked_read_at is not None
            and topic.last_post_at is not None
            and topic.last_post_at <= author.marked_read_at
        )
        post.number = db.session.execute(
            update(Topic)
            .where(Topic.id == topic.id)
            .values(last_number=Topic.last_number + 1)
            .returning(Topic.last_number)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        topic.last_number = post.number
        post.created_at = utcnow()
        indexing.enqueue_posts([post.id])
        if author is not None:
            # Its author read it as they wrote it: if they had read the rest too, the topic
            # is not « non lu » for them because of their own post.
            mark = db.session.scalar(
                select(TopicRead.last_read_number).where(
                    TopicRead.member_id == author.id, TopicRead.topic_id == topic.id
                )
            )
            if by_date or (mark is not None and mark >= caught_up):
                forum_services.mark_read(author, topic.id, post.number)
    else:
        # A topic waiting is opened now too: dated before, it would count as read for
        # whoever used « tout marquer comme lu » while it waited, never seen « non lu ».
        # (Its other posts, its author's, wait or were refused: published, each is dated
        # and numbered anew above.)
        post.created_at = topic.created_at = utcnow()
        indexing.enqueue_posts([post.id])
    _show(actor, post, topic, reason, published_now=True)
    notifications.enqueue_post(post.id)
    author = db.session.get(Member, post.author_id) if post.author_id else None
    if author is not None:  # told it waited (or was refused); told it is out
        notifications.tell_post_published(author, actor=actor, topic=topic, post_id=post.id)


# --- Topics --------------------------------------------------------------------------


def set_locked(actor: Member, topic: Topic, locked: bool, reason: str = "") -> None:
    topic.is_locked = locked
    log(actor, "lock" if locked else "unlock", "topic", topic.id, topic_id=topic.id, reason=reason)


def set_pinned(actor: Member, topic: Topic, pinned: bool, announcement: bool = False) -> None:
    """Pin in its rubrique, or everywhere as an announcement."""
    topic.is_pinned = pinned
    topic.is_announcement = pinned and announcement
    action = ("announce" if announcement else "pin") if pinned else "unpin"
    log(actor, action, "topic", topic.id, topic_id=topic.id)


def rename_topic(actor: Member, topic: Topic, title: str) -> None:
    old = topic.title
    topic.title = title.strip()
    topic.slug = slugify(topic.title)
    log(actor, "rename", "topic", topic.id, topic_id=topic.id, details={"avant": old})
    db.session.flush()
    indexing.enqueue_topics([topic.id])


def _check_takes_topics(category: Category) -> None:
    """A thème with rubriques holds no topic of its own (SPEC §3): they go in a rubrique."""
    if db.session.scalar(select(exists().where(Category.parent_id == category.id))):
        raise ComcepError(
            f"« {category.name} » est un thème organisé en rubriques : choisissez l'une d'elles."
        )


def _check_widening(source: Category, target: Category, what: str, confirmed: bool) -> None:
    """Posts moved where more members read them (across the wall above all): only when
    said so in words, as for opening a rubrique (`_check_opening`)."""
    who = None if confirmed else policy.widened_readers(source, target)
    if who:
        raise ComcepError(
            f"Cochez la confirmation : {who} pourront lire {what}, qu'ils ne lisent pas "
            f"dans « {source.name} ».",
            "confirm_widening",
        )


def _relink_mentions(source: Category, target: Category, topic_id: int) -> None:
    """Posts moved where other hors pairs read (or hors pairs at all): their @mentions are
    linked again as if written there (`policy.mention_readers`), so that no link gives
    those readers a member, or their id, they may not see."""
    if policy.mention_readers(target.id) != policy.mention_readers(source.id):
        db.session.flush()
        forum_services.render_rows_again(Post, Post.topic_id == topic_id)


def _category_of(topic: Topic) -> Category:
    """The topic's rubrique, from the session when the page loaded it (`Topic.category`
    does not load on access)."""
    category = db.session.get(Category, topic.category_id)
    assert category is not None  # a foreign key
    return category


def _posts_words(count: int, one: str, many: str) -> str:
    """« le message choisi », « les 3 messages choisis »: `many` takes the count."""
    return one if count == 1 else many.format(count)


def move_topic(
    actor: Member, topic: Topic, category: Category, reason: str = "", *, confirmed: bool = False
) -> None:
    """Move a topic; the wall follows at once (listings, counts and search)."""
    _check_takes_topics(category)
    if category.id == topic.category_id:
        raise ComcepError("Le sujet est déjà dans cette rubrique.")
    what = _posts_words(topic.post_count, "ce sujet et son message", "ce sujet et ses {} messages")
    source = _category_of(topic)
    _check_widening(source, category, what, confirmed)
    old = topic.category_id
    topic.category_id = category.id
    _relink_mentions(source, category, topic.id)
    log(
        actor,
        "move",
        "topic",
        topic.id,
        topic_id=topic.id,
        reason=reason,
        details={"de": old, "vers": category.id},
    )
    _topics_changed([topic], {old, category.id})


def _hold_topics(*topic_ids: int) -> None:
    """Hold the topics' rows until commit before their posts are read to be moved and
    numbered again (split, merge): a reply or a publication takes its number by writing
    its topic's row first (`forum.services._add_post`, `_publish`), so it waits for the
    renumbering instead of landing between its read and its writes, numbered below 0 as
    if still waiting, or the two deadlocking. In id order, as two merges may cross. The
    moderation's decisions on one post (hide, refuse, restore, validate) hold its topic
    too before writing the post's row: in the other order, they deadlocked with a split.
    (SQLite writes one transaction at a time, and has no FOR UPDATE: nothing to hold, no
    statement to run.)"""
    _hold(Topic.id.in_(topic_ids))


def _hold(topics: ColumnElement[bool]) -> None:
    # FOR NO KEY UPDATE: the lock an UPDATE of the row takes, which waits for another
    # writer of it, but lets rows that point at the topic be written meanwhile (a read
    # mark, a notification: FOR UPDATE made them wait for the whole split or departure).
    if db.session.get_bind().dialect.name == "sqlite":
        return
    held = select(Topic.id).where(topics).order_by(Topic.id).with_for_update(key_share=True)
    db.session.execute(held)


def _claim_unpublished(post: Post, state: ColumnElement[bool]) -> bool:
    """Whether the post is still in `state` (waiting, or refused), its row then held until
    commit (its topic's held before by the caller, `_hold_topics`): a decision on it read
    it so, and another one taken at the same moment (« Valider », « Refuser ») may have
    changed it."""
    claimed = db.session.execute(
        update(Post)
        .where(Post.id == post.id, state)
        .values(is_pending=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(claimed)


def _renumber(topic_id: int, opening_id: int | None = None) -> int:
    """Give a topic's posts the numbers 1..n in date order (after a split or a merge);
    returns n. A shown topic keeps its post n° 1 first if a hidden post dated before it
    would take its place (merged in from a hidden topic): shown, it would open on a hole,
    under another author's name. `opening_id`: the post that opens it whatever its date
    (a split's first published post, ahead of one refused before it). Its replies never
    published (waiting, or refused) take no place: -1, -2… in date order (`Post.number`).
    Its own n° 1 stays ahead of its own replies (posts a merge brings, numbered below
    -MERGED_OFFSET, go by date): a topic validated after pre-moderation is dated then
    (`_publish`), after a reply the animatrice wrote while it waited. A hidden topic (or one
    awaiting validation) keeps its hidden n° 1 first likewise."""
    db.session.flush()
    shown = db.session.scalar(select(Topic.is_hidden).where(Topic.id == topic_id)) is False
    rows = db.session.execute(
        select(Post.id, Post.number, Post.is_hidden, Post.is_pending, Post.is_refused)
        .where(Post.topic_id == topic_id)
        .order_by(Post.created_at, Post.id)
    ).all()
    own = [i for i, row in enumerate(rows) if row.number > -MERGED_OFFSET // 2]
    opening_at = next((i for i in own if rows[i].number == 1), None)
    if opening_at is not None:
        rows.insert(own[0], rows.pop(opening_at))
    if rows and rows[0].is_hidden == shown:
        # Date order would open the topic on a post whose state is not the topic's: a shown
        # topic on a hidden post, or a topic hidden (or awaiting validation) on a published
        # post brought in by a merge, which a later « Restaurer » of that post would take
        # for the opening post and show the topic with, its title never validated. The
        # topic keeps its own n° 1 first.
        opening = next((row for row in rows if row.number == 1 and row.is_hidden != shown), None)
        if opening is not None:
            rows.remove(opening)
            rows.insert(0, opening)
    if opening_id is not None:
        chosen = next(row for row in rows if row.id == opening_id)
        rows.remove(chosen)
        rows.insert(0, chosen)
    # The opening post keeps n° 1 even unpublished: its whole topic waits with it.
    placed = rows[:1] + [row for row in rows[1:] if policy.was_published(row)]
    waiting = [row for row in rows[1:] if not policy.was_published(row)]
    db.session.execute(
        update(Post).where(Post.topic_id == topic_id).values(number=-Post.number - 1_000_000)
    )
    for number, row in enumerate(placed, start=1):
        db.session.execute(update(Post).where(Post.id == row.id).values(number=number))
    for number, row in enumerate(waiting, start=1):
        db.session.execute(update(Post).where(Post.id == row.id).values(number=-number))
    db.session.execute(update(Topic).where(Topic.id == topic_id).values(last_number=len(placed)))
    _renumber_read_marks(topic_id, [row.number for row in placed])
    _renumber_events(topic_id, [row.number for row in placed])
    return len(placed)


def _renumber_read_marks(topic_id: int, old_numbers: list[int]) -> None:
    """Read marks are post numbers: after renumbering, a reader's mark becomes the run of
    posts, in the new order, that they had read (posts brought in by a merge, numbered
    below 0 by merge_topics, were not), so that no new reply passes for read."""
    marks = db.session.scalars(
        select(TopicRead.last_read_number).where(TopicRead.topic_id == topic_id).distinct()
    ).all()
    mapping: dict[int, int] = {}
    for mark in marks:
        run = 0
        for old in old_numbers:
            if old <= 0 or old > mark:
                break
            run += 1
        mapping[mark] = run
    if mapping:
        db.session.execute(
            update(TopicRead)
            .where(TopicRead.topic_id == topic_id)
            .values(last_read_number=case(mapping, value=TopicRead.last_read_number))
            .execution_options(synchronize_session=False)
        )


def _renumber_events(topic_id: int, old_numbers: list[int]) -> None:
    """A note between posts stays after the post it followed (the last one still here of
    those it followed), in the new order; posts brought in by a merge (numbered below 0)
    were not before it, and a note brought in with them (anchored below 0 the same way)
    follows those it followed in its topic."""
    anchors = db.session.scalars(
        select(TopicEvent.after_number).where(TopicEvent.topic_id == topic_id).distinct()
    ).all()
    mapping: dict[int, int] = {}
    for anchor in anchors:
        if anchor >= 0:  # a note of this topic: after its posts up to `anchor`
            mapping[anchor] = max(
                (new for new, old in enumerate(old_numbers, start=1) if 0 < old <= anchor),
                default=0,
            )
        else:  # a note brought in by a merge: after the merged posts it followed
            merged = -anchor - MERGED_OFFSET
            positions = [new for new, old in enumerate(old_numbers, start=1) if old < 0]
            mapping[anchor] = max(
                (
                    new
                    for new, old in enumerate(old_numbers, start=1)
                    if old < 0 and 0 < -old - MERGED_OFFSET <= merged
                ),
                # before them all (« déplacés depuis »): just before the first merged post
                default=min(positions, default=1) - 1,
            )
    if any(old != new for old, new in mapping.items()):
        db.session.execute(
            update(TopicEvent)
            .where(TopicEvent.topic_id == topic_id)
            .values(after_number=case(mapping, value=TopicEvent.after_number))
            .execution_options(synchronize_session=False)
        )


def split_topic(
    actor: Member,
    topic: Topic,
    post_ids: list[int],
    title: str,
    category: Category,
    *,
    confirmed: bool = False,
) -> Topic:
    """Move the selected replies into a new topic; the opening post stays."""
    _check_takes_topics(category)
    what = _posts_words(len(post_ids), "le message choisi", "les {} messages choisis")
    _check_widening(_category_of(topic), category, what, confirmed)
    _hold_topics(topic.id)
    posts = list(
        db.session.scalars(
            select(Post)
            .where(Post.topic_id == topic.id, Post.id.in_(post_ids))
            .order_by(Post.created_at, Post.id)
        )
    )
    if not posts:
        raise ComcepError("Sélectionnez au moins un message à déplacer.")
    if any(post.number == 1 for post in posts):
        raise ComcepError("Le premier message reste dans le sujet d'origine.")
    # The new topic opens with the first post its readers ever saw: one awaiting validation
    # or refused there would hide it from all, the published replies' own authors included.
    published = [post for post in posts if policy.was_published(post)]
    if not published:
        raise ComcepError(
            "Aucun des messages choisis n'est publié : ils ne peuvent pas ouvrir un sujet. "
            "Validez-en un d'abord, ou laissez-les dans le sujet."
        )
    first = published[0]
    new = Topic(
        category_id=category.id,
        author_id=first.author_id,
        title=title.strip(),
        slug=slugify(title),
        created_at=first.created_at,
        last_post_at=first.created_at,
        # It opens with that post: hidden (or awaiting validation) with it.
        is_hidden=first.is_hidden,
    )
    db.session.add(new)
    db.session.flush()
    for post in posts:
        post.topic_id = new.id
    db.session.flush()
    _notifications_follow(new.id)
    _relink_mentions(_category_of(topic), category, new.id)
    if topic.solution_post_id in {post.id for post in posts}:  # it answers the new topic now
        forum_services.withdraw_solution(topic)
    _renumber(new.id, opening_id=first.id)
    left = _renumber(topic.id)
    # A note in each topic, for readers following the thread (not a post: no counter,
    # no notification): at the end of the original as it stands, at the top of the new one.
    now = utcnow()
    for topic_id, other_id, kind, after in (
        (topic.id, new.id, "split_to", left),
        (new.id, topic.id, "split_from", 0),
    ):
        db.session.add(
            TopicEvent(
                topic_id=topic_id,
                other_topic_id=other_id,
                kind=kind,
                after_number=after,
                post_count=len(published),  # what its readers could see go
                actor_id=actor.id,
                created_at=now,
            )
        )
    log(
        actor,
        "split",
        "topic",
        topic.id,
        topic_id=topic.id,
        details={"nouveau_sujet": new.id, "messages": [p.id for p in posts]},
    )
    _topics_changed([topic, new], {topic.category_id, category.id})
    return new


def merge_topics(
    actor: Member, source: Topic, target: Topic, reason: str = "", *, confirmed: bool = False
) -> None:
    """Move every post of `source` into `target`; `source` stays as a hidden pointer."""
    if source.id == target.id:
        raise ComcepError("Choisissez deux sujets différents.")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise ComcepError("Ce sujet a déjà été fusionné dans un autre : choisissez ce dernier.")
    what = _posts_words(source.post_count, "le message de ce sujet", "les {} messages de ce sujet")
    widened = (_category_of(source), _category_of(target))
    _check_widening(*widened, what, confirmed)
    _hold_topics(source.id, target.id)
    # Out of the target's range first: (topic_id, number) is unique, _renumber orders by date.
    db.session.execute(
        update(Post)
        .where(Post.topic_id == source.id)
        .values(topic_id=target.id, number=-Post.number - MERGED_OFFSET)
    )
    # Merging back what a split took apart undoes it: its two notes (« déplacés vers »,
    # « déplacés depuis ») would tell of a topic now inside this one. They are the
    # moderation's own notes, not anyone's words; the journal keeps the split and the merge.
    db.session.execute(
        delete(TopicEvent)
        .where(
            or_(
                and_(TopicEvent.topic_id == source.id, TopicEvent.other_topic_id == target.id),
                and_(TopicEvent.topic_id == target.id, TopicEvent.other_topic_id == source.id),
            )
        )
        .execution_options(synchronize_session=False)
    )
    # The source's other notes (a split's) follow its posts, anchored the same way (see
    # _renumber_events), rather than stay on a topic nobody opens any more.
    db.session.execute(
        update(TopicEvent)
        .where(TopicEvent.topic_id == source.id)
        .values(topic_id=target.id, after_number=-TopicEvent.after_number - MERGED_OFFSET)
        .execution_options(synchronize_session=False)
    )
    _renumber(target.id)
    _notifications_follow(target.id)
    _relink_mentions(*widened, target.id)
    source.is_hidden = True
    source.merged_into_id = target.id
    source.last_number = 0
    if source.solution_post_id is not None:  # a reply of the target now, not its answer
        forum_services.withdraw_solution(source)
    log(
        actor,
        "merge",
        "topic",
        source.id,
        topic_id=target.id,
        reason=reason,
        details={"fusionne_dans": target.id},
    )
    _topics_changed([source, target], {source.category_id, target.category_id})


def relay_topic(actor: Member, topic: Topic, category: Category, summary: str) -> Topic:
    """« Relayer aux pairs »: an announcement in the pairs' forum linking to the exchange."""
    if not topic.category.open_to_hors_pairs:
        raise ComcepError("Seuls les échanges hors pairs peuvent être relayés.")
    if topic.is_hidden:  # its link would answer 404 to the pairs it is relayed to
        raise ComcepError("Cet échange est masqué : rétablissez-le avant de le relayer aux pairs.")
    if category.open_to_hors_pairs:
        raise ComcepError("Choisissez une rubrique des pairs pour le relais.")
    _check_takes_topics(category)
    body = (
        f"{summary.strip()}\n\n[Lire l'échange avec les partenaires : {topic.title}](/t/{topic.id})"
    )
    relay = forum_services.create_topic(actor, category, f"Relais : {topic.title}"[:200], body)
    relay.is_pinned = True
    if topic.author_id is not None:
        author = db.session.get(Member, topic.author_id)
        if author is not None:  # told about the exchange itself: a hors pair can read it
            notifications.notify(author, "relay", actor=actor, topic=topic)

    log(actor, "relay", "topic", topic.id, topic_id=topic.id, details={"relais": relay.id})
    return relay


# --- Members -------------------------------------------------------------------------


_NOT_A_MEMBER = {
    "pending": "Ce compte attend encore la validation de son inscription : il n'y a rien à "
    "suspendre ni à lever.",
    "left": "Ce membre a quitté la ComCEP : son compte anonymisé ne peut être ni suspendu ni "
    "rétabli.",
}


def _check_moderable(member: Member) -> None:
    """Suspensions apply to members only: a pending request or a former member's anonymised
    account is never turned into a suspended (listed) or active one."""
    if member.state in _NOT_A_MEMBER:
        raise ComcepError(_NOT_A_MEMBER[member.state])


def suspend_member(actor: Member, member: Member, days: int | None, reason: str) -> None:
    if member.id == actor.id:
        raise ComcepError("Vous ne pouvez pas vous suspendre vous-même.")
    _check_moderable(member)
    if not reason.strip():
        raise ComcepError("Indiquez la raison de la suspension.")
    member.state = "suspended"
    member.suspended_until = utcnow() + timedelta(days=days) if days else None
    member.moderation_reason = reason.strip()
    log(actor, "suspend", "member", member.id, reason=reason, details={"jours": days})


def lift_suspension(actor: Member, member: Member) -> None:
    _check_moderable(member)
    member.state = "active"
    member.suspended_until = None
    log(actor, "unsuspend", "member", member.id)


def silence_member(actor: Member, member: Member, days: int, reason: str) -> None:
    _check_moderable(member)
    if not reason.strip():
        raise ComcepError("Indiquez la raison de la mise en lecture seule.")
    member.silenced_until = utcnow() + timedelta(days=max(days, 1))
    member.moderation_reason = reason.strip()
    log(actor, "silence", "member", member.id, reason=reason, details={"jours": days})


def lift_silence(actor: Member, member: Member) -> None:
    member.silenced_until = None
    log(actor, "unsilence", "member", member.id)


def update_category_flags(actor: Member, category: Category, flags: dict[str, bool]) -> bool:
    """Set a rubrique's switches (attachments, solutions, read only…); journal what changed.
    A thème with rubriques takes no topic itself: its switches would do nothing, so it has
    none (each of its rubriques has its own), unless it still holds topics of its own (from
    before its rubriques), which obey them."""
    if category.id in without_switches([category.id]):
        raise ComcepError(
            f"« {category.name} » est un thème : ses rubriques ont chacune leurs réglages, "
            "réglez-les une à une."
        )
    before = {name: getattr(category, name) for name in flags}
    changed = {name: value for name, value in flags.items() if before[name] != value}
    if not changed:
        return False
    for name, value in changed.items():
        setattr(category, name, value)
    log(
        actor,
        "category_update",
        "category",
        category.id,
        details={"rubrique": category.name, **changed},
    )
    return True


def without_switches(ids: list[int]) -> set[int]:
    """Those of these categories whose switches would do nothing: thèmes with rubriques that
    hold no topic of their own (two queries, whatever the number)."""
    themes = set(db.session.scalars(select(Category.parent_id).where(Category.parent_id.in_(ids))))
    if not themes:
        return set()
    holding = set(
        db.session.scalars(
            select(Topic.category_id).where(Topic.category_id.in_(themes)).distinct()
        )
    )
    return themes - holding


# A rubrique's fields as the journal names them.
_FIELD_WORDS = {
    "name": "nom",
    "description": "description",
    "position": "position",
    "open_to_hors_pairs": "ouverte_aux_hors_pairs",
    "staff_only": "reservee_a_l_equipe",
    "group_id": "groupe",
}


def _unique_slug(name: str) -> str:
    """A new rubrique's address (kept if it is renamed later: addresses are stable)."""
    base = slugify(name)
    slug, n = base, 2
    while db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        slug, n = f"{base[:75]}-{n}", n + 1
    return slug


def _check_opening(category: Category | None, fields: dict, confirmed: bool) -> None:
    """Opening a space to more readers shows them all it already holds: only when said so
    in words. Hors pairs above all (SPEC §2, the wall); pairs too, when the restriction to
    the staff or to a group is lifted or changed."""
    if category is None or confirmed:
        return
    to_hors_pairs = fields["open_to_hors_pairs"] and not category.open_to_hors_pairs
    to_others = (category.staff_only and not fields["staff_only"]) or (
        category.group_id is not None and fields["group_id"] != category.group_id
    )
    if not (to_hors_pairs or to_others):
        return
    # A thème's topics are mostly in its rubriques (those open to hors pairs follow it).
    topics = db.session.scalar(
        select(func.coalesce(func.sum(Category.topic_count), 0)).where(
            (Category.id == category.id) | (Category.parent_id == category.id)
        )
    )
    if topics:
        plural = "s" if topics > 1 else ""
        readers = "les hors pairs" if to_hors_pairs else "d'autres membres"
        raise ComcepError(
            f"Cochez la confirmation : {readers} pourront lire ce qui est déjà publié ici "
            f"({topics} sujet{plural}{', ses rubriques comprises' if category.is_theme else ''}).",
            "confirm_opening",
        )


def create_category(
    actor: Member, parent: Category | None, fields: dict, *, confirmed: bool = False
) -> Category:
    """A new rubrique in a thème (or a new thème, `parent` None); the journal keeps it."""
    if parent is not None and parent.parent_id is not None:
        raise ComcepError("Une rubrique se range dans un thème, pas dans une autre rubrique.")
    _check_opening(None, fields, confirmed)
    category = Category(parent_id=parent.id if parent else None, slug=_unique_slug(fields["name"]))
    for name, value in fields.items():
        setattr(category, name, value)
    db.session.add(category)
    db.session.flush()
    log(actor, "category_create", "category", category.id, details={"rubrique": category.name})
    return category


def edit_category(actor: Member, category: Category, fields: dict, *, confirmed: bool) -> bool:
    """Rename a rubrique, describe it, set its place and who reads it; its address stays.
    The journal keeps what changed (the former value of each field)."""
    _check_opening(category, fields, confirmed)
    changed = {name: getattr(category, name) for name, value in fields.items()}
    changed = {name: old for name, old in changed.items() if old != fields[name]}
    if not changed:
        return False
    for name in changed:
        setattr(category, name, fields[name])
    db.session.flush()
    if changed.keys() & {"open_to_hors_pairs", "group_id", "staff_only"}:
        # Who reads changed: the posts' @mentions are linked again for their new readers
        # (`policy.mention_readers`), the thème's rubriques' with it.
        policy.clear_request_cache()
        rubriques = select(Category.id).where(
            or_(Category.id == category.id, Category.parent_id == category.id)
        )
        topics = select(Topic.id).where(Topic.category_id.in_(rubriques))
        forum_services.render_rows_again(Post, Post.topic_id.in_(topics))
    before = {f"{_FIELD_WORDS[name]}_avant": old for name, old in changed.items()}
    details = {"rubrique": category.name, **before}
    log(actor, "category_update", "category", category.id, details=details)
    return True
