"""Who may do what: users, departments, posts, permissions, API tokens."""
