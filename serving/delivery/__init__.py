"""Pushed to the rep: a digest per rep and immediate alerts after each published batch run.

``news`` reads a published run and decides what each rep hears (pure rules on the stored
scores), ``render`` turns it into email, Slack, Teams and signed-webhook bodies, ``channels``
sends them (``smtplib``, ``httpx``, retries by ``tenacity``), ``ledger`` remembers what was sent
so a rerun sends nothing twice, and ``dispatch`` ties them together for ``salesradar notify``.
"""
