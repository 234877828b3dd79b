"""Claims routes: `api_urlpatterns` under /api/v1/, `portal_urlpatterns` under /portal/."""

api_urlpatterns = []
portal_urlpatterns = []
