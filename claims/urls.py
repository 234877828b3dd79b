"""Claims routes: `api_urlpatterns` under /api/v1/, `portal_urlpatterns` under /portal/ (namespace "portal")."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import api, portal

api_urlpatterns = [
    path("school/batches/", api.BatchListCreateView.as_view(), name="school-batch-list"),
    path("school/batches/<int:pk>/", api.BatchDetailView.as_view(), name="school-batch-detail"),
    path("school/cases/", api.CaseListView.as_view(), name="school-case-list"),
    path("school/cases/<int:pk>/", api.CaseDetailView.as_view(), name="school-case-detail"),
    path("school/notices/", api.NoticeListView.as_view(), name="school-notice-list"),
    path("school/certifications/", api.SchoolCertificationListCreateView.as_view(), name="school-certification-list"),
    path("school/certifications/<int:pk>/", api.SchoolCertificationDetailView.as_view(),
         name="school-certification-detail"),
    path("school/certifications/<int:pk>/attachments/", api.SchoolCertificationAttachmentsView.as_view(),
         name="school-certification-attachments"),
    path("school/certifications/<int:pk>/resubmit/", api.SchoolCertificationResubmitView.as_view(),
         name="school-certification-resubmit"),
]
portal_urlpatterns = [
    path("", portal.home, name="home"),
    path("login/", portal.PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("upload/", portal.upload, name="upload"),
    path("upload/sample.csv", portal.sample, name="sample"),
    path("batches/<int:pk>/", portal.batch_detail, name="batch"),
    path("cases/<int:pk>/", portal.case_detail, name="case"),
    path("cases/<int:pk>/materials/", portal.case_materials, name="case-materials"),
    path("cases/<int:pk>/attachments/<int:attachment_pk>/", portal.attachment_download, name="attachment"),
    path("notices/<int:pk>/", portal.notice_detail, name="notice"),
    path("certifications/<int:pk>/", portal.certification_detail, name="certification"),
    path("certifications/<int:pk>/attachments/<int:attachment_pk>/", portal.certification_attachment,
         name="certification-attachment"),
]
