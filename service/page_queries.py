"""SELECT queries for the pages, run as /queries runs stored queries: in a query worker (service.pool), with
its deadline and row cap, answered as TSV by Oxigraph and read back by Oxigraph into solutions."""

from __future__ import annotations

from pyoxigraph import QueryResultsFormat, QuerySolutions, parse_query_results

from service.execution import Refusal, Task
from service.published import Published

TSV = "text/tab-separated-values"  # what the worker writes first: no second serialization


async def select(pub: Published, text: str, max_rows: int | None = None) -> tuple[QuerySolutions, bool]:
    """The solutions of a trusted SELECT (the library's text, validated terms bound), and whether the row cap cut them."""
    task = Task(
        text=text,
        result_media=TSV,
        graph_media=Refusal(406, "the pages only run SELECT queries"),
        check=False,
        max_rows=min(max_rows or pub.settings.max_rows, pub.settings.max_rows),
        remote=pub.remote,
    )
    outcome = await pub.pool.run(task)
    return parse_query_results(outcome.body, format=QueryResultsFormat.TSV), outcome.truncated
