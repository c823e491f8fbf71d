"""FastAPI service for the character RNN."""
