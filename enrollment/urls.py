"""Enrollment API routes, meant to be included under /api/v1/ (see medins/urls.py)."""

from django.urls import path

from .api import EnrollmentPreviewView, PaymentCreateView, PersonCoverageView, PersonDetailView, PersonListView

api_urlpatterns = [
    path("enrollment/preview/", EnrollmentPreviewView.as_view(), name="enrollment-preview"),
    path("persons/", PersonListView.as_view(), name="person-list"),
    path("persons/<int:pk>/", PersonDetailView.as_view(), name="person-detail"),
    path("persons/<int:pk>/coverage/", PersonCoverageView.as_view(), name="person-coverage"),
    path("payments/", PaymentCreateView.as_view(), name="payment-create"),
]
