"""Tables of the quality processes (migration ``0004_processes``)."""
from engine.processes.models.capas import Capa, CapaAction
from engine.processes.models.changes import ChangeRequest, ChangeRevision
from engine.processes.models.deviations import Deviation, DeviationLot, LotHold
from engine.processes.models.reviews import AuditReview, ReleaseException, ReleaseReview

__all__ = ["AuditReview", "Capa", "CapaAction", "ChangeRequest", "ChangeRevision", "Deviation", "DeviationLot",
           "LotHold", "ReleaseException", "ReleaseReview"]
