"""zhifa workflow service: BPMN/DMN on SpiffWorkflow with persistence, inbox and timers.

Nothing in this package imports Flask; the web UI and the CLI call the services here.
"""
