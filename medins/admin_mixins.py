"""Small admin mixins shared by the apps."""

from __future__ import annotations


class AdministratorOnly:
    """Operator accounts decide which tenant's data a user reads: only the administrator (a
    superuser) sees and changes them (issue #11 finding 4; medins.roles.ADMINISTRATOR_ONLY), with history."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
