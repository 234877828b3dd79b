"""Long-term care routes, included under /api/v1/."""

from django.urls import path

from .api import AssessmentDetailView, AssessmentsView

api_urlpatterns = [
    path("care/assessments/", AssessmentsView.as_view(), name="care-assessments"),
    path("care/assessments/<int:pk>/", AssessmentDetailView.as_view(), name="care-assessment-detail"),
]
