"""The console's pages of figures (docs/console-dashboard.md): the staff
dashboard and its charts, the Server-Sent Event streams that keep it and the
portal's message list current, and the portal's usage page."""
