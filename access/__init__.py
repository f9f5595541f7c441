"""Access control: who may sign in and see which documents."""
