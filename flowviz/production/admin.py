"""The managers' admin: a scenario's page edits its streams, QC gates and phases together."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.utils.html import format_html

from flowviz.core.forms import BilingualField
from flowviz.production.models import Phase, ProductionRun, Scenario, Stream
from flowviz.production.services import scenario_activate
from lots.models import Lot
from lots.runs import production_run_output
from quality.forms import QcGateForm
from quality.models import QcGate


class ScenarioForm(forms.ModelForm):
    name = BilingualField()
    # Not a model field of the form: activation goes through scenario_activate (which also
    # deactivates the other scenario), not through a plain save that the one-active rule refuses.
    active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="The active scenario is the one the factory runs; activating deactivates the others.",
    )

    class Meta:
        model = Scenario
        fields = ("name", "version", "config", "i18n")
        widgets = {"version": forms.TextInput(attrs={"size": 12})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["active"].initial = self.instance.is_active


class StreamForm(forms.ModelForm):
    name = BilingualField()

    class Meta:
        model = Stream
        fields = ("stream_key", "name", "color", "sort_order")
        widgets = {
            "stream_key": forms.TextInput(attrs={"size": 4}),
            "color": forms.TextInput(attrs={"size": 8, "placeholder": "#rrggbb"}),
        }


class PhaseForm(forms.ModelForm):
    name = BilingualField()
    description = BilingualField(required=False, multiline=True)

    class Meta:
        model = Phase
        fields = ("phase_number", "name", "description", "stream", "qc_gate")
        error_messages = {
            "stream": {"invalid_choice": "Choose one of this scenario's streams."},
            "qc_gate": {"invalid_choice": "Choose one of this scenario's QC gates."},
        }


class StreamInline(admin.TabularInline):
    model = Stream
    form = StreamForm
    extra = 0


class QcGateInline(admin.TabularInline):
    model = QcGate
    form = QcGateForm
    extra = 0


class PhaseInline(admin.StackedInline):
    model = Phase
    form = PhaseForm
    extra = 0
    classes = ("collapse",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only the scenario's own streams and gates are offered (a new scenario has none yet:
        # save it first, then link its phases). Phase.clean() checks the same rule.
        streams = Stream.objects.filter(scenario=obj) if obj else Stream.objects.none()
        gates = QcGate.objects.filter(scenario=obj) if obj else QcGate.objects.none()
        formset.form.base_fields["stream"].queryset = streams
        formset.form.base_fields["qc_gate"].queryset = gates
        if obj is None:
            help_text = "Save the scenario first; then its streams and gates can be chosen here."
            formset.form.base_fields["stream"].help_text = help_text
            formset.form.base_fields["qc_gate"].help_text = help_text
        return formset


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    form = ScenarioForm
    inlines = (StreamInline, QcGateInline, PhaseInline)
    list_display = (
        "__str__",
        "version",
        "is_active",
        "stream_count",
        "gate_count",
        "phase_count",
        "created_at",
    )
    list_filter = ("is_active",)
    search_fields = ("version", "name__en", "name__hu")
    readonly_fields = ("id", "created_at")
    fieldsets = (
        (None, {"fields": ("name", "version", "active")}),
        (
            "File data",
            {
                "classes": ("collapse",),
                "description": "Kept from the imported scenario file; exported back unchanged.",
                "fields": ("config", "i18n", "id", "created_at"),
            },
        ),
    )
    actions = ("activate",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                streams_n=Count("streams", distinct=True),
                gates_n=Count("qc_gates", distinct=True),
                phases_n=Count("phases", distinct=True),
            )
            .order_by("-created_at")
        )

    @admin.display(description="Active", boolean=True)
    def active(self, obj):
        # What a view-only user sees in place of the activation checkbox.
        return obj.is_active

    @admin.display(description="streams", ordering="streams_n")
    def stream_count(self, obj):
        return obj.streams_n

    @admin.display(description="QC gates", ordering="gates_n")
    def gate_count(self, obj):
        return obj.gates_n

    @admin.display(description="phases", ordering="phases_n")
    def phase_count(self, obj):
        return obj.phases_n

    def save_model(self, request, obj, form, change):
        # One active scenario: activating this one deactivates the others (one service).
        want_active = form.cleaned_data.get("active", obj.is_active)
        if not want_active:
            obj.is_active = False
        super().save_model(request, obj, form, change)
        if want_active and not obj.is_active:
            obj.is_active = scenario_activate(scenario_id=obj.pk).is_active

    @admin.action(
        description="Activate the selected scenario (deactivates the others)", permissions=["change"]
    )
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one scenario to activate.", messages.ERROR)
            return
        scenario = scenario_activate(scenario_id=queryset.get().pk)
        self.message_user(request, f"{scenario} is now the active scenario.", messages.SUCCESS)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    form = StreamForm
    list_display = ("stream_key", "__str__", "scenario", "colour_swatch", "sort_order")
    list_filter = ("scenario",)
    search_fields = ("stream_key", "name__en", "name__hu")
    list_select_related = ("scenario",)
    fields = ("scenario", "stream_key", "name", "color", "sort_order")

    @admin.display(description="colour", ordering="color")
    def colour_swatch(self, obj):
        if not obj.color:
            return "-"
        return format_html(
            '<span style="display:inline-block;width:1em;height:1em;background:{};'
            'vertical-align:middle;border:1px solid #888"></span> {}',
            obj.color,
            obj.color,
        )


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    form = PhaseForm
    list_display = ("phase_number", "__str__", "scenario", "stream", "qc_gate")
    list_filter = ("scenario",)
    search_fields = ("name__en", "name__hu")
    list_select_related = ("scenario", "stream", "qc_gate")
    fields = ("scenario", "phase_number", "name", "description", "stream", "qc_gate")


class RunLotInline(admin.TabularInline):
    """The run's lots, read-only: lots are registered through the API, not typed in here."""

    model = Lot
    fields = ("lot_code", "lot_type", "phase", "weight_kg", "temperature_c", "created_at")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    ordering = ("created_at",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProductionRun)
class ProductionRunAdmin(admin.ModelAdmin):
    list_display = (
        "run_code",
        "status",
        "scenario",
        "operator",
        "produced_list",
        "daily_target_kg",
        "started_at",
        "ended_at",
    )
    list_filter = ("status", "scenario", "started_at")
    search_fields = ("run_code",)
    list_select_related = ("scenario", "operator")
    date_hierarchy = "started_at"
    readonly_fields = ("id", "produced")
    fields = (
        "id",
        "run_code",
        "scenario",
        "operator",
        "status",
        "daily_target_kg",
        "produced",
        "started_at",
        "ended_at",
        "summary",
    )
    inlines = (RunLotInline,)

    def get_queryset(self, request):
        # An aggregate drops the model's default ordering; keep it for pagination/autocomplete.
        return (
            super().get_queryset(request).annotate(produced_kg=Sum("lots__weight_kg")).order_by("-started_at")
        )

    @admin.display(description="produced (kg)", ordering="produced_kg")
    def produced_list(self, obj):
        return f"{obj.produced_kg:.2f}" if obj.produced_kg is not None else "-"

    @admin.display(description="produced")
    def produced(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return str(production_run_output(obj))
