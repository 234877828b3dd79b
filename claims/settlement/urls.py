"""Settlement routes, included under /api/v1/."""

from django.urls import path

from .api import SignupsView, StatementListView, VisitsView

api_urlpatterns = [
    path("settlement/institutions/<str:region>/<str:code>/visits/", VisitsView.as_view(), name="settlement-visits"),
    path("settlement/institutions/<str:region>/<str:code>/signups/", SignupsView.as_view(), name="settlement-signups"),
    path("settlement/statements/", StatementListView.as_view(), name="settlement-statements"),
]
