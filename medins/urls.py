from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from carecare.urls import api_urlpatterns as care_api
from claims.certifications.urls import api_urlpatterns as certification_api
from claims.settlement.urls import api_urlpatterns as settlement_api
from claims.urls import api_urlpatterns as claims_api
from claims.urls import portal_urlpatterns
from enrollment.urls import api_urlpatterns as enrollment_api
from medins.api.quotes import QuoteView

api_v1 = [
    path("quotes/", QuoteView.as_view(), name="quote"),
    *enrollment_api,
    *claims_api,
    *settlement_api,
    *certification_api,
    *care_api,
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("portal/", include((portal_urlpatterns, "portal"), namespace="portal")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    # Both only for users who log in, any role (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs
    # page, which a person opens in a browser, sends an anonymous visitor to the login page.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
]
