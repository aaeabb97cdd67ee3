"""Lots in the admin: filtered lists, and a lot's page with its genealogy drawn as a picture and
its suspect state."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.urls import reverse

from lots.changes import genealogy_changed, lot_edited
from lots.models import Lot, LotGenealogy
from lots.selectors import lot_graph, lot_suspicion_causes, suspect_lot_condition
from lots.services import genealogy_links_edit
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
        "suspect",
    )
    list_filter = (SuspectFilter, "lot_type", "production_run", "phase", "created_at")
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

    # Links written here skip the consumption rules, so each write makes the suspicion of the
    # lots it touches exact again (lots.services.genealogy_links_edit: a link from a held lot
    # makes the child suspect, removing one may free it).
    def save_model(self, request, obj, form, change):
        # A link moved to other lots also changes the graphs of the lots it used to join:
        # walking from its former ends (still in the form's initial data) finds them.
        former_ends = [form.initial.get(name) for name in ("parent_lot", "child_lot")] if change else []
        ends = [obj.parent_lot_id, obj.child_lot_id, *filter(None, former_ends)]
        with genealogy_links_edit(lot_ids=ends):
            super().save_model(request, obj, form, change)
        genealogy_changed(lot_ids=ends)

    def delete_model(self, request, obj):
        ends = [obj.parent_lot_id, obj.child_lot_id]
        genealogy_changed(lot_ids=ends, removing=True)
        with genealogy_links_edit(lot_ids=ends):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        lot_ids = [lot for pair in queryset.values_list("parent_lot_id", "child_lot_id") for lot in pair]
        genealogy_changed(lot_ids=lot_ids, removing=True)
        with genealogy_links_edit(lot_ids=lot_ids):
            super().delete_queryset(request, queryset)
