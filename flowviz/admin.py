from django.contrib import admin

from flowviz.models import Phase, ProductionRun, Scenario, Stream


@admin.register(Scenario)
class ScenarioAdmin(admin.ModelAdmin):
    list_display = ("__str__", "version", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("version", "name__en", "name__hu")


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("stream_key", "__str__", "scenario", "color", "sort_order")
    list_filter = ("scenario",)
    search_fields = ("stream_key",)


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ("phase_number", "__str__", "scenario", "stream", "qc_gate")
    list_filter = ("scenario",)
    search_fields = ("phase_number",)


@admin.register(ProductionRun)
class ProductionRunAdmin(admin.ModelAdmin):
    list_display = ("run_code", "status", "scenario", "operator", "daily_target_kg", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("run_code",)
