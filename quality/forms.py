"""Admin forms of the quality app (the scenario page of the production admin uses the gate form too)."""

from __future__ import annotations

from django import forms

from flowviz.core.forms import BilingualField, LinesField
from quality.models import QcGate


class QcGateForm(forms.ModelForm):
    name = BilingualField()
    checklist = LinesField()

    class Meta:
        model = QcGate
        fields = ("gate_number", "name", "gate_type", "is_ccp", "checklist")
