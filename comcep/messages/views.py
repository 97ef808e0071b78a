"""/messages: conversations between members, behind the participants-only rule."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from comcep import policy
from comcep.errors import ComcepError
from comcep.extensions import db, posting_limit
from comcep.members.models import Member
from comcep.members.queries import find_visible_member
from comcep.messages import queries, services
from comcep.messages.forms import (
    AddParticipantsForm,
    LeaveConversationForm,
    MessageReplyForm,
    NewConversationForm,
)
from comcep.messages.models import Conversation
from comcep.messages.queries import People
from comcep.policy import Viewer, current_viewer

bp = Blueprint("messages", __name__)

UNKNOWN_RECIPIENT = services.UNKNOWN_RECIPIENT


@bp.get("/messages")
@login_required
def index() -> ResponseReturnValue:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total, rows = queries.conversations(current_viewer(), page)
    return render_template("messages/index.html", rows=rows, total=total, page=page)


def _recipients(
    viewer: Viewer, form: NewConversationForm | AddParticipantsForm, ids: list[int]
) -> list[Member] | None:
    """The members the form names (and `ids`) whom the viewer may write to; None, with the
    refusal under the field, otherwise: a member out of the viewer's sight answers in the
    same words as one who does not exist (SPEC §2)."""
    try:
        members = services.resolve_recipients(
            current_user, form.recipients.data or "", ids, policy.visible_members(viewer)
        )
        policy.check_write_to(viewer, members)
    except ComcepError as error:
        form.recipients.errors.append(error.message)
    except NotFound:
        form.recipients.errors.append(UNKNOWN_RECIPIENT)
    else:
        return members
    return None


@bp.route("/messages/nouveau", methods=["GET", "POST"])
@login_required
@posting_limit
def new() -> ResponseReturnValue:
    viewer = current_viewer()
    form = NewConversationForm()
    ids = [i for i in request.values.getlist("a", type=int) if i]
    if form.validate_on_submit():
        recipients = _recipients(viewer, form, ids)
        if recipients is not None:
            conversation = services.start_conversation(
                current_user, recipients, form.subject.data, form.body.data
            )
            db.session.commit()
            flash("Votre message est envoyé.", "success")
            return redirect(url_for("messages.show", conversation_id=conversation.id))
    in_range = [i for i in ids if 0 < i <= services.MAX_ID]
    preset = [m for m in (find_visible_member(viewer, i) for i in in_range) if m]
    status = 400 if request.method == "POST" else 200
    return render_template(
        "messages/new.html",
        form=form,
        preset=preset,
        silenced_notice=policy.silenced_notice(viewer),
    ), status


@bp.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@login_required
@posting_limit
def show(conversation_id: int) -> ResponseReturnValue:
    viewer = current_viewer()
    conversation, people = queries.get_conversation_or_404(viewer, conversation_id)
    form = MessageReplyForm()
    if request.method == "POST":
        if form.validate_on_submit():
            # Participants answer one another whoever they may see elsewhere: the wall was
            # applied when the conversation was opened (else nobody could answer the
            # animatrice); what is left to check is the writer (silenced or not).
            policy.check_write_to(viewer, [])
            message = services.add_message(current_user, conversation, form.body.data)
            db.session.commit()
            flash("Votre réponse est envoyée.", "success")
            return redirect(
                url_for("messages.show", conversation_id=conversation.id, _anchor=f"m{message.id}")
            )
        return _show(conversation, people, form, AddParticipantsForm(), 400)
    page = _page(conversation, people)
    if _moves_read_mark(people, page):  # read up to what the page shows (the last page:
        services.mark_read_up_to(  # unread flag off); read again, it writes nothing
            current_user, conversation.id, page.messages[-1], last_page=page.is_last
        )
    db.session.commit()
    return _show(conversation, people, form, AddParticipantsForm(), 200, page)


@bp.post("/messages/<int:conversation_id>/participants")
@login_required
@posting_limit
def add_participants(conversation_id: int) -> ResponseReturnValue:
    """A participant brings in members they may write to (the wall, as for a new message)."""
    viewer = current_viewer()
    conversation, people = queries.get_conversation_or_404(viewer, conversation_id)
    form = AddParticipantsForm()
    members = _recipients(viewer, form, []) if form.validate_on_submit() else None
    if members is not None:
        try:
            added = services.add_participants(conversation, members, people.current)
        except ComcepError as error:
            form.recipients.errors.append(error.message)
        else:
            db.session.commit()
            names = ", ".join(m.display_name for m in added)
            flash(f"Ajouté(s) à la conversation : {names}.", "success")
            return redirect(url_for("messages.show", conversation_id=conversation.id))
    db.session.rollback()
    return _show(conversation, people, MessageReplyForm(formdata=None), form, 400)


@bp.post("/messages/<int:conversation_id>/quitter")
@login_required
def leave(conversation_id: int) -> ResponseReturnValue:
    """A participant leaves: the conversation is no longer theirs until someone adds them."""
    conversation, _ = queries.get_conversation_or_404(current_viewer(), conversation_id)
    services.leave(current_user, conversation)  # CSRF is checked for every POST
    db.session.commit()
    flash(
        f"Vous avez quitté la conversation « {conversation.subject} ». "
        "Un participant peut vous y ajouter à nouveau.",
        "success",
    )
    return redirect(url_for("messages.index"))


def _key_arg(name: str) -> int | None:
    """A message id from the query string (`avant`, `depuis`); None when absent or odd."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= services.MAX_ID else None


def _moves_read_mark(people: People, page: queries.MessagePage) -> bool:
    """Whether the page shows the reader something past their read mark, or is the last
    page of a conversation still counted unread for them (`services.mark_read_up_to`).
    Never when unread messages lie before the page (an e-mail's link to a later message):
    the mark is one date, and moving it would mark them read unseen."""
    if not page.messages or page.unread_before:
        return False
    read_at = people.read_at.get(current_user.id)
    behind = read_at is None or read_at < page.messages[-1].created_at
    return behind or (page.is_last and people.unread.get(current_user.id, False))


def _page(conversation: Conversation, people: People) -> queries.MessagePage:
    """The page asked for (`?avant=` the messages before one, `?depuis=` from one on, as
    a link to a message asks), else the one holding the reader's first unread message."""
    before, since = _key_arg("avant"), _key_arg("depuis")
    return queries.message_page(
        conversation.id,
        people.read_at.get(current_user.id),
        current_app.config["MESSAGES_PER_PAGE"],
        before=before,
        since=since if before is None else None,
    )


def _show(
    conversation: Conversation,
    people: People,
    form: MessageReplyForm,
    add_form: AddParticipantsForm,
    status: int,
    page: queries.MessagePage | None = None,
) -> ResponseReturnValue:
    viewer = current_viewer()
    if page is None:
        page = _page(conversation, people)
    everyone = [m.id for m in people.current + people.former]
    return render_template(
        "messages/show.html",
        conversation=conversation,
        participants=people.current,
        former=people.former,
        # Names link to the profiles the reader may open (a hors pair: those who posted
        # where it reads); the others are plain names.
        profiles=policy.visible_member_ids(viewer, everyone),
        messages=page.messages,
        page=page,
        form=form,
        add_form=add_form,
        leave_form=LeaveConversationForm(formdata=None),
        silenced_notice=policy.silenced_notice(viewer),
    ), status
