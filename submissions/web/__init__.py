"""Account pages for submitters: sign-up, API tokens, signing keys, withdrawals, staff review."""
