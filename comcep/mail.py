"""E-mail through the durable outbox: a message is a row written in the same transaction
as the action that causes it, sent after commit; an SMTP failure retries, never loses it.
E-mails built from the forum's content (notifications, digests) are built and sent by their
own outbox job or run instead (`send_mail_now`): retried, they are built again.

`COMCEP_MAIL_URL=smtp://host:port` sends over SMTP; without it each message is written as an
`.eml` file under `<instance>/mail/`.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from comcep import outbox
from comcep.extensions import UTCDateTime, db, utcnow

logger = logging.getLogger(__name__)

MAIL_KIND = "mail"
SENDER = "ComCEP <ne-pas-repondre@comcep.fr>"


class MailMessage(db.Model):
    """An e-mail to send (or sent: `sent_at`); kept so that nothing is sent twice."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(255), default="")
    list_unsubscribe: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def _rendered(recipient: str, subject: str, template: str, context: dict) -> MailMessage:
    """Render `templates/mail/<template>.txt` (and `.html`) as a row; an `unsubscribe_url`
    in the context also becomes a one-click List-Unsubscribe header."""
    context.setdefault("subject", subject)
    message = MailMessage(
        recipient=recipient,
        subject=subject,
        body_text=render_template(f"mail/{template}.txt", **context),
        body_html=render_template(f"mail/{template}.html", **context),
        message_id=make_msgid(domain="comcep.fr"),
        list_unsubscribe=str(context.get("unsubscribe_url") or ""),
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def queue_mail(recipient: str, subject: str, template: str, **context: object) -> MailMessage:
    """Render the message and queue it: sent after commit, retried as written until sent."""
    message = _rendered(recipient, subject, template, context)
    outbox.enqueue(MAIL_KIND, [message.id])
    return message


def send_mail_now(recipient: str, subject: str, template: str, **context: object) -> MailMessage:
    """Render the message and deliver it at once, recorded as sent. For e-mails built from
    the forum's content (notifications, digests): a delivery that fails raises, so that the
    caller's transaction, and what it claimed, roll back; retried, the e-mail is built again
    with the wall, the member's state and their choices of that moment, never resent as it
    was written before an SMTP outage."""
    message = _rendered(recipient, subject, template, context)
    _deliver(_as_email(message), message.id)
    message.sent_at = utcnow()
    return message


def _as_email(message: MailMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = SENDER
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    if message.list_unsubscribe:
        email["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


def _deliver(email: EmailMessage, message_id: int) -> None:
    url = current_app.config.get("MAIL_URL")
    if not url:
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{message_id:08d}.eml").write_bytes(bytes(email))
        return
    parts = urlsplit(url)
    with smtplib.SMTP(parts.hostname or "127.0.0.1", parts.port or 25, timeout=30) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(parts.username, parts.password or "")
        smtp.send_message(email)


def _send(message_ids: list[int]) -> None:
    for message in db.session.scalars(
        select(MailMessage).where(MailMessage.id.in_(message_ids), MailMessage.sent_at.is_(None))
    ):
        _deliver(_as_email(message), message.id)
        message.sent_at = utcnow()
        db.session.commit()  # one message at a time: a later failure never resends this one


outbox.register(MAIL_KIND, _send)


def send_pending() -> int:
    return outbox.process(kinds=(MAIL_KIND,))
