"""Settlement routes, included under /api/v1/."""

api_urlpatterns = []
