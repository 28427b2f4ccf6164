"""What the editor's properties panel may offer: the forms, roles, signature meanings, service
operations and deployed processes a deployment accepts, and the panel's labels in the user's
language. Rendered into the editor page as JSON; the choices are the server's, not the script's."""
from __future__ import annotations

from audit.policy import MEANINGS
from engine.users.models import ROLES
from engine.workflows import operations
from flask_babel import gettext as _
from web.i18n import bilingual, meaning_label


def _labels() -> dict[str, str]:
    return {
        "name_en": _("Name (English)"), "name_zh": _("Name (Chinese)"),
        "group_task": _("Task: who, form, signature"), "group_lane": _("Lane"),
        "group_condition": _("Condition"), "group_script": _("Script"),
        "group_service": _("Service operation"), "group_call": _("Called process"),
        "group_prepost": _("Pre- and post-scripts"),
        "role": _("Role (lane)"), "role_help": _("The lane names the role whose members get this task."),
        "no_lane": _("(no lane)"), "no_role": _("(no role)"),
        "st-form": _("Form"), "no_form": _("(no form)"),
        "form_help": _("The JSON Schema form (forms/) the person fills in."),
        "st-meaning": _("Signature meaning"), "default_meaning": _("(default: performed)"),
        "st-meaning-expression": _("Meaning expression"),
        "meaning_expression_help": _('Python over the entries, e.g. "approved" if decision == "approve" else "rejected"'),
        "st-sod": _("Segregation of duties"),
        "sod_help": _("initiator and/or earlier task ids whose completer may not complete this task; none if none applies"),
        "st-due": _("Due in"), "due_help": _("ISO 8601 duration, e.g. P5D"),
        "st-condition": _("Condition (Python expression)"),
        "condition_help": _("Taken when true; the gateway's default flow is taken when no condition is."),
        "st-script": _("Script (Python)"), "st-prescript": _("Pre-script"), "st-postscript": _("Post-script"),
        "script_ok": _("Accepted by the script policy."), "line": _("line"),
        "st-operation": _("Operation"), "st-result": _("Result variable"), "none": _("(none)"),
        "st-called": _("Process"),
    }


def _translations() -> dict[str, str]:
    """bpmn-js panel strings in the user's language (the English keys are bpmn-js's own)."""
    keys = {"General": _("General"), "Name": _("Name"), "ID": _("ID"), "Documentation": _("Documentation"),
            "Element documentation": _("Element documentation"), "Timer": _("Timer"), "Type": _("Type"),
            "Value": _("Value"), "Date": _("Date"), "Duration": _("Duration"), "Cycle": _("Cycle"),
            "Message": _("Message"), "Multi-instance": _("Multi-instance"),
            "Process documentation": _("Process documentation"), "Signal": _("Signal"), "Error": _("Error"),
            # the panel header's element types
            "User Task": _("User Task"), "Service Task": _("Service Task"), "Script Task": _("Script Task"),
            "Business Rule Task": _("Business Rule Task"), "Call Activity": _("Call Activity"), "Task": _("Task"),
            "Sequence Flow": _("Sequence Flow"), "Exclusive Gateway": _("Exclusive Gateway"),
            "Parallel Gateway": _("Parallel Gateway"), "Start Event": _("Start Event"), "End Event": _("End Event"),
            "Timer Intermediate Catch Event": _("Timer Intermediate Catch Event"), "Lane": _("Lane"),
            "Participant": _("Participant"), "Collaboration": _("Collaboration")}
    return {k: v for k, v in keys.items() if v != k}


def editor_config(known_processes, form_names: list[str]) -> dict:
    """The panel's configuration; ``known_processes`` are the latest deployed versions,
    ``form_names`` the forms a task may name (files and stored forms)."""
    return {
        "forms": form_names,
        "roles": list(ROLES),
        "meanings": {m: meaning_label(m) for m in MEANINGS},
        "operations": operations.catalogue(),
        "processes": [{"id": v.process_id, "name": bilingual(v.name)} for v in known_processes],
        "labels": _labels(),
        "translations": _translations(),
        "timerWords": _timer_words(),
    }


def _timer_words() -> dict[str, str]:
    """The timer preview's words ("every %s", "after %s"; units) in the user's language."""
    return {"label": _("Reads:"), "every": _("every %s"), "times": _("%n times, every %s"), "after": _("after %s"),
            "on": _("on %s"), "computed": _("computed from the process data when the timer starts"),
            "invalid": _("not a valid ISO 8601 value"), "none": _("no value yet"),
            "years": _("years"), "months": _("months"), "weeks": _("weeks"), "days": _("days"),
            "hours": _("hours"), "minutes": _("minutes"), "seconds": _("seconds")}
