"""Labels of installed apps whose wheels ship no compiled Chinese catalogue (django-celery-results
carries its .po only), listed here so that makemessages puts them in our catalogue and the admin
shows them in Chinese. Never imported; gettext_noop only marks them."""

from django.utils.translation import gettext_noop as _

CELERY_RESULTS = [
    _("Celery Results"), _("task result"), _("task results"), _("group result"), _("group results"),
    _("Task ID"), _("Periodic Task Name"), _("Task Name"), _("Task Positional Arguments"),
    _("Task Named Arguments"), _("Task State"), _("Worker"), _("Result Content Type"), _("Result Encoding"),
    _("Result Data"), _("Created DateTime"), _("Completed DateTime"), _("Traceback"), _("Task Meta Information"),
    _("Group ID"), _("Parameters"), _("Result"), _("chord counter"),
]

# django-guardian: its app and models have plain English names (shown on the permission choosers).
GUARDIAN = [_("Guardian"), _("group object permission"), _("user object permission")]

# django-axes (login throttling) ships no Chinese catalogue; its app name is medins.apps.AxesConfig's.
AXES = [
    _("User Agent"), _("IP Address"), _("Username"), _("HTTP Accept"), _("Path"), _("Attempt Time"),
    _("Access lock out"), _("access failure"), _("access failures"), _("GET Data"), _("POST Data"),
    _("Failed Logins"), _("access attempt"), _("access attempts"), _("Access Attempt"), _("Expires At"),
    _("The time when access attempt expires and is no longer valid."), _("access attempt expiration"),
    _("access attempt expirations"), _("Logout Time"), _("Session key hash (sha256)"), _("access log"),
    _("access logs"), _("Locked Out"), _("Form Data"), _("Meta Data"), _("Clean up expired attempts"),
    _("Not set"), _("Attempt Remaining"),
]
