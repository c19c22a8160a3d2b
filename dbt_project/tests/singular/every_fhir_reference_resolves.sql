-- Warns with the count of references that name no resource or more than one (issue 8): a
-- feed that references in a shape or by an identifier we cannot resolve shows up here and
-- in the run's checks, never as silent NULLs in the marts.
{{ config(severity='warn') }}

select * from {{ ref('int_fhir_references_unresolved') }}
