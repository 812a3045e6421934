"""Forms for the account pages (validation only; writes go through services)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from ..models import ApiToken
from ..services.accounts import STAFF_ACTIONS


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets only.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.SUBMIT)


class KeyForm(forms.Form):
    public_key = forms.CharField(
        max_length=200, help_text="Base64 raw Ed25519 key or an 'ssh-ed25519 …' line."
    )
    name = forms.CharField(max_length=100, required=False)


class RevokeKeyForm(forms.Form):
    compromised_at = forms.DateTimeField(
        required=False,
        help_text="When the key may have leaked (UTC, e.g. 2025-06-01 12:00). Empty = now.",
    )


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=200)


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class SubmissionOrganisationForm(forms.Form):
    organisation = forms.SlugField(required=False)


class ModerateForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in STAFF_ACTIONS])
    note = forms.CharField(max_length=500, required=False)
