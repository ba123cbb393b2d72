"""Reading the case file for KPIs and live counts; the weekly report's storage and pages."""
