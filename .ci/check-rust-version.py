#!/usr/bin/env python3
"""Checks that no workspace crate declares a `rust-version` below what it needs.

For every workspace member, the requirement is the highest `rust-version` among the packages
of its transitive normal and build dependency closure (dev-dependencies excluded at every
step: they never compile for a user of the crate), and at least the minimum of the member's
edition (2024 needs 1.85). Packages that declare no `rust-version` impose nothing. A member
with no library, binary or build script (only tests, benches or examples) exists for those
targets alone, so its own dev-dependencies count as what it compiles.

The graph is `cargo metadata --locked`'s resolve for the host platform, i.e. the lock file's
versions with features unified across the workspace, so an optional dependency enabled by
another member counts too: the answer can err high, never low. Language features newer than
the edition (e.g. let-chains, 1.88) are not seen here; the declared value must cover those too.

Prints one line per crate (declared, required, and the dependency that sets the requirement);
exits 1 if any crate declares less than it needs, or nothing. Stdlib only.
"""

import json
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

# The first release of each edition.
EDITION_MINIMUM = {"2018": "1.31", "2021": "1.56", "2024": "1.85"}
# Dependency kinds whose packages must compile for the crate itself to compile.
COMPILED_KINDS = {None, "build"}


def version_key(version):
    """`"1.85"` / `"1.85.0"` -> `(1, 85, 0)`."""
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def host_triple(rustc):
    for line in run(rustc, "-vV").splitlines():
        if line.startswith("host:"):
            return line.split(":", 1)[1].strip()
    sys.exit("check-rust-version: no host line in `rustc -vV`")


def compiled_deps(node, kinds):
    """The ids of the node's dependencies of one of these kinds."""
    for dep in node["deps"]:
        if any(kind["kind"] in kinds for kind in dep["dep_kinds"]):
            yield dep["pkg"]


def test_only(package):
    """No library, binary or build script: the package compiles only for its own tests."""
    kinds = {kind for target in package["targets"] for kind in target["kind"]}
    return kinds <= {"test", "bench", "example"}


def closure(root, nodes, root_kinds):
    """Every package the root's compilation needs, mapped to its parent on a shortest path."""
    parent = {root: None}
    queue = deque([root])
    while queue:
        current = queue.popleft()
        kinds = root_kinds if current == root else COMPILED_KINDS
        for dep in compiled_deps(nodes[current], kinds):
            if dep not in parent:
                parent[dep] = current
                queue.append(dep)
    return parent


def main():
    repo = Path(__file__).resolve().parent.parent
    cargo = os.environ.get("CARGO", "cargo")
    rustc = os.environ.get("RUSTC", "rustc")
    try:
        metadata = json.loads(
            run(
                cargo,
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--filter-platform",
                host_triple(rustc),
                "--manifest-path",
                str(repo / "Cargo.toml"),
            )
        )
    except subprocess.CalledProcessError as e:
        sys.stderr.write(e.stderr)
        sys.exit(f"check-rust-version: `{' '.join(e.cmd)}` failed")
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}

    def label(pkg_id):
        p = packages[pkg_id]
        return f"{p['name']} {p['version']}"

    failures = 0
    members = sorted(metadata["workspace_members"], key=lambda m: packages[m]["name"])
    width = max(len(packages[m]["name"]) for m in members)
    for member in members:
        pkg = packages[member]
        root_kinds = COMPILED_KINDS | {"dev"} if test_only(pkg) else COMPILED_KINDS
        parent = closure(member, nodes, root_kinds)
        required, culprits = None, []
        edition_minimum = EDITION_MINIMUM.get(pkg["edition"])
        if edition_minimum:
            required, culprits = edition_minimum, [f"edition {pkg['edition']}"]
        for dep in parent:
            version = packages[dep].get("rust_version")
            if dep == member or version is None:
                continue
            if required is None or version_key(version) > version_key(required):
                required, culprits = version, [dep]
            elif version_key(version) == version_key(required):
                culprits.append(dep)

        def path(culprit):
            """The packages between the member and the culprit, nearest the member first."""
            chain, step = [], parent[culprit]
            while step is not None and step != member:
                chain.append(packages[step]["name"])
                step = parent[step]
            return chain[::-1]

        def why(culprit):
            if culprit not in parent:
                return culprit
            chain = path(culprit)
            return label(culprit) + (f" via {' -> '.join(chain)}" if chain else "")

        # The dependencies, nearest first, then the edition floor.
        named = sorted(
            (c for c in culprits if c in parent), key=lambda c: (len(path(c)), packages[c]["name"])
        )
        named += [c for c in culprits if c not in parent]
        reason = "; ".join(why(c) for c in named[:3])
        if len(named) > 3:
            reason += f"; and {len(named) - 3} more"
        declared = pkg.get("rust_version")
        name = pkg["name"].ljust(width)
        if required is None:
            print(f"ok    {name}  declares {declared or 'nothing'}, nothing required")
        elif declared is None:
            failures += 1
            print(f"FAIL  {name}  declares no rust-version, needs {required} ({reason})")
        elif version_key(declared) < version_key(required):
            failures += 1
            print(f"FAIL  {name}  declares {declared}, needs {required} ({reason})")
        else:
            print(f"ok    {name}  declares {declared}, needs {required} ({reason})")
    if failures:
        print(f"check-rust-version: {failures} crate(s) declare a rust-version below what they need")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
