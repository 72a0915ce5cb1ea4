"""Replies: mail and texts that come back — read, matched to what we sent, classified, acted on."""
