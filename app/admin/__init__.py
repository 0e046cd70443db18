"""The operator's controls: accounts, sign-up policy and invites, run-time settings, the
audit log (the HTTP side is app/api/routes/admin.py)."""
