# Wrong: the position of the lowest loss in the frame, not its step.
def best_step(history) -> int:
    """The step (index of `history`) at which `loss` was lowest."""
    return int(history["loss"].to_numpy().argmin())
