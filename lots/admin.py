"""Lots in the admin: filtered lists, a lot's page with its genealogy drawn as a picture and its
suspect state, the "Run mock recall" action, and the read-only list of mock-recall drills."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.roles import STAFF_ROLES
from flowviz.core.admin import ReadOnlyAdminMixin, ServiceWriteAdminMixin
from lots.changes import genealogy_changed
from lots.drills import DRILL_FILES, drill_file_name, drill_summary, recall_drill_run
from lots.models import Lot, LotGenealogy, RecallDrill
from lots.selectors import lot_graph, lot_suspicion_causes, suspect_lot_condition
from lots.services import (
    genealogy_link_add,
    genealogy_link_delete,
    genealogy_link_update,
    lot_create,
    lot_update,
)
from lots.svg import genealogy_svg

# How far the picture reaches each way, and how many lots a column shows before collapsing.
PICTURE_DEPTH = 3
PICTURE_COLUMN_LIMIT = 12


def _lot_admin_url(lot_id) -> str:
    return reverse("admin:lots_lot_change", args=[lot_id])


def lot_genealogy_picture(lot: Lot) -> str:
    """The SVG of the lot's genealogy, coloured by each lot's latest decision, suspect lots
    marked (one query: the graph's nodes carry both)."""
    # One step further than drawn, to tell whether the genealogy goes on beyond the picture.
    graph = lot_graph(lot_code=lot.lot_code, max_depth=PICTURE_DEPTH + 1)
    return genealogy_svg(
        graph,
        decisions={node.lot.pk: node.qc_status for node in graph.nodes if node.qc_status},
        suspects={node.lot.pk: node.held_by for node in graph.nodes if node.held_by},
        href=_lot_admin_url,
        max_depth=PICTURE_DEPTH,
        max_per_column=PICTURE_COLUMN_LIMIT,
    )


class SuspectFilter(admin.SimpleListFilter):
    """Lots made, at any depth, from a lot that is on HOLD or FAILed."""

    title = "suspect"
    parameter_name = "suspect"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(suspect_lot_condition())
        if self.value() == "no":
            return queryset.exclude(suspect_lot_condition())
        return queryset


def _may_run_mock_recalls(request) -> bool:
    # Who may read recall reports over the API (ADMIN, MANAGER, AUDITOR) may run drills here.
    return request.user.is_active and (request.user.is_superuser or request.user.role in STAFF_ROLES)


@admin.register(Lot)
class LotAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    list_display = (
        "lot_code",
        "lot_type",
        "weight_kg",
        "temperature_c",
        "production_run",
        "phase",
        "created_at",
        "suspect",
    )
    list_filter = (SuspectFilter, "lot_type", "production_run", "phase", "created_at")
    actions = ["run_mock_recall"]
    search_fields = ("lot_code",)
    list_select_related = ("production_run", "phase")
    date_hierarchy = "created_at"
    autocomplete_fields = ("production_run", "phase", "operator")
    # created_at is the database's (as for the API's lots).
    readonly_fields = ("id", "created_at")
    fields = (
        "id",
        "lot_code",
        "lot_type",
        "production_run",
        "phase",
        "operator",
        "weight_kg",
        "temperature_c",
        "metadata",
        "created_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_suspect=suspect_lot_condition())

    @admin.display(boolean=True, description="suspect")
    def suspect(self, lot: Lot) -> bool:
        return lot.is_suspect

    def change_view(self, request, object_id, form_url="", extra_context=None):
        lot = self.get_object(request, unquote(object_id))
        if lot is not None and self.has_view_or_change_permission(request, lot):
            extra_context = {
                **(extra_context or {}),
                "parent_links": LotGenealogy.objects.filter(child_lot=lot)
                .select_related("parent_lot")
                .order_by("parent_lot__lot_code"),
                "child_links": LotGenealogy.objects.filter(parent_lot=lot)
                .select_related("child_lot")
                .order_by("child_lot__lot_code"),
                "qc_decisions": lot.qc_decisions.select_related("qc_gate", "operator").order_by(
                    "-decided_at"
                ),
                "genealogy_svg": lot_genealogy_picture(lot),
                "suspicion_causes": lot_suspicion_causes(lot_id=lot.pk),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def has_mock_recall_permission(self, request) -> bool:
        return _may_run_mock_recalls(request)

    @admin.action(description="Run mock recall", permissions=["mock_recall"])
    def run_mock_recall(self, request, queryset):
        """A timed mock recall of each selected lot, recorded as a drill (see lots.drills)."""
        for code in queryset.order_by("lot_code").values_list("lot_code", flat=True):
            try:
                drill = recall_drill_run(lot_code=code, source="admin", actor=request.user)
            except Lot.DoesNotExist:
                self.message_user(request, f"Lot {code} no longer exists", messages.WARNING)
                continue
            url = reverse("admin:lots_recalldrill_change", args=[drill.pk])
            self.message_user(
                request,
                format_html('{} (<a href="{}">drill</a>)', drill_summary(drill), url),
                messages.SUCCESS,
            )

    # Adding a lot is the API's lot_create; an edit is lot_update (its row locked like a
    # consumer's, the weight never below what its children drew). Both retire cached answers.
    def service_save(self, request, form, change):
        fields = {
            name: form.cleaned_data[name]
            for name in ("lot_code", "lot_type", "weight_kg", "temperature_c", "metadata")
            if name in form.cleaned_data
        }
        refs = {
            f"{name}_id": getattr(form.cleaned_data.get(name), "pk", None)
            for name in ("production_run", "phase", "operator")
            if name in form.cleaned_data
        }
        if change:
            return lot_update(lot_id=form.instance.pk, **fields, **refs)
        return lot_create(actor=request.user, **fields, **refs)

    def service_delete(self, request, obj):
        genealogy_changed(lot_ids=[obj.pk], removing=True)
        obj.delete()


@admin.register(LotGenealogy)
class LotGenealogyAdmin(ServiceWriteAdminMixin, admin.ModelAdmin):
    """Genealogy links. Every write is a service's, with the API's rules and locks: no cycle,
    no HOLD/FAIL or suspect parent, the parent's mass balance (lots.services)."""

    list_display = ("parent_lot", "child_lot", "quantity_used_kg", "linked_at")
    search_fields = ("parent_lot__lot_code", "child_lot__lot_code")
    list_select_related = ("parent_lot", "child_lot")
    autocomplete_fields = ("parent_lot", "child_lot")
    date_hierarchy = "linked_at"
    fields = ("parent_lot", "child_lot", "quantity_used_kg", "linked_at")
    readonly_fields = ("linked_at",)

    def service_save(self, request, form, change):
        link = {
            "parent_lot_id": form.cleaned_data["parent_lot"].pk,
            "child_lot_id": form.cleaned_data["child_lot"].pk,
            "quantity_used_kg": form.cleaned_data.get("quantity_used_kg"),
            "actor": request.user,
        }
        if change:
            return genealogy_link_update(link_id=form.instance.pk, **link)
        return genealogy_link_add(**link)

    def service_delete(self, request, obj):
        genealogy_link_delete(link_id=obj.pk)


# What a drill found, in the list and on its page.
_DRILL_FIGURES = (
    "duration_ms",
    "genealogy_lot_count",
    "fg_lot_count",
    "fg_weight_kg",
    "accounted_percent",
    "weights_known",
)


@admin.register(RecallDrill)
class RecallDrillAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Mock-recall drills: a read-only record (nobody adds, edits or deletes one here; drills
    are run from a lot's list or with `manage.py mock_recall`), each file downloadable again."""

    list_display = ("started_at", "lot_code", "run_by_name", "source", *_DRILL_FIGURES)
    list_filter = ("source", "weights_known", "started_at")
    search_fields = ("lot_code", "run_by_name")
    date_hierarchy = "started_at"
    fields = ("id", "lot", "lot_code", "run_by", "run_by_name", "source", "started_at")
    fields = (*fields, *_DRILL_FIGURES, "files")
    readonly_fields = fields

    @admin.display(description="files")
    def files(self, drill: RecallDrill) -> str:
        return format_html_join(
            " · ",
            '<a href="{}" download>{}</a>',
            (
                (
                    reverse("admin:lots_recalldrill_download", args=[drill.pk, name]),
                    drill_file_name(drill, name),
                )
                for name in DRILL_FILES
            ),
        )

    def get_urls(self):
        download = path(
            "<uuid:object_id>/download/<str:name>/",
            self.admin_site.admin_view(self.download_view),
            name="lots_recalldrill_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, object_id, name: str) -> HttpResponse:
        drill = self.get_object(request, str(object_id))
        if drill is None or name not in DRILL_FILES:
            raise Http404("No such drill file")
        if not self.has_view_permission(request, drill):
            raise PermissionDenied
        spec = DRILL_FILES[name]
        response = HttpResponse(getattr(drill, spec.field), content_type=spec.content_type)
        response["Content-Disposition"] = f'attachment; filename="{drill_file_name(drill, name)}"'
        return response
