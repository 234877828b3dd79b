"""The project's admin site: Django's, with the home page of medins.home as its index."""

from __future__ import annotations

from django.contrib import admin


class AdminSite(admin.AdminSite):
    index_template = "admin/medins/home/index.html"

    def index(self, request, extra_context=None):
        from .page import home_cards

        extra_context = {**(extra_context or {}), "home_cards": home_cards(request)}
        extra_context["home_charts"] = any("chart" in card for card in extra_context["home_cards"])
        return super().index(request, extra_context)
