"""Settlement routes, included under /api/v1/."""

from django.urls import path

from .api import StatementListView, VisitsView

api_urlpatterns = [
    path("settlement/institutions/<str:region>/<str:code>/visits/", VisitsView.as_view(), name="settlement-visits"),
    path("settlement/statements/", StatementListView.as_view(), name="settlement-statements"),
]
