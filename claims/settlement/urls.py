"""Settlement routes, included under /api/v1/."""

from django.urls import path

from .api import (
    SignupsFileView,
    SignupsView,
    StatementListView,
    StaysFileView,
    StaysView,
    VisitsFileView,
    VisitsView,
)

api_urlpatterns = [
    path("settlement/institutions/<str:region>/<str:code>/visits/", VisitsView.as_view(), name="settlement-visits"),
    path("settlement/institutions/<str:region>/<str:code>/visits/file/", VisitsFileView.as_view(),
         name="settlement-visits-file"),
    path("settlement/institutions/<str:region>/<str:code>/stays/", StaysView.as_view(), name="settlement-stays"),
    path("settlement/institutions/<str:region>/<str:code>/stays/file/", StaysFileView.as_view(),
         name="settlement-stays-file"),
    path("settlement/institutions/<str:region>/<str:code>/signups/", SignupsView.as_view(), name="settlement-signups"),
    path("settlement/institutions/<str:region>/<str:code>/signups/file/", SignupsFileView.as_view(),
         name="settlement-signups-file"),
    path("settlement/statements/", StatementListView.as_view(), name="settlement-statements"),
]
