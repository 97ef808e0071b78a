"""Reports, the moderation log and site settings. Nothing here is ever hard-deleted."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comcep.extensions import UTCDateTime, db
from comcep.members.models import Member

REPORT_REASONS = {
    "off_topic": "Hors sujet",
    "inappropriate": "Contenu inapproprié",
    "personal_data": "Données personnelles d'un bénéficiaire",
    "spam": "Spam ou publicité",
    "other": "Autre raison",
}
# Reasons of the reports the site files itself (never offered to members).
REVIEW_REASONS = {"corrected": "Corrigé par son auteur après masquage : à revoir"}
RESOLUTIONS = {"kept": "conservé", "hidden": "masqué", "edited": "modifié"}
# What the journal shows for each `ModerationLog.action` (an unknown one shows as stored).
ACTION_LABELS = {
    "hide_post": "Message masqué",
    "refuse_post": "Message refusé (pré-modération)",
    "restore_post": "Message restauré ou validé",
    "hide_revisions": "Versions précédentes d'un message masquées",
    "restore_revisions": "Versions précédentes d'un message de nouveau visibles",
    "hide_message": "Message privé masqué",
    "hide_member_posts": "Messages d'un membre retirés à sa demande",
    "keep_message": "Message privé conservé",
    "report_kept": "Signalement clos : message conservé",
    "report_hidden": "Signalement clos : message masqué",
    "report_edited": "Signalement clos : message modifié",
    "lock": "Sujet verrouillé",
    "unlock": "Sujet déverrouillé",
    "pin": "Sujet épinglé",
    "announce": "Sujet épinglé comme annonce",
    "unpin": "Sujet désépinglé",
    "rename": "Sujet renommé",
    "move": "Sujet déplacé",
    "split": "Sujet divisé",
    "merge": "Sujets fusionnés",
    "relay": "Sujet relayé aux pairs",
    "solution": "Réponse retenue",
    "suspend": "Membre suspendu",
    "unsuspend": "Suspension levée",
    "silence": "Membre en lecture seule",
    "unsilence": "Lecture seule levée",
    "update_member": "Profil de membre modifié",
    "approve_registration": "Inscription acceptée",
    "refuse_registration": "Inscription refusée",
    "invite": "Invitation envoyée",
    "resend_invitation": "Invitation renvoyée",
    "revoke_invitation": "Invitation retirée",
    "anonymise": "Compte anonymisé",
    "settings": "Réglages du site",
    "retry_parked": "Tâches en échec remises en file",
    "network_create": "Réseau ou organisation créé",
    "network_update": "Réseau ou organisation modifié",
    "category_create": "Rubrique créée",
    "category_update": "Rubrique modifiée",
    "tag_create": "Mot-clé créé",
    "tag_rename": "Mot-clé renommé",
    "tag_merge": "Mots-clés fusionnés",
    "tag_retire": "Mot-clé retiré",
    "tag_restore": "Mot-clé rétabli",
}


class Report(db.Model):
    """A member's flag on a post (« signaler »), open until the animatrice decides."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_status_post", "status", "post_id"),
        # The few open reports, listed oldest first in the queue; the closed ones stay.
        Index(
            "ix_reports_open",
            "created_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("private_messages.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    resolution: Mapped[str] = mapped_column(String(10), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reporter: Mapped[Member | None] = relationship(foreign_keys=[reporter_id], lazy="raise")

    @property
    def reason_label(self) -> str:
        return REPORT_REASONS.get(self.reason) or REVIEW_REASONS.get(self.reason, self.reason)

    @property
    def resolution_label(self) -> str:
        return RESOLUTIONS.get(self.resolution, "en attente d'examen")


class ModerationLog(db.Model):
    """Who did what, when, on what and why (SPEC §6); visible to staff only."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[str] = mapped_column(String(20))  # post | topic | member | report
    target_id: Mapped[int] = mapped_column(Integer)
    topic_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    actor: Mapped[Member | None] = relationship(lazy="raise")

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def details_text(self) -> str:
        """The details kept with the action, in words for the journal (they are stored as
        JSON, keyed for the machine)."""
        try:
            details = json.loads(self.details) if self.details else {}
        except ValueError:
            return self.details
        if not isinstance(details, dict):
            return str(details)
        parts = []
        for key, value in details.items():
            label = DETAIL_LABELS.get(key, key.replace("_", " "))
            if isinstance(value, list):
                value = ", ".join(str(item) for item in value)
            elif isinstance(value, bool):
                value = "oui" if value else "non"
            parts.append(f"{label} : {value}")
        return " · ".join(parts)


# The keys of `ModerationLog.details`, in words (ids are those of the journal's « réf. »).
DETAIL_LABELS = {
    "avant": "avant",
    "de": "depuis la rubrique réf.",
    "vers": "vers la rubrique réf.",
    "fusionne_dans": "fusionné dans le sujet réf.",
    "jours": "jours",
    "nom": "nom",
    "nombre": "messages retirés",
    "nouveau_sujet": "nouveau sujet réf.",
    "messages": "messages réf.",
    "premoderation_posts": "premiers messages relus",
    "relais": "sujet relais réf.",
    "reports": "signalements réf.",
    "rubrique": "rubrique",
    "statut": "statut",
    "attachments_enabled": "pièces jointes",
    "accepts_solutions": "accepte les solutions",
    "read_only": "lecture seule",
    "staff_topics_only": "sujets ouverts par l'équipe seulement",
}


class Setting(db.Model):
    """A site setting changed by admins (e.g. how many first posts are pre-moderated)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
