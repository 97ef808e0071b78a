"""/pj/<id>/<filename>: downloads through the wall (a hidden file is a missing file)."""

from __future__ import annotations

from flask import Blueprint, abort, send_file
from flask.typing import ResponseReturnValue
from flask_login import login_required

from comcep.attachments.detect import named_as
from comcep.attachments.storage import get_storage
from comcep.forum import knowledge
from comcep.policy import current_viewer

bp = Blueprint("attachments", __name__)

# A downloaded file can never run script in our origin, even if a browser sniffs it.
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


# A picture's preview: a name with a slash, which no file's name has (`safe_filename`), so
# that a photo sent as « miniature.jpg » still opens whole from its own link.
THUMBNAIL = "apercu/miniature.jpg"


@bp.get("/pj/<int:attachment_id>/<path:filename>")
@login_required
def download(attachment_id: int, filename: str) -> ResponseReturnValue:
    attachment = knowledge.get_attachment_or_404(current_viewer(), attachment_id)
    thumbnail = filename == THUMBNAIL and attachment.thumbnail_key
    key = attachment.thumbnail_key if thumbnail else attachment.key
    path = get_storage().path(key)
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype="image/jpeg" if thumbnail else attachment.mime,
        as_attachment=not (thumbnail or attachment.is_image),
        download_name=named_as(attachment.filename, attachment.mime),
        conditional=True,
    )
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Asked again each time (a 304 when unchanged): a file kept fresh in the browser's cache
    # would still open after logging out on a shared computer, or once its post is hidden
    # or moved behind the wall.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
