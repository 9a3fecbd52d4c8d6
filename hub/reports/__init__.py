"""Reports of waiting, service and ratings by day, week, month or range (issue 14; docs/reports.md): read models
kept from the event log (``projection``), the figures asked of them (``figures``), the shape of a report
(``model``), and its exports."""
