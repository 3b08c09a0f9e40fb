"""The brain: one turn loop that every channel consumes as a stream of typed events."""
