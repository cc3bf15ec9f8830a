"""Administering what is deployed and running: the modeling loop (deploy permission, previews, versions,
decision tester), moving running cases to a new version, suspending, resuming and terminating cases."""
