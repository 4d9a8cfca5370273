"""One router per resource the service exposes."""
