"""Number inventory, assignment to API clients, search and settings."""
