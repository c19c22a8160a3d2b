"""dbt-project-evaluator's rules, checked from a freshly parsed manifest (the package itself
cannot be installed here), plus a portability scan of the models' SQL."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from orchestration import settings
from orchestration.dbt_project import REPO_ROOT, dbt_cli, dbt_executable

MODELS = REPO_ROOT / "dbt_project" / "models"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt_target")
    subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(REPO_ROOT),
                    "--profiles-dir", str(REPO_ROOT / "profiles"), "--target-path",
                    str(target)], check=True, cwd=REPO_ROOT)
    return json.loads((target / "manifest.json").read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == "referral_warehouse"}


def _layer(node: dict) -> str:
    return node["fqn"][1]


def _tests_by_model(manifest: dict) -> dict[str, set[tuple[str, str]]]:
    tested: dict[str, set[tuple[str, str]]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        column = node.get("column_name") or ""
        for parent in node["depends_on"]["nodes"]:
            tested.setdefault(parent.split(".")[-1], set()).add(
                (node["test_metadata"]["name"], column))
    return tested


def test_every_model_is_documented_and_its_grain_comes_first(manifest: dict) -> None:
    for name, node in _models(manifest).items():
        assert node["description"].strip(), f"{name} has no description"
        assert node["description"].lower().startswith("one row"), \
            f"{name}: the description should start with its grain"


def test_every_model_has_a_primary_key_tested_unique_and_not_null(manifest: dict) -> None:
    tested = _tests_by_model(manifest)
    for name in _models(manifest):
        columns = tested.get(name, set())
        keys = {c for kind, c in columns if kind == "unique"} & \
            {c for kind, c in columns if kind == "not_null"}
        assert keys, f"{name} has no column tested both unique and not_null"


def test_layers_read_only_what_they_should(manifest: dict) -> None:
    models = _models(manifest)
    for name, node in models.items():
        parents = node["depends_on"]["nodes"]
        sources = [p for p in parents if p.startswith("source.")]
        parent_models = [models[p.split(".")[-1]] for p in parents if p.startswith("model.")]
        assert len(sources) <= 1, f"{name} joins two sources"
        layer = _layer(node)
        assert name.startswith({"staging": "stg_", "intermediate": "int_",
                                "marts": ("fct_", "dim_")}[layer]), name
        if layer == "staging":
            assert not [p for p in parent_models if _layer(p) == "staging"], \
                f"{name}: staging reads staging"
        else:
            assert not sources, f"{name}: only staging reads sources"


def test_sources_declare_freshness(manifest: dict) -> None:
    for source in manifest["sources"].values():
        freshness = source.get("freshness") or {}
        assert (freshness.get("warn_after") or {}).get("count"), source["name"]
        assert source.get("loaded_at_field"), source["name"]


def test_marts_enforce_contracts_with_typed_documented_columns(manifest: dict) -> None:
    marts = [n for n in _models(manifest).values() if _layer(n) == "marts"]
    assert len(marts) >= 7
    for node in marts:
        assert node["config"]["contract"]["enforced"], node["name"]
        assert node["config"]["materialized"] == "table", node["name"]
        for column in node["columns"].values():
            assert column.get("data_type"), f"{node['name']}.{column['name']} has no type"
            assert column.get("description"), f"{node['name']}.{column['name']} undocumented"


def test_every_logic_model_has_a_unit_test(manifest: dict) -> None:
    tested = {n["model"] for n in manifest.get("unit_tests", {}).values()}
    assert {"int_referrals_classified", "int_referrers_segmented",
            "int_lead_touches_attributed", "fct_referrer_retention"} <= tested


# DuckDB-only syntax that has a cross-database macro or a portable spelling.
NON_PORTABLE = {
    r"::": "use cast(... as ...)",
    r"\bqualify\b": "use a window in a subquery",
    r"->>?": "JSON operators belong in the raw layer",
    r"\blist_\w+\(": "DuckDB list functions",
    r"\bregexp_full_match\b": "use a dispatched macro",
    r"\bdate_diff\b|\bdatediff\(": "use {{ dbt.datediff(...) }}",
    r"\bdate_trunc\(": "use {{ dbt.date_trunc(...) }}",
    r"\binterval\b": "use {{ dbt.dateadd(...) }}",
    r"\bmedian\(": "use {{ median(...) }}",
    r"\bstrftime\b|\bstrptime\b": "DuckDB date formatting",
}


def test_models_use_only_portable_sql() -> None:
    offences = []
    for path in sorted(MODELS.rglob("*.sql")):
        text = re.sub(r"--[^\n]*|\{#.*?#\}|\{\{.*?\}\}", "", path.read_text(), flags=re.S)
        for pattern, advice in NON_PORTABLE.items():
            if re.search(pattern, text, flags=re.I):
                offences.append(f"{path.relative_to(REPO_ROOT)}: {pattern} ({advice})")
    assert offences == []


def test_every_built_column_is_documented(manifest: dict, handmade_world: Path) -> None:
    """Compare what dbt built (the warehouse's catalog) with what the YAML describes."""
    import duckdb

    documented = {(node["name"], column) for node in _models(manifest).values()
                  for column, spec in node["columns"].items() if spec.get("description")}
    with duckdb.connect(str(handmade_world / "warehouse.duckdb"), read_only=True) as con:
        built = set(con.execute("""select table_name, column_name
            from information_schema.columns
            where table_schema in ('staging', 'intermediate', 'marts')""").fetchall())
    assert built - documented == set()


def test_leakage_summary_has_one_count_per_reason_of_the_seed(manifest: dict) -> None:
    """The seed is the list's home: the summary's reason columns (and so the macro that
    writes them, which the contract ties to the YAML) follow it, in its order."""
    import csv

    with (REPO_ROOT / "seeds" / "leakage_reasons.csv").open(encoding="utf-8") as seed:
        reasons = [row["leakage_reason"] for row in csv.DictReader(seed)]
    columns = list(_models(manifest)["fct_referral_leakage_summary"]["columns"])
    reason_columns = [c.removesuffix("_count") for c in columns if c.endswith("_count")
                      and c not in {"referred_count", "leaked_count", "pending_count"}]
    assert reason_columns == reasons


def test_dbt_caps_duckdb_memory_as_the_run_does() -> None:
    # One default for both DuckDB users: the run's connections and dbt's profile.
    profile = (REPO_ROOT / "profiles" / "profiles.yml").read_text()
    assert (f"env_var('{settings.MEMORY_LIMIT_ENV_VAR}', "
            f"'{settings.DEFAULT_MEMORY_LIMIT}')") in profile


def test_the_dbt_version_dagster_is_told_is_the_one_that_runs() -> None:
    # The resource answers dagster-dbt's version question from the installed package
    # instead of running `dbt --version`; both must name the same dbt.
    shown = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True,
                           check=True).stdout
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", shown)
    assert installed and str(dbt_cli()._cli_version) == installed.group(1)
