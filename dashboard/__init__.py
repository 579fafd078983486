"""The dashboard and read API: imported only by dashboard routes, never on an ingest request."""
