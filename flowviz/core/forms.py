"""Form fields for the admin: bilingual texts as two inputs, lists as lines of text.

Used by the admin of quality (QC gates) and of production (scenarios, streams, phases).
"""

from __future__ import annotations

from django import forms
from django.forms.renderers import BaseRenderer, get_default_renderer
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

LANGUAGES = (("hu", "Hungarian"), ("en", "English"))

_ROW = (
    '<div class="bilingual-input" style="display:flex;gap:.4em;flex-wrap:wrap;align-items:flex-start">'
    "{}</div>"
)
_LABELLED_INPUT = (
    '<label style="display:flex;flex-direction:column;font-size:.85em;width:auto;min-width:0;'
    'padding:0;float:none"><span>{}</span>{}</label>'
)


class BilingualWidget(forms.MultiWidget):
    """Two inputs side by side, Hungarian then English, each labelled HU / EN, by a placeholder
    and by a title."""

    def __init__(self, *, multiline: bool = False, attrs: dict | None = None) -> None:
        widget = forms.Textarea if multiline else forms.TextInput
        extra = {"rows": 2, "cols": 40} if multiline else {"size": 28}
        widgets = {
            code: widget(attrs={**(attrs or {}), **extra, "placeholder": label, "title": label, "lang": code})
            for code, label in LANGUAGES
        }
        super().__init__(widgets, attrs)

    def render(
        self, name: str, value: object, attrs: dict | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        # Written here rather than in a template: Django's form renderer finds widget templates
        # only in installed apps, and this widget serves two apps (quality, production).
        renderer = renderer or get_default_renderer()
        subwidgets = self.get_context(name, value, attrs)["widget"]["subwidgets"]
        # Each input is rendered by Django's own (escaping) widget template, as MultiWidget does.
        rendered = [mark_safe(renderer.render(sub["template_name"], {"widget": sub})) for sub in subwidgets]  # noqa: S308
        inputs = format_html_join(
            "",
            _LABELLED_INPUT,
            ((code.upper(), html) for (code, _), html in zip(LANGUAGES, rendered, strict=True)),
        )
        return format_html(_ROW, inputs)

    def decompress(self, value: object) -> list[str]:
        if isinstance(value, dict):
            return [str(value.get(code) or "") for code, _ in LANGUAGES]
        if isinstance(value, str) and value:
            return [value, value]
        return ["", ""]


class BilingualField(forms.MultiValueField):
    """A `{"hu": ..., "en": ...}` JSON value edited as two texts.

    required=True needs both languages; an optional field left empty is stored as {}.
    """

    def __init__(self, *, required: bool = True, multiline: bool = False, **kwargs: object) -> None:
        fields = tuple(forms.CharField(required=required, label=label) for _, label in LANGUAGES)
        kwargs.setdefault("help_text", "Hungarian, English")
        super().__init__(
            fields,
            required=required,
            require_all_fields=required,
            widget=BilingualWidget(multiline=multiline),
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> dict[str, str]:
        texts = [text.strip() for text in data_list] if data_list else ["", ""]
        if not any(texts):
            return {}
        return {code: text for (code, _), text in zip(LANGUAGES, texts, strict=True)}


class LinesField(forms.CharField):
    """A JSON list of strings edited as a textarea, one item per line (blank lines dropped)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 40}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One item per line.")
        super().__init__(strip=False, **kwargs)

    def prepare_value(self, value: object) -> object:
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: object) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial: object, data: object) -> bool:
        return self.to_python(initial or []) != self.to_python(data)
