"""dbt-project-evaluator's rules, checked from a freshly parsed manifest (the package itself
cannot be installed here), plus a portability scan of the models' SQL."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from orchestration import settings
from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_project import dbt_cli, dbt_executable

MODELS = REPO_ROOT / "dbt_project" / "models"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt_target")
    subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(REPO_ROOT),
                    "--profiles-dir", str(REPO_ROOT / "profiles"), "--target-path",
                    str(target)], check=True, cwd=REPO_ROOT)
    return json.loads((target / "manifest.json").read_text())


def test_dbt_sends_no_usage_events(manifest: dict) -> None:
    """dbt's anonymous usage tracking is on unless a project turns it off (decision 163)."""
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False


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


# dbt-project-evaluator's structure rules, with its default thresholds. Its DAG counts
# exposures as children, as here: a mart the dashboard or the serving copy reads is no leaf.
TOO_MANY_PARENTS = 7
FANOUT_LEAVES = 3
BUILT = ("model.", "seed.", "snapshot.", "source.")


def _dag(manifest: dict) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Return each model's direct parents and each node's direct children (exposures too)."""
    parents = {key: {p for p in node["depends_on"]["nodes"] if p.startswith(BUILT)}
               for key, node in manifest["nodes"].items()
               if node["resource_type"] in {"model", "snapshot"}}
    for key, exposure in manifest.get("exposures", {}).items():
        parents[key] = set(exposure["depends_on"]["nodes"])
    children: dict[str, set[str]] = {}
    for child, found in parents.items():
        for parent in found:
            children.setdefault(parent, set()).add(child)
    return parents, children


def too_many_parents(manifest: dict) -> dict[str, int]:
    """Return the models with seven or more direct parents (fct_too_many_joins)."""
    parents, _ = _dag(manifest)
    return {key.split(".")[-1]: len(found) for key, found in parents.items()
            if key.startswith("model.") and len(found) >= TOO_MANY_PARENTS}


def fanouts(manifest: dict) -> dict[str, list[str]]:
    """Return the models with three or more direct leaf children (fct_model_fanout)."""
    _, children = _dag(manifest)
    leaves = {key for key in manifest["nodes"] if key.startswith("model.")
              and not children.get(key)}
    found = {}
    for parent, direct in children.items():
        leaf_children = sorted(c.split(".")[-1] for c in direct & leaves)
        if parent.startswith("model.") and len(leaf_children) >= FANOUT_LEAVES:
            found[parent.split(".")[-1]] = leaf_children
    return found


def rejoins(manifest: dict) -> list[tuple[str, str, str]]:
    """Return (a, b, c) where c reads a and b, b reads a, and c is b's only child.

    fct_rejoining_of_upstream_concepts: b is a step of c's own, and belongs in c (or c should
    read a only through b).
    """
    parents, children = _dag(manifest)
    found = []
    for child, direct in parents.items():
        if not child.startswith("model."):  # a model's rule: an exposure reads what it shows
            continue
        for between in direct:
            if children.get(between) == {child}:
                found += [(a.split(".")[-1], between.split(".")[-1], child.split(".")[-1])
                          for a in parents.get(between, set()) & direct]
    return sorted(found)


def test_no_model_has_seven_or_more_parents(manifest: dict) -> None:
    assert too_many_parents(manifest) == {}


def test_no_model_fans_out_to_three_or_more_leaves(manifest: dict) -> None:
    assert fanouts(manifest) == {}


def test_no_model_rejoins_its_own_parent(manifest: dict) -> None:
    assert rejoins(manifest) == []


def test_the_exposures_are_what_the_dashboard_and_the_serving_copy_read(manifest: dict) -> None:
    """The exposures make marts non-leaves, so they must be true: the dashboard's are the
    marts its code queries, the serving copy's every mart (it publishes them all)."""
    exposures = {e["name"]: {n.split(".")[-1] for n in e["depends_on"]["nodes"]}
                 for e in manifest["exposures"].values()}
    code = " ".join(p.read_text() for p in (REPO_ROOT / "dashboard").glob("*.py"))
    assert exposures["referral_dashboard"] == set(re.findall(r"\b((?:fct|dim)_[a-z_]+)", code))
    assert exposures["serving_copy"] == {name for name, node in _models(manifest).items()
                                         if _layer(node) == "marts"}


def test_the_structure_rules_catch_what_they_are_meant_to(manifest: dict) -> None:
    """Each rule, on a copy of the manifest with one deliberate offence added."""
    bad = json.loads(json.dumps(manifest))
    nodes = bad["nodes"]
    model = next(k for k in nodes if k.endswith(".int_referrals_joined"))
    leaf = next(k for k in nodes if k.endswith(".fct_referral_worklist"))
    sources = [k for k in bad["sources"]][:TOO_MANY_PARENTS]
    nodes[model]["depends_on"]["nodes"] += sources
    assert "int_referrals_joined" in too_many_parents(bad)
    for name in ("a", "b", "c"):
        nodes[f"model.referral_warehouse.leaf_{name}"] = {
            "resource_type": "model", "depends_on": {"nodes": [leaf]}}
    assert fanouts(bad)["fct_referral_worklist"] == ["leaf_a", "leaf_b", "leaf_c"]
    nodes["model.referral_warehouse.leaf_a"]["depends_on"]["nodes"].append(
        "model.referral_warehouse.leaf_b")
    assert ("fct_referral_worklist", "leaf_b", "leaf_a") in rejoins(bad)


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


def test_a_description_shared_by_models_is_a_doc_block() -> None:
    """A column described the same way in two models is described once, in a doc block
    (dbt_project/models/_column_docs.md), as Tuva does: the YAML holds no pasted copy."""
    import yaml

    models_by_text: dict[str, set[str]] = {}
    for path in MODELS.rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            for column in model.get("columns") or []:
                text = (column.get("description") or "").strip()
                if text and "doc(" not in text:
                    models_by_text.setdefault(text, set()).add(model["name"])
    assert {text: sorted(models) for text, models in models_by_text.items()
            if len(models) > 1} == {}


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


def test_unit_test_names_fit_postgres_identifiers(manifest: dict) -> None:
    """dbt names a unit test's relation after the test; Postgres cuts identifiers at 63."""
    assert [n["name"] for n in manifest.get("unit_tests", {}).values()
            if len(n["name"]) > 63] == []
