"""Labels of installed apps whose wheels ship no compiled Chinese catalogue (django-celery-results
carries its .po only), listed here so that makemessages puts them in our catalogue and the admin
shows them in Chinese. Never imported; gettext_noop only marks them."""

from django.utils.translation import gettext_noop as _

CELERY_RESULTS = [
    _("Celery Results"), _("task result"), _("task results"), _("group result"), _("group results"),
    _("Task ID"), _("Periodic Task Name"), _("Task Name"), _("Task Positional Arguments"),
    _("Task Named Arguments"), _("Task State"), _("Worker"), _("Result Content Type"), _("Result Encoding"),
    _("Result Data"), _("Created DateTime"), _("Completed DateTime"), _("Traceback"), _("Task Meta Information"),
    _("Group ID"), _("Parameters"), _("Result"),
]
