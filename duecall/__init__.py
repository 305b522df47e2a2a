"""duecall."""
