"""placeholder"""


def finding_guard(finding, frm, to, changes, acting_user):
    return None
