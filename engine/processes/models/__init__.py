"""Tables of the quality processes (migration ``0004_processes``)."""
from engine.processes.models.capa_model import Capa, CapaAction
from engine.processes.models.change_model import ChangeDeployment, ChangeRequest, ChangeRevision
from engine.processes.models.deviation_model import Deviation, DeviationLot, LotHold
from engine.processes.models.review_model import AuditReview, ReleaseException, ReleaseReview

__all__ = ["AuditReview", "Capa", "CapaAction", "ChangeDeployment", "ChangeRequest", "ChangeRevision", "Deviation", "DeviationLot",
           "LotHold", "ReleaseException", "ReleaseReview"]
