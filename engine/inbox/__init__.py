"""Human work: ready tasks and their actions, forms, task attachments, notifications, the case view."""
