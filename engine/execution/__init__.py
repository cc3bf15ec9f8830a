"""Running instances: one action per transaction, engine steps, inbox projection, timers and jobs, history, the hooks domain packages plug into."""
