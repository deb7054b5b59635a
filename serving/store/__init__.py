"""The scores database: runs, scores, API keys, reps' actions, batch lock."""
