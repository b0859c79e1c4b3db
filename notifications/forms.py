from django import forms

from .kinds import grouped_kinds


def kind_field_name(kind: str) -> str:
    return "kind_" + kind.replace(".", "__")


class PreferencesForm(forms.Form):
    """E-mail on or off: altogether, and per kind (in-app notifications are always kept); only
    the kinds that people of the user's roles receive (``roles``, None: every kind)."""

    email_enabled = forms.BooleanField(
        required=False,
        label="Send me e-mail",
        help_text="Switch this off to get no e-mail at all; your inbox still gets everything.",
    )

    def __init__(self, *args, roles: set[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups: list[tuple[str, list[forms.BoundField]]] = []
        self.kind_for_field: dict[str, str] = {}
        for group, kinds in grouped_kinds(roles):
            bound = []
            for kind, label in kinds:
                name = kind_field_name(kind)
                self.fields[name] = forms.BooleanField(required=False, label=label)
                self.kind_for_field[name] = kind
                bound.append(self[name])
            self.groups.append((group, bound))

    def kinds(self) -> dict[str, bool]:
        return {kind: self.cleaned_data[name] for name, kind in self.kind_for_field.items()}
