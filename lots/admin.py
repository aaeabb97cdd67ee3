from django.contrib import admin

from lots.models import Lot, LotGenealogy


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ("lot_code", "lot_type", "weight_kg", "temperature_c", "production_run", "created_at")
    list_filter = ("lot_type",)
    search_fields = ("lot_code",)
    list_select_related = ("production_run",)


@admin.register(LotGenealogy)
class LotGenealogyAdmin(admin.ModelAdmin):
    list_display = ("parent_lot", "child_lot", "quantity_used_kg", "linked_at")
    search_fields = ("parent_lot__lot_code", "child_lot__lot_code")
    list_select_related = ("parent_lot", "child_lot")
    raw_id_fields = ("parent_lot", "child_lot")
