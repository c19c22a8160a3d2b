"""The Dagster code location: each stage's Definitions, merged, with the shared resources.

The stages are folders, in the order the data flows through them: extract (source systems
to landing files), ingest (landing files to raw tables), transform (dbt), quality (Great
Expectations), serve (the copy BI tools read), automation (what starts a refresh), plus
runtime (how a run executes).
"""

from __future__ import annotations

import dagster as dg

from orchestration.automation import definitions as automation
from orchestration.extract import definitions as extract
from orchestration.ingest import definitions as ingest
from orchestration.quality import definitions as quality
from orchestration.resources import default_resources
from orchestration.runtime import definitions as runtime
from orchestration.serve import definitions as serve
from orchestration.transform import definitions as transform

STAGES = (extract, ingest, transform, quality, serve, automation, runtime)

defs = dg.Definitions.merge(*(stage.defs() for stage in STAGES),
                            dg.Definitions(resources=default_resources()))
