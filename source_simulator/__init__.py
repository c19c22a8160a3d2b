"""A seeded simulator of a health system's referral-related source systems.

It stands in for the hospital: it writes an EHR FHIR bulk export, HL7 v2 SIU scheduling
batches, CRM exports and GA4 BigQuery-export events for one linked world, plus a ground-truth
file of the defects it injected. The pipeline never imports this package; it only reads files.
"""
