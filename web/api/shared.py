"""A sharing profile's masked view over the API (#18).

A token bound to a profile (``sealtrail tokens create --profile supplier --recipient NAME``)
reads here, and nowhere else (web/api/auth.py), exactly the records a package of that profile
would hold, masked by the data dictionary; a supplier's token reads only its own lots. The people
who share records (rule ``share.view``) may preview a profile's view with ``profile=``. Every
read is audited (``share.viewed``).
"""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from audit.checkpoints import signing_key_for
from engine.errors import Forbidden, ValidationFailed
from engine.governance.profile_revisions import released_profile
from engine.governance.sharing import read_view, token_pseudonym_key
from web.api.auth import current_client
from web.api.common import SECURITY, json_response
from web.authz import rule
from web.db import transaction

TAG = Tag(name="sharing", description="A sharing profile's masked view, for tokens bound to that profile")


class SharedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lot: str | None = Field(None, min_length=1, max_length=200,
                            description="A lot number or GS1 string (supplier: one of the supplier's lots)")
    change: str | None = Field(None, min_length=1, max_length=50, description="A change request number")
    period: str | None = Field(None, min_length=1, max_length=30, description="YYYY-MM-DD..YYYY-MM-DD")
    profile: str | None = Field(None, min_length=1, max_length=40,
                                description="Sessions only: the profile to preview (a token's is fixed)")
    recipient: str | None = Field(None, min_length=1, max_length=200,
                                  description="Sessions only: preview as this recipient (a supplier's name)")


class AnyObject(BaseModel):
    model_config = ConfigDict(extra="allow")


def shared(func):
    """Mark a view as readable by a profile-bound token (checked in web/api/auth.py)."""
    func.shared_view = True
    return func


def routes(api: APIBlueprint) -> None:
    @api.get("/shared", tags=[TAG], security=SECURITY, responses={200: AnyObject},
             summary="The masked records a sharing profile allows for one lot, change or period "
                     "(as a sharing package holds them; personal data pseudonymised per the data dictionary)")
    @rule("share.view")
    @shared
    def shared_view(query: SharedQuery):
        client = current_client()
        # Who may read comes before what was asked: an unbound token learns nothing of the query rules.
        if client.via == "token" and not client.share_profile:
            raise Forbidden("this token is not bound to a sharing profile", field="share_profile")
        chosen = [(k, v) for k, v in (("lot", query.lot), ("change", query.change), ("period", query.period)) if v]
        if len(chosen) != 1:
            raise ValidationFailed("give exactly one of lot, change, period", field="lot")
        if client.via == "token":
            if query.profile or query.recipient:
                raise ValidationFailed("a token's profile and recipient are fixed when it is created",
                                       field="profile" if query.profile else "recipient")
            profile_name, recipient, context = client.share_profile, client.share_recipient, client.token_public_id
        else:
            if not query.profile:
                raise ValidationFailed("name the profile to preview", field="profile")
            profile_name, recipient, context = query.profile, query.recipient, f"preview:{client.actor.id}"
        settings = current_app.extensions["sealtrail.settings"]
        with transaction() as session:
            profile = released_profile(session, profile_name)  # the released revision, never a draft
            key = token_pseudonym_key(signing_key_for(session, settings.checkpoint_key_path), context)
            body = read_view(session, client.actor, profile, chosen[0], pseudonym_key=key, recipient=recipient)
        return json_response(body)
