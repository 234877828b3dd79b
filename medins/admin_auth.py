"""Users and groups in the admin with their permissions named in the reader's language (issue 14 item 4).

Django stores a permission's name once, in English, when the tables are migrated ("Can add log
entry"); the user and group pages showed those names. Here a permission is named when it is shown:
Django's four default permissions from the codename's action and the model's translated name
(「可添加 日志记录」), a model's own permissions (Meta.permissions, translated in the apps'
catalogues) by their name through gettext; the app and the model as the admin names them.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

DEFAULT_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def model_label(model) -> str:
    """A model's name as a reader reads it: its verbose name in the active language (through the
    catalogues also for third-party apps that give a plain English string), a history model
    (django-simple-history) as "history of …", an automatic many-to-many table as "owner: field"."""
    original = getattr(model, "instance_type", None)  # django-simple-history: the model whose history it keeps
    if original is not None and original is not model:
        return gettext("history of %(model)s") % {"model": model_label(original)}
    owner = model._meta.auto_created
    if owner:
        for field in owner._meta.many_to_many:
            if field.remote_field.through is model:
                return gettext("%(model)s: %(field)s") % {
                    "model": model_label(owner),
                    "field": gettext(str(field.verbose_name)),
                }
    return gettext(str(model._meta.verbose_name))


def app_label(app_label_: str) -> str:
    try:
        return gettext(str(apps.get_app_config(app_label_).verbose_name))
    except LookupError:
        return app_label_


def permission_name(permission) -> str:
    """The permission's own name ("可添加 日志记录"), without its app and model."""
    model = permission.content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is not None and action in DEFAULT_ACTIONS and model_name == model._meta.model_name:
        return str(DEFAULT_ACTIONS[action]) % {"model": model_label(model)}
    return gettext(permission.name)


def permission_label(permission) -> str:
    """ "app | model | permission", as Django lists permissions, in the reader's language."""
    content_type = permission.content_type
    model = content_type.model_class()
    return " | ".join(
        (
            app_label(content_type.app_label),
            model_label(model) if model else content_type.model,
            permission_name(permission),
        )
    )


class PermissionLabelsMixin:
    """The permission choosers of the user and group pages label each permission with permission_label."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name in ("permissions", "user_permissions"):
            field.label_from_instance = permission_label
        return field


class ReadableUserAdmin(PermissionLabelsMixin, UserAdmin):
    pass


class ReadableGroupAdmin(PermissionLabelsMixin, GroupAdmin):
    pass


for _model, _admin in ((User, ReadableUserAdmin), (Group, ReadableGroupAdmin)):
    registered = admin.site._registry.get(_model)
    if registered is not None:
        admin.site.unregister(_model)
    admin.site.register(_model, _admin)
