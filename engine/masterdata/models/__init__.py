"""Versioned process master data (see revisioned.py for the life cycle)."""
from engine.masterdata.models.documents import DOCUMENT_TYPES, Document, DocumentRevision
from engine.masterdata.models.products import Bom, BomLine, BomRevision, Product, ProductRevision
from engine.masterdata.models.resources import (
    EQUIPMENT_STATUSES, ITEM_TYPES, TOOLING_STATUSES, Equipment, Item, Tooling,
)
from engine.masterdata.models.revisioned import STATES, RevisionChild, RevisionMixin, committed_state
from engine.masterdata.models.routings import (
    InspectionItem, OperationDocument, OperationEquipment, OperationParameter, OperationTooling, Routing,
    RoutingOperation, RoutingRevision,
)

REVISION_CLASSES = (ProductRevision, BomRevision, RoutingRevision, DocumentRevision)

__all__ = [
    "Bom", "BomLine", "BomRevision", "DOCUMENT_TYPES", "Document", "DocumentRevision", "EQUIPMENT_STATUSES",
    "Equipment", "ITEM_TYPES", "InspectionItem", "Item", "OperationDocument", "OperationEquipment",
    "OperationParameter", "OperationTooling", "Product", "ProductRevision", "REVISION_CLASSES", "Routing",
    "RoutingOperation", "RoutingRevision", "RevisionChild", "RevisionMixin", "STATES", "TOOLING_STATUSES",
    "Tooling", "committed_state",
]
