"""How members hear about what concerns them: subscriptions, notifications, e-mails."""
