"""Admin building blocks shared by the apps' admins."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.http import Http404

from flowviz.core.errors import Conflict, FieldInvalid, Refused


class ReadOnlyAdminMixin:
    """For a ModelAdmin of a record nobody edits here (an audit log, a drill): it is listed and
    viewed, never added, changed or deleted, superusers included."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceWriteAdminMixin:
    """For a ModelAdmin whose writes are a service's (the API's rules, locks and messages).

    The admin saves a form only after it validated, and shows errors only while validating.
    So the service is called as the form's last validation step, inside the admin's
    transaction: a refusal (Conflict, Refused, FieldInvalid, ValidationError, a vanished row)
    becomes a form error, its savepoint rolled back, nothing saved; `save_model` then only
    takes over what the service wrote. Only for admins without inlines: an invalid inline
    would re-render the page after the service had written.

    Subclasses implement `service_save(request, form, change)` (returns the saved object) and,
    for deletions, `service_delete(request, obj)`.
    """

    def service_save(self, request, form, change: bool) -> models.Model:
        raise NotImplementedError

    def service_delete(self, request, obj: models.Model) -> None:
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceWriteForm(form_class):
            def _post_clean(self):
                # After the model's own validation (field values, uniqueness against the
                # stored rows), the service's rules, by writing.
                super()._post_clean()
                if self.errors:
                    return
                try:
                    with transaction.atomic():
                        saved = model_admin.service_save(request, self, change)
                except SERVICE_REFUSALS as error:
                    service_error_to_form(self, error)
                else:
                    self.instance = saved

        return ServiceWriteForm

    def save_model(self, request, obj, form, change):
        pass  # written by `service_save` when the form validated

    def save_form(self, request, form, change):
        return form.instance

    def save_related(self, request, form, formsets, change):
        pass  # no many-to-many fields or inlines: the service wrote everything

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self.service_delete(request, obj)


# What a service raises when it refuses a write (shown to the admin user, never a 500).
SERVICE_REFUSALS = (Conflict, Refused, FieldInvalid, ValidationError, Http404, ObjectDoesNotExist)


def service_error_to_form(form, error: Exception) -> None:
    """Put a service's refusal on the form: on the field it names when the form has it."""
    if isinstance(error, FieldInvalid):
        field = next((str(part) for part in reversed(error.loc) if str(part) in form.fields), None)
        form.add_error(field, error.message)
    elif isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
    elif isinstance(error, (Http404, ObjectDoesNotExist)):
        form.add_error(None, str(error) or "It no longer exists.")
    else:
        form.add_error(None, error.message)
