# Wrong: the slowest call overall, which is always the root.
def slowest_step(trace_calls) -> str:
    """The op name of the slowest non-root call in one trace."""
    return trace_calls.sort_values("latency_ms", ascending=False)["op"].iloc[0]
