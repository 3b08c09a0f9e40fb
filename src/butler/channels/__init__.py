"""Channels other than the web app and voice: how people reach Butler from elsewhere."""
