"""The prediction service: api (HTTP), champions (which model is served), scoring (online and
batch), store (the scores database); web, delivery and writeback for the reps and the CRM."""
