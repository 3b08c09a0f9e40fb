"""The WhatsApp channel: messages and voice notes to and from Butler."""
