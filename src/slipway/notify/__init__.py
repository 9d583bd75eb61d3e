"""Notifications: what a deployment tells people, through Slack-compatible or plain webhooks."""
