# Wrong: the type with the lowest accuracy, the trap the exercise warns about.
def most_errors_type(predictions: pd.DataFrame) -> str:
    return str(predictions.groupby("qtype")["correct"].mean().idxmin())
