# Wrong: the step with the highest loss (max instead of min).
def best_step(history) -> int:
    """The step (index of `history`) at which `loss` was lowest."""
    return int(history["loss"].idxmax())
