"""Memory: conversation history now; long-term facts and recall come with the memory issue."""
