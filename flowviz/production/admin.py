"""The managers' admin: a scenario's page edits its streams, QC gates and phases together;
Flow Editor designs with their versions, each version's graph drawn as a picture."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models
from django.db.models import Count, OuterRef, Subquery, Sum
from django.utils.html import format_html

from flowviz.core.admin import ServiceWriteAdminMixin
from flowviz.core.errors import Conflict, FieldInvalid, Refused
from flowviz.core.forms import BilingualField
from flowviz.http.errors import field_path
from flowviz.production import services
from flowviz.production.graphs import graph_validate
from flowviz.production.models import FlowDefinition, FlowVersion, Phase, ProductionRun, Scenario, Stream
from flowviz.production.services import scenario_activate
from flowviz.production.svg import flow_graph_svg
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


# --- Flow Editor designs -----------------------------------------------------------------------
# Every write goes through flowviz.production.services (the API's rules: a new flow starts with
# an empty draft, only drafts change, a published version is never deleted). Published and
# archived versions are shown read-only; a version's page draws its graph.


def _copy_saved(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's object the row a service saved (so redirects and log entries name it)."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _service_message(error: Exception) -> str:
    if isinstance(error, FieldInvalid):
        return f"{field_path(error.loc)}: {error.message}"
    return str(getattr(error, "message", error))


class FlowDefinitionForm(forms.ModelForm):
    name = BilingualField()

    class Meta:
        model = FlowDefinition
        fields = ("name", "description")


class FlowVersionInline(admin.TabularInline):
    """A flow's versions, newest first, each linking to its page (and picture)."""

    model = FlowVersion
    fields = ("version_num", "status", "published_at", "published_by", "created_by", "created_at")
    readonly_fields = fields
    ordering = ("-version_num",)
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FlowDefinition)
class FlowDefinitionAdmin(admin.ModelAdmin):
    form = FlowDefinitionForm
    inlines = (FlowVersionInline,)
    list_display = ("__str__", "latest_version", "version_count", "updated_at", "created_by")
    search_fields = ("name__en", "name__hu", "description")
    list_select_related = ("created_by",)
    readonly_fields = ("id", "created_by", "created_at", "updated_at")
    fields = ("name", "description", "id", "created_by", "created_at", "updated_at")

    def get_queryset(self, request):
        latest = FlowVersion.objects.filter(flow_definition=OuterRef("pk")).order_by("-version_num")
        return (
            super()
            .get_queryset(request)
            .annotate(
                versions_n=Count("versions"),
                latest_num=Subquery(latest.values("version_num")[:1]),
                latest_status=Subquery(latest.values("status")[:1]),
            )
            .order_by("-updated_at", "-id")
        )

    @admin.display(description="latest version", ordering="latest_num")
    def latest_version(self, obj):
        return "-" if obj.latest_num is None else f"v{obj.latest_num} ({obj.latest_status})"

    @admin.display(description="versions", ordering="versions_n")
    def version_count(self, obj):
        return obj.versions_n

    def get_actions(self, request):
        # Deleting goes through the flow's own page: one flow at a time, through the service.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # A flow that ever had a published version is a record: archive it instead.
        if obj is not None and obj.versions.filter(published_at__isnull=False).exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        fields = {"name": form.cleaned_data["name"], "description": form.cleaned_data["description"]}
        if change:
            saved = services.flow_definition_update(flow_id=obj.pk, **fields)
        else:
            saved = services.flow_definition_create(**fields, actor=request.user)
        _copy_saved(obj, saved)

    def delete_model(self, request, obj):
        services.flow_definition_delete(flow_id=obj.pk)


class FlowVersionForm(forms.ModelForm):
    class Meta:
        model = FlowVersion
        fields = ("graph_schema",)
        widgets = {"graph_schema": forms.Textarea(attrs={"rows": 16, "cols": 100, "spellcheck": "false"})}

    def clean_graph_schema(self):
        # The API's check (shape, ids, references), with its message naming the field.
        try:
            return graph_validate(self.cleaned_data["graph_schema"], loc=())
        except FieldInvalid as error:
            raise forms.ValidationError(_service_message(error)) from None


@admin.register(FlowVersion)
class FlowVersionAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    form = FlowVersionForm
    list_display = ("flow_definition", "version_num", "status", "published_at", "published_by", "created_at")
    list_filter = ("status", "published_at")
    search_fields = ("flow_definition__name__en", "flow_definition__name__hu")
    list_select_related = ("flow_definition", "published_by")
    ordering = ("flow_definition", "-version_num")
    readonly_fields = (
        "flow_definition",
        "version_num",
        "status",
        "created_by",
        "created_at",
        "published_at",
        "published_by",
    )
    fields = (*readonly_fields[:3], "graph_schema", *readonly_fields[3:])
    actions = ("publish", "archive", "fork")

    def has_add_permission(self, request):
        return False  # versions come from a new flow, a publish or a fork

    def has_change_permission(self, request, obj=None):
        # Published and archived versions are records: their page is read-only.
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_frozen)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or not obj.ever_published)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, unquote(object_id))
        if version is not None and self.has_view_or_change_permission(request, version):
            extra_context = {
                **(extra_context or {}),
                "flow_graph_svg": flow_graph_svg(version.graph_schema, title=str(version)),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # The API's service, its refusal (e.g. the version was published meanwhile) a form error.
    def service_save(self, request, form, change):
        version = form.instance
        return services.flow_version_graph_update(
            flow_id=version.flow_definition_id,
            version_num=version.version_num,
            graph_schema=form.cleaned_data["graph_schema"],
        )

    def service_delete(self, request, obj):
        services.flow_version_delete(flow_id=obj.flow_definition_id, version_num=obj.version_num)

    def delete_queryset(self, request, queryset):
        for version in queryset.order_by("flow_definition", "version_num"):
            self.delete_model(request, version)

    def _each(self, request, queryset, act, done: str) -> None:
        """Run a service for each selected version, reporting what it did or why it refused."""
        for version in queryset.select_related("flow_definition").order_by("flow_definition", "version_num"):
            try:
                act(flow_id=version.flow_definition_id, version_num=version.version_num)
            except (Conflict, Refused, FieldInvalid) as error:
                self.message_user(request, f"{version}: {_service_message(error)}", messages.ERROR)
            else:
                self.message_user(request, f"{version.flow_definition} v{version.version_num} {done}.")

    @admin.action(
        description="Publish the selected drafts (a new draft starts from each)", permissions=["change"]
    )
    def publish(self, request, queryset):
        def act(**version):
            services.flow_version_publish(**version, actor=request.user)

        self._each(request, queryset, act, "published")

    @admin.action(description="Archive the selected versions", permissions=["change"])
    def archive(self, request, queryset):
        self._each(request, queryset, services.flow_version_archive, "archived")

    @admin.action(description="Start a new draft from the selected version", permissions=["change"])
    def fork(self, request, queryset):
        def act(**version):
            services.flow_version_fork(**version, actor=request.user)

        self._each(request, queryset, act, "copied into a new draft")
