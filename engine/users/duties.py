"""Who may do what on the shop floor and in its records, by role (admin holds every role).

Pages and the API check these server-side; BPMN lanes stay the roles of workflow tasks.
"""
from __future__ import annotations

PLAN_LOTS = ("production_manager",)
RUN_OPERATIONS = ("operator", "production_manager")
RECORD_INSPECTIONS = ("operator", "qa_engineer", "qa_manager")
LOG_EQUIPMENT = ("process_engineer", "production_manager", "qa_engineer")
RECORD_TRAINING = ("process_engineer", "production_manager", "qa_engineer", "qa_manager")
EDIT_MASTER_DATA = ("process_engineer",)
SHARE_RECORDS = ("qa_manager", "regulatory")  # sharing packages for suppliers and notified bodies (#18)
# Sharing profiles (#18): drafted by whoever shares records or owns master data; proposed for
# release by the change-control process's initiating lane (bpmn/change_control.bpmn).
EDIT_SHARE_PROFILES = ("qa_manager", "regulatory", "process_engineer")
PROPOSE_CHANGES = ("process_engineer",)
