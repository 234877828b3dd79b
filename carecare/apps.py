from django.apps import AppConfig


class CarecareConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'carecare'
