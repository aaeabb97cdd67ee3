"""Lots in the admin: filtered lists, and a lot's page with its genealogy drawn as a picture."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.urls import reverse

from lots.changes import genealogy_changed, lot_edited
from lots.models import Lot, LotGenealogy
from lots.selectors import lot_graph, lot_latest_decisions
from lots.svg import genealogy_svg

# How far the picture reaches each way, and how many lots a column shows before collapsing.
PICTURE_DEPTH = 3
PICTURE_COLUMN_LIMIT = 12


def _lot_admin_url(lot_id) -> str:
    return reverse("admin:lots_lot_change", args=[lot_id])


def lot_genealogy_picture(lot: Lot) -> str:
    """The SVG of the lot's genealogy (two queries: the graph, the latest decisions)."""
    # One step further than drawn, to tell whether the genealogy goes on beyond the picture.
    graph = lot_graph(lot_code=lot.lot_code, max_depth=PICTURE_DEPTH + 1)
    decisions = lot_latest_decisions(lot_ids=[node.lot.pk for node in graph.nodes])
    return genealogy_svg(
        graph,
        decisions=decisions,
        href=_lot_admin_url,
        max_depth=PICTURE_DEPTH,
        max_per_column=PICTURE_COLUMN_LIMIT,
    )


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = (
        "lot_code",
        "lot_type",
        "weight_kg",
        "temperature_c",
        "production_run",
        "phase",
        "created_at",
    )
    list_filter = ("lot_type", "production_run", "phase", "created_at")
    search_fields = ("lot_code",)
    list_select_related = ("production_run", "phase")
    date_hierarchy = "created_at"
    autocomplete_fields = ("production_run", "phase", "operator")
    readonly_fields = ("id",)
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
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # Admin edits of a lot go through the same cache hook as the API's writes; a rename
    # also retires what is cached under the old code.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        lot_edited(lot_id=obj.pk, previous_lot_code=form.initial.get("lot_code") if change else None)

    def delete_model(self, request, obj):
        genealogy_changed(lot_ids=[obj.pk], removing=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        genealogy_changed(lot_ids=list(queryset.values_list("pk", flat=True)), removing=True)
        super().delete_queryset(request, queryset)


@admin.register(LotGenealogy)
class LotGenealogyAdmin(admin.ModelAdmin):
    list_display = ("parent_lot", "child_lot", "quantity_used_kg", "linked_at")
    search_fields = ("parent_lot__lot_code", "child_lot__lot_code")
    list_select_related = ("parent_lot", "child_lot")
    autocomplete_fields = ("parent_lot", "child_lot")
    date_hierarchy = "linked_at"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A link moved to other lots also changes the graphs of the lots it used to join:
        # walking from its former ends (still in the form's initial data) finds them.
        former_ends = [form.initial.get(name) for name in ("parent_lot", "child_lot")] if change else []
        genealogy_changed(lot_ids=[obj.parent_lot_id, obj.child_lot_id, *filter(None, former_ends)])

    def delete_model(self, request, obj):
        genealogy_changed(lot_ids=[obj.parent_lot_id, obj.child_lot_id], removing=True)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        lot_ids = [lot for pair in queryset.values_list("parent_lot_id", "child_lot_id") for lot in pair]
        genealogy_changed(lot_ids=lot_ids, removing=True)
        super().delete_queryset(request, queryset)
