"""Write-back to the CRM: import-ready files of the published run, and optional pushes.

``formats`` holds each CRM's column conventions (Salesforce Data Import Wizard / Data Loader,
HubSpot imports, a plain CSV), ``files`` writes a run's rows in one of them atomically, and
``push`` sends one signed request per changed entity to a CRM that accepts pushes
(see docs/writeback.md for how each CRM maps the columns).
"""
