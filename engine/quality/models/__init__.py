"""Tables of the quality processes (migration ``0004_processes``)."""
from engine.quality.models.capas import Capa, CapaAction
from engine.quality.models.changes import ChangeRequest, ChangeRevision
from engine.quality.models.deviations import Deviation, DeviationLot, LotHold
from engine.quality.models.reviews import AuditReview, ReleaseException, ReleaseReview

__all__ = ["AuditReview", "Capa", "CapaAction", "ChangeRequest", "ChangeRevision", "Deviation", "DeviationLot",
           "LotHold", "ReleaseException", "ReleaseReview"]
