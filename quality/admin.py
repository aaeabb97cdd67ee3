from django.contrib import admin

from quality.models import QcDecision, QcGate


@admin.register(QcGate)
class QcGateAdmin(admin.ModelAdmin):
    list_display = ("gate_number", "__str__", "scenario", "gate_type", "is_ccp")
    list_filter = ("scenario", "gate_type", "is_ccp")
    search_fields = ("gate_number",)


@admin.register(QcDecision)
class QcDecisionAdmin(admin.ModelAdmin):
    list_display = ("decided_at", "lot", "decision", "qc_gate", "operator", "temperature_c")
    list_filter = ("decision",)
    search_fields = ("lot__lot_code",)
    list_select_related = ("lot", "qc_gate", "operator")

    # An audit log: nobody edits or deletes a decision here (the database refuses it too).
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
