"""Transform: the dbt project, its manifest, the translator and the dbt assets."""
