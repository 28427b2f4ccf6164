"""Quality processes on the master data and production records: change control with impact
analysis, deviations with lot holds and dispositions, CAPA, batch release by exception and the
periodic audit-trail review. BPMN reaches this package only through ``operations``.
"""
