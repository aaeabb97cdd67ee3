from django.contrib import admin

from flowviz.core.admin import ReadOnlyAdminMixin
from quality.forms import QcGateForm
from quality.models import QcDecision, QcGate


@admin.register(QcGate)
class QcGateAdmin(admin.ModelAdmin):
    form = QcGateForm
    list_display = ("gate_number", "__str__", "scenario", "gate_type", "is_ccp")
    list_filter = ("scenario", "gate_type", "is_ccp")
    search_fields = ("name__en", "name__hu")
    list_select_related = ("scenario",)
    fields = ("scenario", "gate_number", "name", "gate_type", "is_ccp", "checklist")


@admin.register(QcDecision)
class QcDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The QC audit log: listed, filtered and viewed; decisions are made through the API.

    Nobody adds, edits or deletes a decision here, superusers included (PostgreSQL refuses
    UPDATE and DELETE of a row as well).
    """

    list_display = ("decided_at", "lot", "decision", "qc_gate", "operator", "temperature_c")
    list_filter = ("decision", "qc_gate", "decided_at", "operator")
    search_fields = ("lot__lot_code", "notes")
    list_select_related = ("lot", "qc_gate", "operator")
    date_hierarchy = "decided_at"
    fields = (
        "id",
        "lot",
        "decision",
        "qc_gate",
        "operator",
        "temperature_c",
        "notes",
        "digital_signature",
        "decided_at",
    )
    readonly_fields = fields
