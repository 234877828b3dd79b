"""Long-term care routes, included under /api/v1/."""

from django.urls import path

from .api import AssessmentDetailView, AssessmentsView, ClaimDetailView, ClaimsView

api_urlpatterns = [
    path("care/assessments/", AssessmentsView.as_view(), name="care-assessments"),
    path("care/assessments/<int:pk>/", AssessmentDetailView.as_view(), name="care-assessment-detail"),
    path("care/claims/", ClaimsView.as_view(), name="care-claims"),
    path("care/claims/<int:pk>/", ClaimDetailView.as_view(), name="care-claim-detail"),
]
