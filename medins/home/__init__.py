"""The admin's home page: what waits for each user, and the fund at a glance (issue 14 item 1).

Apps contribute to it the way they contribute admin pages: a module ``<app>/home.py`` (found
like ``admin.py``, on first use) registers

- **queues** (:class:`Queue`): a work queue of one model — the admin's own queryset for the user
  (so an institution operator counts only its own rows, exactly as its changelist shows them),
  narrowed by the queue's filter; shown with its count and the age of its oldest item, and a link
  to the changelist with the queue's query string. One aggregate query per queue.
- **payment sources** (:func:`register_payments`): the fund's payments by month and benefit
  (one GROUP BY each), for the supervisor's chart;
- **processing times** (:func:`register_processing_time`): decisions with their submission and
  decision times (median and average days, one aggregate each), for the supervisor's chart;
- **cards** (:class:`Card`): anything else a role should see on its home page, with its own
  template and context — e.g. fund-security findings on the supervisor's home:

      from medins.home import Card, register_card
      register_card(Card(key="supervision.findings", title=_("Findings to follow up"), order=40,
                         template="admin/supervision/home_findings.html", context=findings_context,
                         roles=("supervisor",), perms=("supervision.view_finding",)))

Who sees what. A queue or card names the permissions needed to act on it (``perms``, all of
them; ``"a|b"`` = either) and the roles whose desk it is (``roles``): it is shown when the user
holds the permissions and one of those roles — or is the administrator (a superuser), or an
account given permissions directly rather than through a role group. So the approver, who may
also start a review, sees "to approve" rather than every queue it could touch (medins.roles
stays the one table of who *may* do what; this only says where each role's work is).
A supervisor (read-only) sees every queue whose model it may view, as a chart and a table.

Decisions (the issue is silent): the age of an item is counted from its submission (a case's
receipt, an application, an upload), not from its last change of state — what the insured
person or the institution has been waiting for; queues with a date-only submission (care
assessments) count whole days.
"""

from __future__ import annotations

from .registry import (  # noqa: F401
    Card,
    PaymentRow,
    ProcessingTime,
    Queue,
    cards,
    first_decisions,
    payment_sources,
    processing_times,
    queues,
    register_card,
    register_payments,
    register_processing_time,
    register_queue,
)
