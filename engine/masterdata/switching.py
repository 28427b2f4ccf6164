"""Switching between normal, tightened and reduced inspection by an inspection's history (ISO
2859-1:1999 clause 9.3), with the switching score of 9.3.3. Normal inspection at the start.

- normal → tightened (9.3.2): 2 of 5 or fewer consecutive lots on normal inspection not accepted;
- tightened → normal (9.3.2): 5 consecutive lots accepted on tightened inspection;
- 5 lots not accepted while on tightened inspection (9.4): ``discontinued`` until corrected;
- the switching score (9.3.3.2, single sampling) starts at 0 with normal inspection and is updated
  after every lot on normal inspection: where the plan's Ac is 0 or 1, +2 if the lot was accepted,
  else back to 0; where Ac is 2 or more, +3 if the lot would have been accepted had the AQL been one
  step tighter (its nonconforming count within the Ac of Table 2-A's plan for the same code letter,
  hence the same sample, one AQL column to the left), else back to 0;
- normal → reduced (9.3.3): switching score at least 30, production steady, and reduced inspection
  considered desirable by the responsible authority. The last two are one decision here: the
  inspection item's ``reduced_inspection_approved``, released through change control like the rest
  of the routing (docs/governance.md). Nothing switches to reduced without it;
- reduced → normal (9.3.4): a lot not accepted, or the approval withdrawn (a released revision of
  the item without it: production irregular or delayed, or other conditions warranting normal).

Sources for these rules (the standard itself is not public): sqconline.com, "Switching Rules
(ISO 2859-1)" (reduced from a switching score of at least 30; back to normal when 1 lot is not
accepted; 2 of 5, 5 consecutive accepted, 5 not accepted on tightened); aqlrule.com, AQL Inspection
Manual, "Switching Procedures", ISO version (the score set to 0 at the start of normal inspection
and updated after each lot on original normal inspection; reduced also requires the responsible
authority); and a public implementation of GB/T 2828.1-2012 (identical to ISO 2859-1:1999) whose
clause 9.3.3.2 notes compare the lot's count with the Ac of the plan one AQL step tighter and give
+2 where Ac is 0 or 1.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from engine.masterdata import sampling

REDUCED_FROM = 30  # switching score that allows reduced inspection (9.3.3)


@dataclass(frozen=True)
class LotOutcome:
    """One earlier lot of the inspection, oldest first."""

    accepted: bool
    defects: int | None = None          # nonconforming units found in its sample
    plan: dict | None = None            # the plan it was judged by (SamplingPlan.as_dict())
    reduced_approved: bool = False      # reduced inspection approved on the item it was inspected by


@dataclass(frozen=True)
class Switching:
    """The severity for the next lot, and why: ``reason`` is a code, ``detail`` its numbers."""

    severity: str                       # normal, tightened, reduced or discontinued
    reason: str
    score: int | None = None            # the switching score while on normal inspection
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def score_after(score: int, lot: LotOutcome) -> int:
    """The switching score after a lot on normal inspection (9.3.3.2 a, single sampling)."""
    plan = lot.plan
    if not lot.accepted or plan is None or lot.defects is None:
        return 0  # a lot judged without an ISO plan earns nothing: the count restarts
    if plan["accept"] <= 1:
        return score + 2
    tighter = sampling.tighter_accept(plan["plan_letter"], plan["aql"])
    return score + 3 if tighter is not None and lot.defects <= tighter else 0


@dataclass
class _State:
    severity: str = "normal"
    reason: str = "start"
    score: int = 0
    recent: list = field(default_factory=list)
    rejected_on_tightened: int = 0
    detail: dict = field(default_factory=dict)

    def enter(self, severity: str, reason: str, **detail) -> None:
        self.severity, self.reason, self.detail = severity, reason, detail
        self.score, self.recent, self.rejected_on_tightened = 0, [], 0


def _approval(state: _State, approved: bool) -> None:
    """Before a lot: reduced from a score of 30 if approved; back to normal if the approval was withdrawn."""
    if state.severity == "normal" and state.score >= REDUCED_FROM and approved:
        state.enter("reduced", "score_reached", score=state.score)
    elif state.severity == "reduced" and not approved:
        state.enter("normal", "approval_withdrawn")


def _after_lot(state: _State, lot: LotOutcome) -> None:
    if state.severity == "normal":
        state.recent = (state.recent + [lot.accepted])[-5:]
        state.score = score_after(state.score, lot)
        if state.recent.count(False) >= 2:
            state.enter("tightened", "two_of_five", rejected=2, lots=len(state.recent))
    elif state.severity == "tightened":
        state.recent.append(lot.accepted)
        state.rejected_on_tightened += 0 if lot.accepted else 1
        if state.rejected_on_tightened >= 5:
            state.enter("discontinued", "five_rejected_on_tightened")
        elif len(state.recent) >= 5 and all(state.recent[-5:]):
            state.enter("normal", "five_accepted")
    elif not lot.accepted:  # reduced
        state.enter("normal", "not_accepted_on_reduced")


def next_severity(history: list[LotOutcome], *, reduced_approved: bool = False) -> Switching:
    """The severity for the next lot after ``history`` (oldest first); ``reduced_approved``: the
    responsible authority's approval on the item the next lot is inspected by."""
    state = _State()
    for lot in history:
        _approval(state, lot.reduced_approved)
        _after_lot(state, lot)
        if state.severity == "discontinued":
            return Switching("discontinued", state.reason)
    _approval(state, reduced_approved)
    if state.severity == "tightened":
        accepted_run = len(state.recent) - max((i + 1 for i, ok in enumerate(state.recent) if not ok), default=0)
        return Switching("tightened", state.reason, None, {**state.detail, "accepted_in_a_row": accepted_run,
                                                            "rejected_on_tightened": state.rejected_on_tightened})
    if state.severity == "reduced":
        return Switching("reduced", state.reason, None, state.detail)
    reason = "score_not_approved" if state.score >= REDUCED_FROM else state.reason
    return Switching("normal", reason, state.score, {**state.detail, "needed": REDUCED_FROM})
