"""Generated contract artifacts."""
