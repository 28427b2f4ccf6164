"""Alarm rules: read by any client; created and changed by signed-in QA (audited, with a reason)."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field

from engine.access.tokens import READ
from engine.ingest import rules
from engine.ingest.rules import AlarmRuleIn
from engine.jsonsafe import JsonInt
from web.api.auth import RULES_WRITE, current_client
from web.api.common import SECURITY, json_response, scope
from web.authz import rule
from web.db import transaction

TAG = Tag(name="alarm rules", description="Which alarms are ignored, logged, raise a deviation or hold the lot")


class RuleOut(AlarmRuleIn):
    id: int
    version: int


class RuleList(BaseModel):
    rules: list[RuleOut]


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: AlarmRuleIn
    reason: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")


class RuleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    changes: dict = Field(description="Fields of the rule to change (as in AlarmRuleIn).")
    reason: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")
    expected_version: JsonInt | None = Field(None, ge=1, le=2**31 - 1,
                                         description="Refuse (409) if someone changed the rule meanwhile.")


class RulePath(BaseModel):
    rule_id: int = Field(ge=1, le=2**31 - 1)


def _out(rule) -> dict:
    return rules._snapshot(rule) | {"id": rule.id}


def routes(api: APIBlueprint) -> None:
    @api.get("/alarm-rules", tags=[TAG], security=SECURITY, responses={200: RuleList},
             summary="The rules in evaluation order (first match wins; none → log)")
    @scope(READ)
    @rule("signed_in")
    def list_rules():
        with transaction() as session:
            answer = {"rules": [_out(r) for r in rules.list_rules(session)]}
        return json_response(answer)

    @api.post("/alarm-rules", tags=[TAG], security=SECURITY, responses={201: RuleOut},
              summary="Add a rule (signed-in QA only; audited with the reason)")
    @scope(RULES_WRITE)
    @rule("api.scoped")
    def create_rule(body: RuleCreate):
        with transaction() as session:
            rule = rules.create_rule(session, current_client().actor, body.rule.model_dump(), reason=body.reason)
            answer = _out(rule)
        return json_response(answer, 201)

    @api.patch("/alarm-rules/<int:rule_id>", tags=[TAG], security=SECURITY, responses={200: RuleOut},
               summary="Change a rule (signed-in QA only; audited with before, after and the reason)")
    @scope(RULES_WRITE)
    @rule("api.scoped")
    def change_rule(path: RulePath, body: RuleChange):
        with transaction() as session:
            rule = rules.update_rule(session, current_client().actor, path.rule_id, body.changes,
                                     reason=body.reason, expected_version=body.expected_version)
            answer = _out(rule)
        return json_response(answer)
