"""The project's modules import one another in one direction only: no import cycle, counting
imports inside functions (grimp finds them too), so none can hide a cycle."""

from __future__ import annotations

import grimp

PACKAGES = ("tickets", "portal", "agents", "api", "helpdesk")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each cycle once, as the chain of modules that closes it."""
    found: dict[frozenset[str], list[str]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain is not None:
                found.setdefault(frozenset(chain), [importer, *chain])
    return list(found.values())


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES)
    cycles = _cycles(graph)
    assert not cycles, "Import cycles:\n" + "\n".join(" -> ".join(chain) for chain in cycles)
