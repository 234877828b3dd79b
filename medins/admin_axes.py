"""django-axes' pages (login attempts, logins, failures) titled in the reader's language (issue 14 item 4):
its models name a record in English ("Access Log for admin @ …"). The technical values (user agent,
path, HTTP Accept header, form data) are shown as codes by the stylesheet (medins/static/medins/admin.css)."""

from __future__ import annotations

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .admin_mixins import CodeValuesFilter, RecordTitleMixin


class AxesTitleMixin(RecordTitleMixin):
    def get_list_filter(self, request):
        # the paths people logged in through are codes ("/admin/login/"), not words
        return [("path_info", CodeValuesFilter) if f == "path_info" else f for f in super().get_list_filter(request)]

    def record_title(self, obj):
        return gettext("%(username)s, %(time)s") % {
            "username": obj.username or "—",
            "time": date_format(timezone.localtime(obj.attempt_time), "DATETIME_FORMAT") if obj.attempt_time else "—",
        }


class AccessAttemptAdmin(AxesTitleMixin, axes_admin.AccessAttemptAdmin):
    # axes' columns without a translatable title
    @admin.display(description=_("login status"))
    def status(self, obj):
        return super().status(obj)

    @admin.display(description=_("expires at"))
    def expiration(self, obj):
        return super().expiration(obj)


class AccessLogAdmin(AxesTitleMixin, axes_admin.AccessLogAdmin):
    pass


class AccessFailureLogAdmin(AxesTitleMixin, axes_admin.AccessFailureLogAdmin):
    pass


for _model, _admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if _model in admin.site._registry:  # AXES_ENABLE_ADMIN: axes registers its own
        admin.site.unregister(_model)
        admin.site.register(_model, _admin)
