"""Dataset loaders: pinned Hub revisions for users, invented rows in each real schema for tests."""
