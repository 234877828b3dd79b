"""What an approval commits to pay, as a digest the payment job checks (issue #11 item 2).

The digest is an HMAC (the deployment's SECRET_KEY) of the case, the amount, the payee's name
and the bank account as they stood at approval. The payment job recomputes it from the values
it is about to write into the bank file and pays only on a match: a change made after approval
by any path — the admin, a script, a direct edit — is held back, never paid.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.crypto import salted_hmac

_SALT = "claims.case.approval"


def approval_digest(*, case_id: int, amount: Decimal | None, payee: str, account: str) -> str:
    amount_text = f"{(amount or Decimal('0')):.2f}"
    return salted_hmac(_SALT, f"{case_id}|{amount_text}|{payee}|{account}", algorithm="sha256").hexdigest()
