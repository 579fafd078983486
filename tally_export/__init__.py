"""Events leaving Tally as files: one line of JSON an event (records.py), gzipped."""
