from django import forms

from .verification import MAX_INPUT


class VerifyForm(forms.Form):
    credential = forms.CharField(
        label="Paste a credential (the signed JWT or the JSON) or its URL",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        max_length=MAX_INPUT,
    )
    file = forms.FileField(
        label="…or upload the credential file (.jwt or .json)",
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_INPUT:
                raise forms.ValidationError("That file is too large to be a credential.")
            try:
                cleaned["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError as error:
                raise forms.ValidationError("That file is not a credential (not text).") from error
        else:
            cleaned["text"] = cleaned.get("credential", "")
        if not cleaned["text"].strip() and not self.errors:
            raise forms.ValidationError("Paste a credential, upload its file or give its URL.")
        return cleaned


class SupervisorForm(forms.Form):
    supervisor_name = forms.CharField(label="Supervisor's name", max_length=150)
    institution = forms.CharField(label="Institution", max_length=200)
    supervisor_email = forms.EmailField(label="Supervisor's e-mail")


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why do you decline?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
