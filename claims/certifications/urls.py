"""Certification routes under /api/v1/ (the hospitals' API; the schools' is in claims/urls.py)."""

from django.urls import path

from . import api

api_urlpatterns = [
    path("certifications/", api.HospitalApplicationListCreateView.as_view(), name="certification-list"),
    path("certifications/<int:pk>/", api.HospitalApplicationDetailView.as_view(), name="certification-detail"),
    path("certifications/<int:pk>/attachments/", api.HospitalApplicationAttachmentsView.as_view(),
         name="certification-attachments"),
    path("certifications/<int:pk>/resubmit/", api.HospitalApplicationResubmitView.as_view(),
         name="certification-resubmit"),
    path("certifications/<int:pk>/decision/", api.HospitalApplicationDecisionView.as_view(),
         name="certification-decision"),
]
