"""The shapes of incoming production signals (pydantic): one definition serves the JSON API
(request validation and the OpenAPI document) and the MQTT bridge.

Numbers are strict JSON numbers (``JsonInt``/``StrictFloat``): ``true`` is not 1 and ``"5"``
is not 5 — a source that sends those has a bug we want to hear about, not a guess.
"""
from __future__ import annotations

import math
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, field_validator

from engine.jsonsafe import JsonInt

# Free text may not carry control characters (PostgreSQL refuses NUL; none belongs in a record).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
MESSAGE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class AlarmSource(BaseModel):
    """Where the alarm comes from."""

    model_config = ConfigDict(extra="forbid")

    line: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
                      examples=["L1"])
    equipment: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
                           examples=["SEALER-01"])


class AlarmIn(BaseModel):
    """One alarm event (OPC UA A&C / ISA-18.2 shaped)."""

    model_config = ConfigDict(extra="forbid")

    source: AlarmSource
    event_id: str | None = Field(None, min_length=1, max_length=255, pattern=PRINTABLE,
                                 description="The source's unique id of this event (OPC UA EventId); "
                                             "defaults to the Idempotency-Key.")
    code: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$",
                      examples=["TEMP_HIGH"])
    severity: JsonInt = Field(ge=1, le=1000, description="OPC UA severity, 1 (lowest) to 1000.")
    occurred_at: AwareDatetime = Field(description="When the condition occurred (RFC 3339 with offset).")
    message: str = Field("", max_length=1000, pattern=MESSAGE)
    lot: str | None = Field(None, min_length=1, max_length=64, pattern=PRINTABLE, description="Lot number affected.")
    operation: str | None = Field(None, min_length=1, max_length=64, pattern=PRINTABLE,
                                  description="Routing operation code.")
    parameter: str | None = Field(None, min_length=1, max_length=100, pattern=PRINTABLE)
    value: StrictFloat | None = None
    unit: str | None = Field(None, min_length=1, max_length=32, pattern=PRINTABLE)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00 has no UTC equivalent
            raise ValueError("is outside the representable time range") from exc

    def canonical(self) -> dict:
        """The payload as plain JSON values, for fingerprints and audit entries."""
        return self.model_dump(mode="json", exclude_none=True)


class MeasurementIn(BaseModel):
    """One measured process-parameter value of a lot at a routing operation."""

    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=64, pattern=PRINTABLE, description="Lot number.")
    operation: str = Field(min_length=1, max_length=64, pattern=PRINTABLE,
                           description="Operation code in the lot's routing.")
    parameter: str = Field(min_length=1, max_length=100, pattern=PRINTABLE,
                           description="Parameter name at that operation.")
    value: StrictFloat
    unit: str | None = Field(None, min_length=1, max_length=32, pattern=PRINTABLE,
                             description="Unit of the value; converted to the parameter's unit (default: it).")
    measured_at: AwareDatetime | None = Field(None, description="When it was measured (default: now).")
    equipment: str | None = Field(None, min_length=1, max_length=64, pattern=PRINTABLE,
                                  description="Equipment code.")

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("measured_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("is outside the representable time range") from exc


class MeasurementBatchIn(BaseModel):
    """Up to 1000 measurements, stored all together or not at all."""

    model_config = ConfigDict(extra="forbid")

    measurements: list[MeasurementIn] = Field(min_length=1, max_length=1000)
