def slowest_step(trace_calls) -> str:
    """The op name of the slowest non-root call in one trace."""
    below_root = trace_calls[trace_calls["parent_id"].notna()]
    return below_root.sort_values("latency_ms", ascending=False)["op"].iloc[0]
